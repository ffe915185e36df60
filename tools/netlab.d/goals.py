#!/usr/bin/env python3
"""Figures and verdicts of the lab goals of issue 20 (tools/netlab --only goals, goals.sh).

    goals.py WORK run N          one run's figures, from WORK/gN-{p0,p2,e2,f10,u5}.cone-{a,b}.log
                                 and their .counters.json: printed, and added to WORK/goals.jsonl
    goals.py WORK connect N      one connection try's times (WORK/cN.*), the same way
    goals.py WORK judge RUNS TRIES
                                 prints each goal as "met in K of M" and adds every figure to the
                                 JSON file named by NETLAB_FIGURES (key "goals") when set

The goals (each run must hold all of a goal's conditions; rust/bench-report/src/goals.rs judges
the same figures the same way):
  2 % loss    p99 one-way latency <= ENet's on both sides (cone-a and cone-b as receivers), every
              message delivered, and the UDP payload both routers forwarded out <= 1.25x that of
              the same transfer at 0 %; in every run
  10 % loss   1000 reliable 1 KiB messages each way, sent as fast as the channel takes them, all
              delivered in < 3 s on both sides; in every run
  connect     at 10 % loss: median < 1 s, and at least 18 of 20 tries (90 %) < 2 s
  unreliable  at 5 % loss, on both sides: received / sent >= 1 - the share of data-sized
              datagrams (> 1000 bytes) the receiver's router dropped, p99 < 200 ms, max < 1 s; in
              every run
"""
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import first_link  # noqa: E402  (report.py sits beside this file)

SIDES = ("cone-a", "cone-b")
# IPv4 and UDP headers, taken off the routers' byte counts to give UDP payload.
HEADERS = 28
PAYLOAD_RATIO = 1.25
FAST_LIMIT_MS = 3000.0
CONNECT_MEDIAN_MS = 1000.0
CONNECT_SLOW_MS = 2000.0
CONNECT_SHARE = 0.9
UNRELIABLE_P99_MS = 200.0
UNRELIABLE_MAX_MS = 1000.0


def counters(path):
    """{side: {comment: (packets, bytes)}} from a .counters.json of goals.sh."""
    try:
        with open(path, encoding="utf-8") as file:
            saved = json.load(file)
    except (OSError, ValueError):
        return {}
    result = {}
    for side, listing in saved.items():
        found = {}
        for item in listing.get("nftables", []):
            rule = item.get("rule")
            if not rule or "comment" not in rule:
                continue
            for expression in rule.get("expr", []):
                if "counter" in expression:
                    found[rule["comment"]] = (expression["counter"]["packets"], expression["counter"]["bytes"])
        result[side] = found
    return result


def scenario(work, name):
    """The two links (cone-a's, cone-b's; None when missing) and the counters of a scenario."""
    links = [first_link(os.path.join(work, "%s.%s.log" % (name, side))) for side in SIDES]
    return links, counters(os.path.join(work, "%s.counters.json" % name))


def latency(link, key):
    return link["latency_ms"][key] if link and "latency_ms" in link else None


def received(link):
    return link["received"] if link else 0


def payload(count):
    """UDP payload bytes both routers forwarded out, and the datagrams."""
    packets = sum(side.get("out", (0, 0))[0] for side in count.values())
    size = sum(side.get("out", (0, 0))[1] for side in count.values())
    return size - HEADERS * packets, packets


def dropped(count, side, big=False):
    """(dropped, entered) UDP datagrams at a side's router, data-sized ones only when big (the
    "drop-big" rule takes those before the "drop" rule sees the rest)."""
    rules = count.get(side, {})
    if big:
        return rules.get("drop-big", (0, 0))[0], rules.get("in-big", (0, 0))[0]
    return rules.get("drop-big", (0, 0))[0] + rules.get("drop", (0, 0))[0], rules.get("in", (0, 0))[0]


def fmt(value, unit="", digits=1):
    return "-" if value is None else "%.*f%s" % (digits, value, unit)


def both(values, unit="", digits=1):
    return " / ".join(fmt(value, unit, digits) for value in values)


