//! What relaying costs (issue 21), measured on 127.0.0.1 and printed (no timed assertion): the
//! relaying member's CPU per MB carried, the bytes on the wire relayed against direct for the same
//! transfer, and the round trip over two hops against one.
//!
//! The relaying member B runs in a process of its own (this test binary started again, running
//! [`relay_member_process`]), so that its CPU time is its own: `utime + stime` of
//! `/proc/PID/stat` over the transfer. A and C (and a direct pair to compare with) run here; the
//! signaling between the processes goes over B's stdin and stdout, one line per message.
//!
//! Run with `cargo test -p transport --release --test relay_figures -- --ignored --nocapture`
//! (`RELAY_FIGURES_MB` sets the transfer's size, 4 MB by default: with 20 MB the relayed transfer
//! did not finish within its 120 s, see the README's relay section).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{loopback_config, median_round_trip};
use transport::{
    ChannelOptions, ChannelState, DataChannel, PathKind, PeerConnection, PeerEvent, PeerStats, RelayHub, SdpKind,
    TransportConfig,
};

const A: i32 = 2;
const B: i32 = 3;
const C: i32 = 4;
/// The environment variable that makes [`relay_member_process`] act as B.
const CHILD_FLAG: &str = "WEBRTC_MESH_RELAY_MEMBER";
/// Prefix of the signaling lines between the processes (the test harness prints other lines).
const PREFIX: &str = "@@";
const DEADLINE: Duration = Duration::from_secs(120);
/// Bytes per message of the bulk transfer.
const MESSAGE: usize = 16 * 1024;

fn relay_config() -> TransportConfig {
    TransportConfig { relay: true, ..loopback_config() }
}

fn escape(text: &str) -> String {
    text.replace('\r', "\\r").replace('\n', "\\n")
}

fn unescape(text: &str) -> String {
    text.replace("\\r", "\r").replace("\\n", "\n")
}

/// One signaling line: `@@ <member> <what> <rest>`.
fn line(member: i32, what: &str, rest: &str) -> String {
    format!("{PREFIX} {member} {what} {rest}\n")
}

/// Parses a signaling line into member, what and rest.
fn parse(line: &str) -> Option<(i32, String, String)> {
    // Anywhere in the line: the test harness prints "test NAME ... " before the child's first
    // line, without a newline.
    let rest = line[line.find(PREFIX)? + PREFIX.len()..].trim_start();
    let (member, rest) = rest.split_once(' ')?;
    let (what, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((member.parse().ok()?, what.to_owned(), rest.to_owned()))
}

/// Reads lines from `reader` on a thread of its own.
fn lines(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Applies a signaling message for `to` (its offer or answer, or a candidate).
fn apply(to: &PeerConnection, what: &str, rest: &str) {
    match what {
        "offer" => to.set_remote_description(SdpKind::Offer, unescape(rest)).expect("offer"),
        "answer" => to.set_remote_description(SdpKind::Answer, unescape(rest)).expect("answer"),
        "candidate" => {
            let mut parts = rest.splitn(3, ' ');
            let (Some(mid), Some(index), Some(candidate)) = (parts.next(), parts.next(), parts.next()) else { return };
            to.add_ice_candidate(mid, index.parse().unwrap_or(0), candidate).expect("candidate");
        }
        _ => {}
    }
}

/// Sends `from`'s signaling (as member `member`) to the other process.
fn send_signaling(from: &mut PeerConnection, member: i32, out: &mut impl Write) {
    for event in from.poll() {
        let text = match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                let what = if kind == SdpKind::Offer { "offer" } else { "answer" };
                line(member, what, &escape(&sdp))
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                line(member, "candidate", &format!("{mid} {index} {candidate}"))
            }
            _ => continue,
        };
        out.write_all(text.as_bytes()).expect("signaling written");
        out.flush().expect("signaling flushed");
    }
}

