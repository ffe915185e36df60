//! `bench-report RUN.json... --transport ESTIMATES.json --netlab LOSS.json --font FONT.ttf --out DIR`
//!
//! Reads the runs of `godot-project/bench/bench.gd` (one JSON object per file: kind -> figure
//! -> value), takes each figure's median, min and max over the runs, prints a table with the
//! ratios (a)/(b) and (a)/(c), then the goals with met or not met ([`goals`]; the lab's from
//! `tools/netlab`'s loss figures when given), and writes `DIR/results.json` and `DIR/chart.png`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

mod goals;

use plotters::prelude::*;
use serde_json::{json, Map, Value};

const KINDS: [&str; 3] = ["a", "b", "c"];
const NAMES: [&str; 3] = ["(a) WebRTCMultiplayerPeerRs", "(b) engine WebRTCMultiplayerPeer", "(c) ENetMultiplayerPeer"];

/// One figure over the runs.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

fn spread(mut values: Vec<f64>) -> Option<Spread> {
    values.retain(|v| v.is_finite() && *v >= 0.0);
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(Spread { median: values[values.len() / 2], min: values[0], max: values[values.len() - 1] })
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, f64>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&name, inner, out);
            }
        }
        Value::Number(number) => {
            if let Some(float) = number.as_f64() {
                out.insert(prefix.to_owned(), float);
            }
        }
        _ => {}
    }
}

fn lower_is_better(figure: &str) -> bool {
    ["rtt", "memory", "cpu", "mesh_connect", "main_ms", "loss", "latency", "per_frame"]
        .iter()
        .any(|word| figure.contains(word))
}

struct Args {
    runs: Vec<PathBuf>,
    transport: Option<PathBuf>,
    netlab: Option<PathBuf>,
    font: Option<PathBuf>,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { runs: Vec::new(), transport: None, netlab: None, font: None, out: PathBuf::from(".") };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--transport" => args.transport = iter.next().map(PathBuf::from),
            "--netlab" => args.netlab = iter.next().map(PathBuf::from),
            "--font" => args.font = iter.next().map(PathBuf::from),
            "--out" => args.out = iter.next().map(PathBuf::from).ok_or("--out needs a folder")?,
            "--help" | "-h" => return Err(
                "usage: bench-report RUN.json... [--transport ESTIMATES.json] [--netlab LOSS.json] [--font FONT.ttf] \
                     [--out DIR]"
                    .into(),
            ),
            _ => args.runs.push(PathBuf::from(arg)),
        }
    }
    if args.runs.is_empty() {
        return Err("no run files given".into());
    }
    Ok(args)
}

