//! The transport's goals (issue 12), judged from the medians of one bench run and, when given,
//! the loss figures of the real-networks lab (`tools/netlab --only loss`).

use serde_json::{json, Value};

/// A figure's median for kind `a`, `b` or `c`.
pub(crate) type Median<'a> = dyn Fn(&str, &str) -> Option<f64> + 'a;

/// One goal and how this run did.
pub(crate) struct Verdict {
    /// What the goal asks.
    pub(crate) goal: String,
    /// What was measured, in words.
    pub(crate) measured: String,
    /// `Some(true)` met, `Some(false)` not met, `None` not measured.
    pub(crate) met: Option<bool>,
}

impl Verdict {
    fn new(goal: &str, measured: Option<(String, bool)>) -> Self {
        match measured {
            Some((measured, met)) => Self { goal: goal.to_owned(), measured, met: Some(met) },
            None => Self { goal: goal.to_owned(), measured: "not measured".into(), met: None },
        }
    }

    /// The verdict as a word.
    pub(crate) fn word(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "-",
        }
    }

    /// The verdict as JSON.
    pub(crate) fn to_json(&self) -> Value {
        json!({"goal": self.goal, "measured": self.measured, "met": self.met})
    }
}

/// Judges the engine goals: ratios against ENet (c), against the engine's class (b), and
/// absolute figures of ours (a).
pub(crate) fn engine(median: &Median<'_>, figures: &[String], lower_is_better: fn(&str) -> bool) -> Vec<Verdict> {
    let ratio = |figure: &str, at_least: f64| {
        let (a, c) = (median("a", figure)?, median("c", figure)?);
        (c > 0.0).then(|| (format!("{:.2}x ENet", a / c), a / c >= at_least))
    };
    let at_most_times = |figure: &str, times: f64, decimals: usize| {
        let (a, c) = (median("a", figure)?, median("c", figure)?);
        (c > 0.0).then(|| (format!("{:.2}x ENet ({a:.decimals$} vs {c:.decimals$})", a / c), a <= c * times))
    };
    // Reported, not judged: the goal asks only that it be measured.
    let reported = |figure: &str| {
        let (p50, p99) = (median("a", &format!("{figure}.p50_ms"))?, median("a", &format!("{figure}.p99_ms"))?);
        let enet = match (median("c", &format!("{figure}.p50_ms")), median("c", &format!("{figure}.p99_ms"))) {
            (Some(c50), Some(c99)) if c50 > 0.0 && c99 > 0.0 => {
                format!(" ({:.2}x / {:.2}x ENet's {c50:.1} / {c99:.1} ms)", p50 / c50, p99 / c99)
            }
            _ => String::new(),
        };
        Some((format!("p50 {p50:.1} ms, p99 {p99:.1} ms{enet}"), true))
    };
    let below = |figure: &str, limit: f64, unit: &str| {
        let a = median("a", figure)?;
        Some((format!("{a:.1} {unit}"), a < limit))
    };
    let behind_engine_class: Vec<String> = figures
        .iter()
        .filter(|figure| !figure.contains("loss_percent"))
        .filter_map(|figure| {
            let (a, b) = (median("a", figure)?, median("b", figure)?);
            let worse = if lower_is_better(figure) { a > b } else { a < b };
            worse.then(|| format!("{figure} {:.2}", if b != 0.0 { a / b } else { 0.0 }))
        })
        .collect();
    let engine_class = Some(if behind_engine_class.is_empty() {
        ("ahead or level on every figure".to_owned(), true)
    } else {
        (format!("behind on {}", behind_engine_class.join(", ")), false)
    });
    vec![
        Verdict::new("reliable 1 KiB >= 1.0x ENet", ratio("reliable_1024.mb_per_s", 1.0)),
        Verdict::new("reliable 64 KiB >= 1.0x ENet", ratio("reliable_65536.mb_per_s", 1.0)),
        Verdict::new("unreliable 1 KiB >= 1.0x ENet", ratio("unreliable_1024.mb_per_s", 1.0)),
        Verdict::new("reliable 64 B >= 0.8x ENet", ratio("reliable_64.packets_per_s", 0.8)),
        Verdict::new("RTT p50 <= 2x ENet", at_most_times("rtt.p50_us", 2.0, 0)),
        Verdict::new("RTT p99 <= 3x ENet", at_most_times("rtt.p99_us", 3.0, 0)),
        Verdict::new("one-way latency between two games at 60 fps reported", reported("frame_latency")),
        Verdict::new("ours >= 1.0x the engine's class on every figure", engine_class),
        Verdict::new("2-peer mesh connected < 50 ms", below("mesh_connect_ms_2", 50.0, "ms")),
        Verdict::new("16-peer mesh connected < 300 ms", below("mesh_connect_ms_16", 300.0, "ms")),
        Verdict::new("idle CPU of 16 connections <= 1.2x ENet", at_most_times("idle_cpu_percent_16", 1.2, 3)),
        Verdict::new(
            "memory per connection <= 256 KiB",
            below("memory_per_connection_kb", 256.0 + f64::EPSILON, "KiB"),
        ),
    ]
}

/// Judges the lab goals from `tools/netlab`'s loss figures (`NETLAB_FIGURES`): run name ->
/// `connect_ms`, and per receiver `received`, `transfer_ms`, `p99_ms`.
pub(crate) fn lab(figures: Option<&Value>) -> Vec<Verdict> {
    let run = |name: &str| figures.and_then(|figures| figures.get(name));
    let worst = |name: &str, key: &str| -> Option<f64> {
        let values = run(name)?.get(key)?.as_array()?;
        values.iter().map(|value| value.as_f64()).collect::<Option<Vec<f64>>>()?.into_iter().reduce(f64::max)
    };
    let connect = run("loss0-webrtc")
        .and_then(|run| run.get("connect_ms")?.as_f64())
        .filter(|ms| *ms >= 0.0)
        .map(|ms| (format!("{ms:.0} ms"), ms < 300.0));
    let ten_percent = match (worst("loss10-webrtc", "transfer_ms"), run("loss10-webrtc")) {
        (Some(ms), Some(run)) => {
            let all = run
                .get("received")
                .and_then(Value::as_array)
                .is_some_and(|received| received.iter().all(|count| count.as_u64() == Some(1000)));
            Some((format!("{:.1} s{}", ms / 1000.0, if all { "" } else { ", not all delivered" }), all && ms < 5000.0))
        }
        _ => None,
    };
    let two_percent = match (worst("loss2-webrtc", "p99_ms"), worst("loss2-enet", "p99_ms")) {
        (Some(ours), Some(enet)) if enet > 0.0 => {
            Some((format!("{:.1}x ENet ({ours:.0} vs {enet:.0} ms)", ours / enet), ours <= 3.0 * enet))
        }
        _ => None,
    };
    vec![
        Verdict::new("two cone-NAT peers with STUN connected < 300 ms (lab)", connect),
        Verdict::new("10% loss: 1000 reliable 1 KiB messages each way in < 5 s (lab)", ten_percent),
        Verdict::new("2% loss: message latency p99 <= 3x ENet (lab)", two_percent),
    ]
}