/// B, when this binary is started by [`relay_figures`]: answers A's and C's offers from stdin,
/// relays between them until stdin closes. Without the flag, it does nothing.
#[test]
#[ignore = "run by relay_figures in a process of its own"]
fn relay_member_process() {
    if std::env::var_os(CHILD_FLAG).is_none() {
        return;
    }
    let mut to_a = PeerConnection::new(relay_config()).expect("connection");
    let mut to_c = PeerConnection::new(relay_config()).expect("connection");
    let hub = RelayHub::new(1024 * 1024 * 1024);
    hub.register(A, &to_a).expect("register");
    hub.register(C, &to_c).expect("register");
    let input = lines(std::io::stdin());
    let mut out = std::io::stdout();
    let started = Instant::now();
    while started.elapsed() < DEADLINE * 2 {
        loop {
            match input.try_recv() {
                Ok(text) => {
                    if let Some((member, what, rest)) = parse(&text) {
                        let to = if member == A { &to_a } else { &to_c };
                        apply(to, &what, &rest);
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    let stats = hub.stats();
                    eprintln!("relay member: carried {:?}", stats.sources);
                    return;
                }
            }
        }
        // Lines name the member the connection is with.
        send_signaling(&mut to_a, A, &mut out);
        send_signaling(&mut to_c, C, &mut out);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// CPU time of process `pid` so far (user and system), from `/proc/PID/stat`.
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second: u64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100);
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// Bytes on the wire of a connection both ways (UDP payloads).
fn wire_bytes(stats: &PeerStats) -> u64 {
    stats.bytes_sent + stats.bytes_received
}

fn reliable(id: u16) -> ChannelOptions {
    ChannelOptions { negotiated_id: Some(id), ..Default::default() }
}

/// Runs `step` (which returns whether it is done) every 2 ms until it is.
fn wait(what: &str, mut step: impl FnMut() -> bool) {
    let start = Instant::now();
    while !step() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `total` bytes from `there` to `back` in [`MESSAGE`]-byte messages as fast as the send
/// buffer takes them, reading as they come; returns how long it took.
fn transfer(there: &DataChannel, back: &DataChannel, total: usize, mut step: impl FnMut()) -> Duration {
    let start = Instant::now();
    let payload = vec![0x5A; MESSAGE];
    let messages = total / MESSAGE;
    let (mut sent, mut received) = (0, 0);
    while received < messages {
        assert!(start.elapsed() < DEADLINE, "transfer stalled at {received} of {messages}");
        while sent < messages && there.buffered_amount() < 512 * 1024 && there.send(&payload, false).is_ok() {
            sent += 1;
        }
        received += back.recv_all().len();
        step();
        std::thread::sleep(Duration::from_micros(200));
    }
    start.elapsed()
}

/// A's and C's connections (here), and the pipes to B (the other process).
struct Members {
    /// A's connection to B.
    ab: PeerConnection,
    /// C's connection to B.
    cb: PeerConnection,
    /// A's connection to C (it offers).
    ac: PeerConnection,
    /// C's connection to A.
    ca: PeerConnection,
    to_b: ChildStdin,
    from_b: Receiver<String>,
}

impl Members {
    /// Hands every side's signaling over: to B and back through the pipes, A<->C without
    /// candidates (no direct path: only the relay).
    fn signal(&mut self) {
        send_signaling(&mut self.ab, A, &mut self.to_b);
        send_signaling(&mut self.cb, C, &mut self.to_b);
        while let Ok(text) = self.from_b.try_recv() {
            // B's lines name the member its connection is with.
            if let Some((member, what, rest)) = parse(&text) {
                apply(if member == A { &self.ab } else { &self.cb }, &what, &rest);
            }
        }
        signal_without_candidates(&mut self.ac, &mut self.ca);
    }
}

/// Sends and applies the signaling of a pair within this process (candidates included).
fn signal_pair(one: &mut PeerConnection, other: &mut PeerConnection) {
    common::forward(one, other);
    common::forward(other, one);
}

/// A<->C's signaling without candidates (no direct path: only the relay).
fn signal_without_candidates(one: &mut PeerConnection, other: &mut PeerConnection) {
    descriptions_only(one, other);
    descriptions_only(other, one);
}

/// Hands `from`'s descriptions to `to`, dropping its candidates.
fn descriptions_only(from: &mut PeerConnection, to: &PeerConnection) {
    let events = from.poll();
    let descriptions =
        events.into_iter().filter(|event| matches!(event, PeerEvent::SessionDescriptionCreated { .. })).collect();
    common::hand_over(descriptions, from, to);
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture (release build advised)"]
fn relay_figures() {
    let megabytes: usize = std::env::var("RELAY_FIGURES_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(4);
    let total = megabytes * 1024 * 1024;

    // The direct pair first: the same transfer and round trips over one hop.
    let mut one = PeerConnection::new(loopback_config()).expect("connection");
    let mut other = PeerConnection::new(loopback_config()).expect("connection");
    let (d_there, d_back) = (
        one.create_data_channel("bulk", reliable(1)).expect("channel"),
        other.create_data_channel("bulk", reliable(1)).expect("channel"),
    );
    one.create_offer().expect("offer");
    wait("the direct pair", || {
        signal_pair(&mut one, &mut other);
        d_there.ready_state() == ChannelState::Open && d_back.ready_state() == ChannelState::Open
    });
    let direct_rtt = median_round_trip(&d_there, &d_back, DEADLINE);
    let before = wire_bytes(&one.stats());
    let own_before = process_cpu(std::process::id());
    let direct_time = transfer(&d_there, &d_back, total, || {});
    let own_direct = process_cpu(std::process::id()).zip(own_before).map(|(after, before)| after - before);
    let direct_wire = wire_bytes(&one.stats()) - before;

    drop((d_there, d_back, one, other));

    // B in a process of its own; A and C here, each with its hub.
    let mut child: Child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["relay_member_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_FLAG, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the relay member's process");
    let pid = child.id();
    let to_b: ChildStdin = child.stdin.take().expect("stdin");
    let from_b = lines(child.stdout.take().expect("stdout"));
    let mut mesh = Members {
        ab: PeerConnection::new(relay_config()).expect("connection"),
        cb: PeerConnection::new(relay_config()).expect("connection"),
        ac: PeerConnection::new(relay_config()).expect("connection"),
        ca: PeerConnection::new(relay_config()).expect("connection"),
        to_b,
        from_b,
    };
    let (hub_a, hub_c) = (RelayHub::new(1024 * 1024 * 1024), RelayHub::new(1024 * 1024 * 1024));
    hub_a.register(B, &mesh.ab).expect("register");
    hub_a.register(C, &mesh.ac).expect("register");
    hub_c.register(B, &mesh.cb).expect("register");
    hub_c.register(A, &mesh.ca).expect("register");
    let (r_there, r_back) = (
        mesh.ac.create_data_channel("bulk", reliable(1)).expect("channel"),
        mesh.ca.create_data_channel("bulk", reliable(1)).expect("channel"),
    );
    mesh.ab.create_offer().expect("offer");
    mesh.cb.create_offer().expect("offer");
    mesh.ac.create_offer().expect("offer");
    let started = Instant::now();
    wait("A<->C through B", || {
        mesh.signal();
        r_there.ready_state() == ChannelState::Open
            && r_back.ready_state() == ChannelState::Open
            && mesh.ac.stats().path == Some(PathKind::Relayed)
    });
    let relayed_after = started.elapsed();
    let relayed_rtt = median_round_trip(&r_there, &r_back, DEADLINE);
    let wire_before = wire_bytes(&mesh.ab.stats()) + wire_bytes(&mesh.cb.stats());
    let inner_before = wire_bytes(&mesh.ac.stats());
    let b_before = process_cpu(pid);
    let own_before = process_cpu(std::process::id());
    let relayed_time = transfer(&r_there, &r_back, total, || mesh.signal());
    let b_cpu = process_cpu(pid).zip(b_before).map(|(after, before)| after - before);
    let own_relayed = process_cpu(std::process::id()).zip(own_before).map(|(after, before)| after - before);
    let relayed_wire = wire_bytes(&mesh.ab.stats()) + wire_bytes(&mesh.cb.stats()) - wire_before;
    let inner_wire = wire_bytes(&mesh.ac.stats()) - inner_before;
    let carried = hub_a.stats();
    drop(mesh);
    let _ = child.wait();

    let mb = megabytes as f64;
    let per_mb = |cpu: Option<Duration>| cpu.map(|cpu| format!("{:.1} ms", cpu.as_secs_f64() * 1000.0 / mb));
    println!(
        "FIGURE relay costs, {megabytes} MB in {MESSAGE}-byte reliable messages on 127.0.0.1:\n  \
         direct: {direct_time:?} ({:.1} MB/s), {direct_wire} B on the wire ({:.3}x the payload), this process (both \
         ends) {own_direct:?} CPU ({:?} per MB)\n  \
         relayed: connected via B {relayed_after:?} after the offers; {relayed_time:?} ({:.1} MB/s); on the wire \
         A<->B + B<->C {relayed_wire} B = {:.2}x the direct transfer's (each hop {:.3}x the payload); A<->C's own \
         datagrams {inner_wire} B\n  \
         relay member B (its own process): {b_cpu:?} CPU = {:?} per MB carried; A and C (this process) {own_relayed:?} \
         ({:?} per MB)\n  \
         round trip (median of 200): direct {direct_rtt:?}, relayed {relayed_rtt:?}: {:?} added each way by the \
         second hop",
        mb / direct_time.as_secs_f64(),
        direct_wire as f64 / total as f64,
        per_mb(own_direct),
        mb / relayed_time.as_secs_f64(),
        relayed_wire as f64 / direct_wire as f64,
        relayed_wire as f64 / 2.0 / total as f64,
        per_mb(b_cpu),
        per_mb(own_relayed),
        relayed_rtt.saturating_sub(direct_rtt) / 2,
    );
    println!("  A's hub: {carried:?}");
    assert!(relayed_wire > total as u64, "the relayed transfer crossed both hops");
}