def run_figures(work, run):
    """The figures of run `run`."""
    p0, c0 = scenario(work, "g%d-p0" % run)
    p2, c2 = scenario(work, "g%d-p2" % run)
    e2, _ = scenario(work, "g%d-e2" % run)
    f10, c10 = scenario(work, "g%d-f10" % run)
    u5, c5 = scenario(work, "g%d-u5" % run)
    unreliable = []
    for index, side in enumerate(SIDES):
        sender = u5[1 - index]
        lost, entered = dropped(c5, side, big=True)
        unreliable.append({
            "received": received(u5[index]),
            "sent": sender["sent"] if sender else 0,
            "data_dropped": lost,
            "data_entered": entered,
            "link_loss": lost / entered if entered else None,
            "p50_ms": latency(u5[index], "p50"),
            "p99_ms": latency(u5[index], "p99"),
            "max_ms": latency(u5[index], "max"),
        })
    return {
        "run": run,
        "load": open("/proc/loadavg", encoding="utf-8").read().split()[0],
        "lossless": {"received": [received(link) for link in p0],
                     "p99_ms": [latency(link, "p99") for link in p0],
                     "payload_bytes": payload(c0)[0], "datagrams": payload(c0)[1]},
        "two_percent": {"received": [received(link) for link in p2],
                        "p50_ms": [latency(link, "p50") for link in p2],
                        "p99_ms": [latency(link, "p99") for link in p2],
                        "payload_bytes": payload(c2)[0], "datagrams": payload(c2)[1],
                        "dropped": [dropped(c2, side)[0] for side in SIDES]},
        "two_percent_enet": {"received": [received(link) for link in e2],
                             "p50_ms": [latency(link, "p50") for link in e2],
                             "p99_ms": [latency(link, "p99") for link in e2]},
        "ten_percent_fast": {"received": [received(link) for link in f10],
                             "transfer_ms": [link.get("transfer_ms") if link else None for link in f10],
                             "p99_ms": [latency(link, "p99") for link in f10],
                             "max_ms": [latency(link, "max") for link in f10],
                             "dropped": [dropped(c10, side)[0] for side in SIDES]},
        "unreliable": unreliable,
    }


def two_percent_met(figures):
    ours, enet = figures["two_percent"], figures["two_percent_enet"]
    base = figures["lossless"]["payload_bytes"]
    ratio = ours["payload_bytes"] / base if base > 0 else None
    latency_ok = all(a is not None and b is not None and a <= b for a, b in zip(ours["p99_ms"], enet["p99_ms"]))
    delivered = all(count == 1000 for count in ours["received"] + enet["received"])
    return latency_ok and delivered and ratio is not None and ratio <= PAYLOAD_RATIO, ratio


def fast_met(figures):
    fast = figures["ten_percent_fast"]
    return (all(count == 1000 for count in fast["received"])
            and all(ms is not None and ms < FAST_LIMIT_MS for ms in fast["transfer_ms"]))


def unreliable_side_met(side):
    """received / sent >= 1 - dropped / entered, in integers (equal shares must compare equal)."""
    if side["sent"] <= 0 or not side["data_entered"] or side["p99_ms"] is None:
        return False
    enough = side["received"] * side["data_entered"] >= (side["data_entered"] - side["data_dropped"]) * side["sent"]
    return enough and side["p99_ms"] < UNRELIABLE_P99_MS and side["max_ms"] < UNRELIABLE_MAX_MS


def word(met):
    return "met" if met else "NOT MET"


def print_run(figures):
    run = figures["run"]
    ours, enet, base = figures["two_percent"], figures["two_percent_enet"], figures["lossless"]
    met, ratio = two_percent_met(figures)
    print("  run %d (load %s)" % (run, figures["load"]))
    print("    2%% loss, 1000/s each way: p99 ours %s ms (p50 %s), ENet %s ms (p50 %s), cone-a / cone-b;"
          " received ours %s, ENet %s; UDP payload %.0f KB in %d datagrams vs %.0f KB in %d lossless = %s"
          " (routers dropped %s) -> %s"
          % (both(ours["p99_ms"]), both(ours["p50_ms"]), both(enet["p99_ms"]), both(enet["p50_ms"]),
             " / ".join(map(str, ours["received"])), " / ".join(map(str, enet["received"])),
             ours["payload_bytes"] / 1000, ours["datagrams"], base["payload_bytes"] / 1000, base["datagrams"],
             fmt(ratio, "x", 3), " / ".join(map(str, ours["dropped"])), word(met)))
    fast = figures["ten_percent_fast"]
    print("    10%% loss, as fast as the channel takes them: received %s in %s ms, latency p99 %s / max %s ms"
          " (routers dropped %s) -> %s"
          % (" / ".join(map(str, fast["received"])), both(fast["transfer_ms"], digits=0), both(fast["p99_ms"]),
             both(fast["max_ms"]), " / ".join(map(str, fast["dropped"])), word(fast_met(figures))))
    sides = []
    for name, side in zip(SIDES, figures["unreliable"]):
        share = side["received"] / side["sent"] if side["sent"] else 0.0
        sides.append("%s got %d of %d = %.2f%% (its router dropped %d of %d data datagrams = %s),"
                     " p50 %s p99 %s max %s ms"
                     % (name, side["received"], side["sent"], 100.0 * share, side["data_dropped"], side["data_entered"],
                        fmt(None if side["link_loss"] is None else 100.0 * side["link_loss"], "%", 2),
                        fmt(side["p50_ms"]), fmt(side["p99_ms"]), fmt(side["max_ms"])))
    print("    unreliable at 5%% loss, 1 KiB every 5 ms: %s -> %s"
          % ("; ".join(sides), word(all(unreliable_side_met(side) for side in figures["unreliable"]))))


