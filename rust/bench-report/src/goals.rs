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

/// What the 2% loss goal allows: UDP payload at 2% loss over that of the same transfer without.
const PAYLOAD_RATIO: f64 = 1.25;
/// The 10% loss goal: 1000 reliable 1 KiB messages each way delivered in less than this.
const FAST_LIMIT_MS: f64 = 3000.0;
/// The unreliable goal's p99 and worst latency bounds.
const UNRELIABLE_P99_MS: f64 = 200.0;
/// See `UNRELIABLE_P99_MS`.
const UNRELIABLE_MAX_MS: f64 = 1000.0;
/// The connect goal: median below this, and `CONNECT_SHARE` of the tries below `CONNECT_SLOW_MS`.
const CONNECT_MEDIAN_MS: f64 = 1000.0;
/// See `CONNECT_MEDIAN_MS`.
const CONNECT_SLOW_MS: f64 = 2000.0;
/// See `CONNECT_MEDIAN_MS` (18 of 20).
const CONNECT_SHARE: f64 = 0.9;

/// The numbers of a JSON array (`None` for a missing array or any non-number in it).
fn numbers(value: Option<&Value>) -> Option<Vec<f64>> {
    value?.as_array()?.iter().map(Value::as_f64).collect()
}

/// True when every count of the array is `count`.
fn all_equal(value: Option<&Value>, count: f64) -> bool {
    numbers(value).is_some_and(|counts| !counts.is_empty() && counts.iter().all(|c| *c == count))
}

/// One goal run's 2% loss verdict and payload ratio: our p99 at most ENet's on both sides, all
/// delivered, payload within `PAYLOAD_RATIO` of the lossless run's.
fn two_percent(run: &Value) -> (bool, Option<f64>) {
    let ours = &run["two_percent"];
    let base = run["lossless"]["payload_bytes"].as_f64().filter(|bytes| *bytes > 0.0);
    let ratio = base.and_then(|base| Some(ours["payload_bytes"].as_f64()? / base));
    let latency = match (numbers(ours.get("p99_ms")), numbers(run["two_percent_enet"].get("p99_ms"))) {
        (Some(ours), Some(enet)) => ours.len() == 2 && enet.len() == 2 && ours.iter().zip(&enet).all(|(a, b)| a <= b),
        _ => false,
    };
    let delivered =
        all_equal(ours.get("received"), 1000.0) && all_equal(run["two_percent_enet"].get("received"), 1000.0);
    (latency && delivered && ratio.is_some_and(|ratio| ratio <= PAYLOAD_RATIO), ratio)
}

/// One goal run's 10% loss verdict: all 1000 delivered on both sides in less than `FAST_LIMIT_MS`.
fn fast(run: &Value) -> bool {
    let fast = &run["ten_percent_fast"];
    all_equal(fast.get("received"), 1000.0)
        && numbers(fast.get("transfer_ms")).is_some_and(|ms| ms.len() == 2 && ms.iter().all(|ms| *ms < FAST_LIMIT_MS))
}

/// One goal run's unreliable verdict: on both sides at least (1 - the link's loss) of the
/// messages arrived (the loss: the data-sized datagrams the receiver's router dropped of those
/// that entered it), p99 and worst latency within bounds.
fn unreliable(run: &Value) -> bool {
    let sides = run["unreliable"].as_array().map_or(&[][..], Vec::as_slice);
    sides.len() == 2
        && sides.iter().all(|side| {
            let count = |key: &str| side[key].as_u64();
            let latency = |key: &str| side[key].as_f64();
            let counts = (count("received"), count("sent"), count("data_dropped"), count("data_entered"));
            match (counts, latency("p99_ms"), latency("max_ms")) {
                ((Some(received), Some(sent), Some(dropped), Some(entered)), Some(p99), Some(max))
                    if sent > 0 && entered > 0 =>
                {
                    // received / sent >= 1 - dropped / entered, in integers: equal shares compare equal.
                    let enough = u128::from(received) * u128::from(entered)
                        >= u128::from(entered.saturating_sub(dropped)) * u128::from(sent);
                    enough && p99 < UNRELIABLE_P99_MS && max < UNRELIABLE_MAX_MS
                }
                _ => false,
            }
        })
}