fn main() {
    if let Err(error) = run() {
        eprintln!("bench-report: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    // kind -> figure -> values over the runs
    let mut values: BTreeMap<&str, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for path in &args.runs {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let run: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for kind in KINDS {
            let mut flat = BTreeMap::new();
            if let Some(figures) = run.get(kind) {
                flatten("", figures, &mut flat);
            }
            for (figure, value) in flat {
                values.entry(kind).or_default().entry(figure).or_default().push(value);
            }
        }
    }
    let spreads: BTreeMap<&str, BTreeMap<String, Spread>> = values
        .into_iter()
        .map(|(kind, figures)| (kind, figures.into_iter().filter_map(|(f, v)| Some((f, spread(v)?))).collect()))
        .collect();
    let transport = match &args.transport {
        Some(path) => transport_messages_per_second(path)?,
        None => None,
    };

    let figures: Vec<String> = {
        let mut all: Vec<String> = spreads.values().flat_map(|f| f.keys().cloned()).collect();
        all.sort();
        all.dedup();
        all.retain(|f| !f.ends_with(".seconds") && !f.ends_with(".messages"));
        all
    };
    let get = |kind: &str, figure: &str| spreads.get(kind).and_then(|f| f.get(figure)).copied();
    println!("{} result files; each figure is the median (min-max) over the runs. Ratios above 1 favour (a), except where lower is better (marked *).", args.runs.len());
    println!(
        "{:<34} {:>22} {:>22} {:>22} {:>7} {:>7}",
        "figure", "(a) ours", "(b) engine class", "(c) ENet", "a/b", "a/c"
    );
    let show = |s: Option<Spread>| s.map_or("-".to_owned(), |s| format!("{:.1} ({:.1}-{:.1})", s.median, s.min, s.max));
    let ratio = |x: Option<Spread>, y: Option<Spread>| match (x, y) {
        (Some(x), Some(y)) if y.median != 0.0 => format!("{:.2}", x.median / y.median),
        _ => "-".to_owned(),
    };
    let mut report = Map::new();
    for figure in &figures {
        let (a, b, c) = (get("a", figure), get("b", figure), get("c", figure));
        let marker = if lower_is_better(figure) { "*" } else { "" };
        println!(
            "{:<34} {:>22} {:>22} {:>22} {:>7} {:>7}",
            format!("{figure}{marker}"),
            show(a),
            show(b),
            show(c),
            ratio(a, b),
            ratio(a, c)
        );
        let entry =
            |s: Option<Spread>| s.map_or(Value::Null, |s| json!({"median": s.median, "min": s.min, "max": s.max}));
        report.insert(
            figure.clone(),
            json!({"a": entry(a), "b": entry(b), "c": entry(c), "lower_is_better": lower_is_better(figure)}),
        );
    }
    if let Some(transport) = transport {
        let engine = get("a", "reliable_1024.packets_per_s").map_or(0.0, |s| s.median);
        println!(
            "transport alone in Rust (cargo bench): {:.0} messages/s of 1 KiB; (a) in the engine reaches {:.2}x of it",
            transport,
            engine / transport
        );
        report.insert("transport_alone_messages_per_s".into(), json!(transport));
    }
    let netlab = match &args.netlab {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let median = |kind: &str, figure: &str| get(kind, figure).map(|s| s.median);
    let mut verdicts = goals::engine(&median, &figures, lower_is_better);
    verdicts.extend(goals::lab(netlab.as_ref()));
    verdicts.extend(goals::lab_runs(netlab.as_ref()));
    println!();
    println!(
        "goals (issue 12), from the medians above{}:",
        if netlab.is_some() { " and the lab's loss runs" } else { "" }
    );
    for verdict in &verdicts {
        println!("  {:<7} {:<62} {}", verdict.word(), verdict.goal, verdict.measured);
    }
    report.insert("goals".into(), Value::Array(verdicts.iter().map(goals::Verdict::to_json).collect()));
    if let Some(netlab) = netlab {
        report.insert("netlab_loss".into(), netlab);
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let json_path = args.out.join("results.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&Value::Object(report)).unwrap_or_default())
        .map_err(|e| e.to_string())?;
    println!("figures written to {}", json_path.display());
    if let Some(font) = &args.font {
        let chart = args.out.join("chart.png");
        draw(&chart, font, &|kind, figure| get(kind, figure)).map_err(|e| format!("chart: {e}"))?;
        println!("chart written to {}", chart.display());
    }
    Ok(())
}

/// Messages per second from criterion's estimates (mean time of 10,000 messages).
fn transport_messages_per_second(path: &PathBuf) -> Result<Option<f64>, String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(None) };
    let estimates: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let nanos = estimates.pointer("/median/point_estimate").and_then(Value::as_f64);
    Ok(nanos.map(|ns| 10_000.0 / (ns / 1e9)))
}

type Lookup<'a> = dyn Fn(&str, &str) -> Option<Spread> + 'a;

fn draw(path: &PathBuf, font: &PathBuf, get: &Lookup<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let bytes: &'static [u8] = Box::leak(std::fs::read(font)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| "cannot load the font")?;
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(760);
    let throughput = [
        ("rel 64 B", "reliable_64.mb_per_s"),
        ("rel 1 KiB", "reliable_1024.mb_per_s"),
        ("rel 64 KiB", "reliable_65536.mb_per_s"),
        ("unrel 64 B", "unreliable_64.mb_per_s"),
        ("unrel 1 KiB", "unreliable_1024.mb_per_s"),
        ("unrel 64 KiB", "unreliable_65536.mb_per_s"),
    ];
    bars(&left, "Throughput (MB/s, higher is better)", &throughput, get)?;
    let latency = [("RTT p50 ms", "rtt.p50_us"), ("RTT p99 ms", "rtt.p99_us"), ("8-mesh s", "mesh_connect_ms_8")];
    let scaled = |kind: &str, figure: &str| {
        get(kind, figure).map(|s| {
            let scale = 1e-3;
            Spread { median: s.median * scale, min: s.min * scale, max: s.max * scale }
        })
    };
    bars(&right, "Latency (lower is better)", &latency, &scaled)?;
    root.present()?;
    Ok(())
}

fn bars(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    groups: &[(&str, &str)],
    get: &Lookup<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let top = groups
        .iter()
        .flat_map(|(_, figure)| KINDS.iter().filter_map(move |kind| get(kind, figure)))
        .map(|s| s.max)
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..groups.len() as f64, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let index = x.floor() as usize;
            if (x - index as f64 - 0.5).abs() < 0.01 {
                groups.get(index).map_or(String::new(), |g| g.0.to_owned())
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 13))
        .draw()?;
    let colors = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44)];
    for (k, kind) in KINDS.iter().enumerate() {
        let color = colors[k];
        let rects: Vec<_> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, (_, figure))| {
                let s = get(kind, figure)?;
                let x0 = g as f64 + 0.1 + k as f64 * 0.27;
                Some(Rectangle::new([(x0, 0.0), (x0 + 0.25, s.median)], color.filled()))
            })
            .collect();
        chart
            .draw_series(rects)?
            .label(NAMES[k])
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}