def connect_figures(work, trial):
    links, count = scenario(work, "c%d" % trial)
    times = [link["connect_ms"] if link and link["connect_ms"] >= 0 else None for link in links]
    return {"try": trial, "connect_ms": times, "dropped": [dropped(count, side)[0] for side in SIDES]}


def connect_time(figures):
    """A try's time: the later side's, None if either never connected."""
    times = figures["connect_ms"]
    return None if None in times else max(times)


def records(work, kind):
    path = os.path.join(work, "goals.jsonl")
    try:
        with open(path, encoding="utf-8") as file:
            return [json.loads(line)[kind] for line in file if kind in json.loads(line)]
    except OSError:
        return []


def record(work, kind, figures):
    with open(os.path.join(work, "goals.jsonl"), "a", encoding="utf-8") as file:
        file.write(json.dumps({kind: figures}) + "\n")


def print_verdicts(runs, done):
    """The per-run goals' lines: met only when every one of the `runs` runs held the goal."""
    two = sum(1 for figures in done if two_percent_met(figures)[0])
    fast = sum(1 for figures in done if fast_met(figures))
    loose = sum(1 for figures in done if all(unreliable_side_met(side) for side in figures["unreliable"]))
    print("  2%% loss: p99 <= ENet's on both sides, payload <= %.2fx lossless: %s in %d of %d runs"
          % (PAYLOAD_RATIO, "met" if two == runs == len(done) else "NOT MET", two, runs))
    print("  10%% loss: 1000 reliable 1 KiB each way as fast as they go in < 3 s: %s in %d of %d runs"
          % ("met" if fast == runs == len(done) else "NOT MET", fast, runs))
    print("  unreliable at 5%% loss: >= (1 - loss) arrive, p99 < 200 ms, none > 1 s: %s in %d of %d runs"
          % ("met" if loose == runs == len(done) else "NOT MET", loose, runs))


def judge(work, runs, tries):
    """Prints each goal's verdict; adds the figures to NETLAB_FIGURES."""
    done = records(work, "run")
    attempts = records(work, "connect")
    if runs == 0:
        print("  the 2 %, 10 % and unreliable goals: not run (LAB_RUNS=0)")
    else:
        print_verdicts(runs, done)
    if tries == 0:
        print("  connecting at 10% loss: not run (LAB_CONNECT_TRIES=0)")
        attempts = []
    times = [connect_time(figures) for figures in attempts]
    known = sorted(ms for ms in times if ms is not None)
    # A try that never connected is slower than any bound: it sorts last.
    ordered = known + [float("inf")] * (len(times) - len(known))
    median = statistics.median(ordered) if ordered else None
    quick = sum(1 for ms in known if ms < CONNECT_SLOW_MS)
    needed = math.ceil(round(CONNECT_SHARE * tries, 6))
    met = median is not None and median < CONNECT_MEDIAN_MS and quick >= needed and len(times) == tries
    if tries > 0:
        print("  connecting at 10%% loss: median %s, %d of %d tries < 2 s (max %s): %s (median < 1 s and %d of %d < 2 s)"
              % (fmt(median, " ms", 0), quick, tries, fmt(max(ordered) if ordered else None, " ms", 0),
                 word(met), needed, tries))
        print("    tries (later side's connect, ms): %s" % " ".join(fmt(ms, "", 0) for ms in times))
    path = os.environ.get("NETLAB_FIGURES")
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                figures = json.load(file)
        except (OSError, ValueError):
            figures = {}
        figures["goals"] = {"runs": done, "connect": attempts}
        with open(path, "w", encoding="utf-8") as file:
            json.dump(figures, file)
    return 0


def main():
    work, command = sys.argv[1], sys.argv[2]
    if command == "run":
        figures = run_figures(work, int(sys.argv[3]))
        record(work, "run", figures)
        print_run(figures)
    elif command == "connect":
        figures = connect_figures(work, int(sys.argv[3]))
        record(work, "connect", figures)
        print("  try %d: connected in %s ms (cone-a / cone-b; routers dropped %s)"
              % (figures["try"], both(figures["connect_ms"], digits=0), " / ".join(map(str, figures["dropped"]))))
    elif command == "judge":
        return judge(work, int(sys.argv[3]), int(sys.argv[4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