/// Judges the lab goals of issue 20 from `tools/netlab --only goals`'s figures (`NETLAB_FIGURES`,
/// key "goals": `runs`, one record per run, and `connect`, one per connection try; see
/// tools/netlab.d/goals.py). Every run must hold each goal; connecting needs a median below 1 s
/// and 90% of the tries below 2 s (a try counts by its later side; one that never connected is
/// slower than any bound).
pub(crate) fn lab_runs(figures: Option<&Value>) -> Vec<Verdict> {
    let goals = figures.and_then(|figures| figures.get("goals"));
    let runs = goals.and_then(|goals| goals["runs"].as_array()).filter(|runs| !runs.is_empty());
    let count = |held: &dyn Fn(&Value) -> bool| {
        runs.map(|runs| {
            let met = runs.iter().filter(|run| held(run)).count();
            (format!("{met} of {} runs", runs.len()), met == runs.len())
        })
    };
    let two = count(&|run| two_percent(run).0).map(|(text, met)| {
        let ratios: Vec<String> = runs
            .into_iter()
            .flatten()
            .filter_map(|run| two_percent(run).1)
            .map(|ratio| format!("{ratio:.2}"))
            .collect();
        (format!("{text}, payload {}x lossless", ratios.join("/")), met)
    });
    let tries = goals.and_then(|goals| goals["connect"].as_array()).filter(|tries| !tries.is_empty());
    let connect = tries.map(|tries| {
        let mut times: Vec<f64> = tries
            .iter()
            .map(|attempt| numbers(attempt.get("connect_ms")).and_then(|ms| ms.into_iter().reduce(f64::max)))
            .map(|ms| ms.unwrap_or(f64::INFINITY))
            .collect();
        times.sort_by(f64::total_cmp);
        let middle = times.len() / 2;
        let median = if times.len() % 2 == 1 { times[middle] } else { (times[middle - 1] + times[middle]) / 2.0 };
        let quick = times.iter().filter(|ms| **ms < CONNECT_SLOW_MS).count();
        let needed = (CONNECT_SHARE * times.len() as f64 - 1e-9).ceil() as usize;
        (
            format!("median {median:.0} ms, {quick} of {} < 2 s", times.len()),
            median < CONNECT_MEDIAN_MS && quick >= needed,
        )
    });
    vec![
        Verdict::new("2% loss: p99 <= ENet both sides, payload <= 1.25x, every run (lab goals)", two),
        Verdict::new("10% loss: 1000 x 1 KiB each way, fast, < 3 s, every run (lab goals)", count(&fast)),
        Verdict::new("connecting at 10% loss: median < 1 s, 18 of 20 < 2 s (lab goals)", connect),
        Verdict::new(
            "unreliable at 5% loss: >= 1-loss arrive, p99 < 200 ms, max < 1 s (lab goals)",
            count(&unreliable),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(our_p99: f64, payload: f64, fast_ms: f64, received: u64) -> Value {
        json!({
            "lossless": {"payload_bytes": 1000.0},
            "two_percent": {"received": [1000, 1000], "p99_ms": [our_p99, 5.0], "payload_bytes": payload},
            "two_percent_enet": {"received": [1000, 1000], "p99_ms": [40.0, 50.0]},
            "ten_percent_fast": {"received": [1000, 1000], "transfer_ms": [fast_ms, 1000.0]},
            "unreliable": [
                {"received": received, "sent": 2000, "data_dropped": 118, "data_entered": 2000, "p99_ms": 20.0,
                    "max_ms": 100.0},
                {"received": 1882, "sent": 2000, "data_dropped": 118, "data_entered": 2000, "p99_ms": 20.0,
                    "max_ms": 100.0},
            ],
        })
    }

    fn connects(times: &[Option<f64>]) -> Vec<Value> {
        times.iter().map(|ms| json!({"connect_ms": [100.0, ms]})).collect()
    }

    #[test]
    fn every_goal_met_when_every_run_holds_it() {
        let tries = connects(&[Some(300.0); 20]);
        let figures = json!({"goals": {"runs": [run(10.0, 1100.0, 1500.0, 1882)], "connect": tries}});
        let verdicts = lab_runs(Some(&figures));
        assert!(verdicts.iter().all(|verdict| verdict.met == Some(true)), "{:?}", verdicts[0].measured);
    }

    #[test]
    fn one_failing_run_fails_its_goal_only() {
        let runs = [run(10.0, 1100.0, 1500.0, 1882), run(45.0, 1300.0, 3100.0, 1881)];
        let figures = json!({"goals": {"runs": runs, "connect": connects(&[Some(300.0); 20])}});
        let verdicts = lab_runs(Some(&figures));
        let met: Vec<_> = verdicts.iter().map(|verdict| verdict.met).collect();
        assert_eq!(met, [Some(false), Some(false), Some(true), Some(false)]);
        assert_eq!(verdicts[1].measured, "1 of 2 runs");
    }

    #[test]
    fn connecting_counts_a_try_that_never_connected_as_slow() {
        let mut times = vec![Some(300.0); 18];
        times.extend([None, Some(2500.0)]);
        let figures = json!({"goals": {"runs": [], "connect": connects(&times)}});
        assert_eq!(lab_runs(Some(&figures))[2].met, Some(true));
        times[0] = None;
        let figures = json!({"goals": {"runs": [], "connect": connects(&times)}});
        let verdict = &lab_runs(Some(&figures))[2];
        assert_eq!((verdict.met, verdict.measured.as_str()), (Some(false), "median 300 ms, 17 of 20 < 2 s"));
    }

    #[test]
    fn nothing_measured_without_goal_figures() {
        assert!(lab_runs(None).iter().all(|verdict| verdict.met.is_none()));
        assert!(lab_runs(Some(&json!({"loss0-webrtc": {}}))).iter().all(|verdict| verdict.met.is_none()));
    }
}
