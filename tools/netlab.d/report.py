#!/usr/bin/env python3
"""Prints what the peers of one tools/netlab scenario saw, and judges it.

    report.py EXPECT LABEL=LOG [LABEL=LOG ...]
    report.py table NAME=LOG_A,LOG_B [NAME=LOG_A,LOG_B ...]

Each LOG is a netlab peer's output (godot-project/netlab/peer.gd), holding one "NETLAB {json}"
line. EXPECT is what the scenario must show:
  connected  every peer connected to every other and received all messages in order
  failed     no peer connected to any other, and every connection reached STATE_FAILED
  failed:TEXT  the same, and every peer reported an error containing TEXT
  connected:direct  connected, and every selected path is direct (no relay candidate)
  connected:relay   connected, and every selected path goes through a TURN relay (a relay
                    candidate on one side at least)
  connected:ipv6    connected, and every selected path is direct between two IPv6 host
                    candidates (both addresses IPv6)
  connected:mesh    connected, every link within 10 s, and at least one link relayed through
                    a common mesh member (get_stats path "relayed")
  lost:UNIX_MS  every peer connected to every other, and then its multiplayer peer emitted
                peer_disconnected for each (the time after UNIX_MS, when the path was cut, is
                printed)
  any        nothing: the outcome is only printed (exit 0 when every peer printed a result)
  cut:CUT_MS,RESTORED_MS,A,B  the direct path between peers A and B (labels) was cut from Unix
             time CUT_MS to RESTORED_MS: every peer delivered all messages in order; A and B were
             on a direct path when it was cut, both moved to a path relayed through a mesh member
             within 2 s (their statistics' `path`, read every 250 ms), and neither emitted
             peer_disconnected for the other; prints when each moved to the relay and back to
             direct, and the longest gap between two messages received in a row
  takeover:LEFT_MS,RELAY_ID,RELAY,A,B  the member RELAY (label; mesh id RELAY_ID) that relayed
             between A and B left at Unix time LEFT_MS (it may print no result): A and B
             delivered all their messages to each other once and in order, neither emitted
             peer_disconnected for the other, and each side whose statistics named RELAY_ID as
             its relay just before (one at least; each side chooses its own) moved to another
             member (or a direct path) after; prints when, the longest gap, and when the others
             emitted peer_disconnected for RELAY
Prints one line per peer and link (connect or failure time, states, candidates, messages,
transfer time, one-way latency p50/p99, errors) and exits 0 when EXPECT holds, else 1.
"table" prints one row per two-peer run instead: A's connect time, then messages received,
transfer time and latency p50/p99 with A / B as the receiver; with NETLAB_FIGURES=FILE in the
environment it also writes them to FILE as JSON (run name -> connect_ms, and [A, B] lists of
received, transfer_ms, p50_ms, p99_ms; a "goals" key goals.py wrote there is kept), which
tools/bench reads.
"""
import json
import os
import sys


def result_of(log):
    """The peer's NETLAB result, or None."""
    try:
        with open(log, encoding="utf-8", errors="replace") as file:
            for line in file:
                if line.startswith("NETLAB "):
                    return json.loads(line[len("NETLAB "):])
    except OSError:
        pass
    return None


def tail(log, count=12):
    """The log's last lines, without the engine's backtrace noise."""
    try:
        with open(log, encoding="utf-8", errors="replace") as file:
            lines = [line.rstrip() for line in file]
    except OSError:
        return ["(no log)"]
    noise = ("at:", "GDScript backtrace", "[")
    keep = [line for line in lines if line.strip() and not line.lstrip().startswith(noise)]
    return keep[-count:]


def candidates(counts):
    return "+".join("%s %d" % (kind, counts[kind]) for kind in sorted(counts)) or "none"


def describe_link(link, enet_server):
    """One line for a link: how it ended and its figures."""
    states = " ".join(link["states"])
    text = []
    if enet_server:
        text.append("accepted (the client's line has the connect time)")
    elif link["connect_ms"] >= 0:
        text.append("connected in %d ms" % link["connect_ms"])
    elif link["failed_ms"] >= 0:
        text.append("FAILED after %.1f s" % (link["failed_ms"] / 1000.0))
    else:
        text.append("never connected")
    received = "received %d (%d in order" % (link["received"], link["in_order"])
    if link.get("skipped"):
        received += ", %d never arrived: %s" % (link["skipped"], " ".join(map(str, link["missing"])))
        received += "..." if link["skipped"] > len(link["missing"]) else ""
    text.append("%s), sent %d" % (received, link["sent"]))
    if "transfer_ms" in link:
        latency = link["latency_ms"]
        text.append("transfer %.0f ms, latency p50 %.2f / p99 %.2f / max %.2f ms"
                    % (link["transfer_ms"], latency["p50"], latency["p99"], latency["max"]))
    if link.get("path", {}).get("via") == "relayed":
        path = link["path"]
        rtt = "RTT %.2f ms" % path["rtt_ms"] if path["rtt_ms"] >= 0 else "RTT not measured yet"
        text.append("relayed through mesh member %s, %s" % (path["relay_peer"], rtt))
    elif "path" in link:
        path = link["path"]
        text.append("path %s -> %s, ICE RTT %.2f ms, %d/%d UDP packets sent/received" % (
            path["local"], path["remote"], path["rtt_ms"], path["packets_sent"], path["packets_received"]))
    if not enet_server and "states" in link and link["states"]:
        text.append("states [%s]" % states)
        text.append("candidates local %s, remote %s"
                    % (candidates(link["local_candidates"]), candidates(link["remote_candidates"])))
    return "; ".join(text)


def complete(link):
    """Whether the other peer sent everything (END) and all of it arrived once and in order."""
    return link["end"] and link["received"] == link["in_order"] and not link.get("skipped")


def path_at(paths, unix_ms):
    """The last path entry recorded at or before unix_ms, or None."""
    before = [entry for entry in paths if entry["unix_ms"] <= unix_ms]
    return before[-1] if before else None


def first_path_after(paths, unix_ms, wanted):
    """The first path entry recorded after unix_ms for which wanted(entry) holds, or None."""
    return next((entry for entry in paths if entry["unix_ms"] > unix_ms and wanted(entry)), None)


def describe_path(entry):
    if entry is None:
        return "none"
    if entry["path"] == "relayed":
        return "relayed through member %d" % entry["relay"]
    return entry["path"]


def gap_line(link, since_ms, since_what):
    """The longest gap between two messages received in a row, and when it ended."""
    if link.get("longest_gap_ms", -1) < 0:
        return "no gap measured (fewer than two messages)"
    return "longest gap between two messages %.0f ms, ending %d ms after %s" % (
        link["longest_gap_ms"], link["longest_gap_end_unix_ms"] - since_ms, since_what)


def pair_links(results, a, b):
    """[(label, other label, link)] for the links of A to B and of B to A that exist."""
    found = []
    for label, other in ((a, b), (b, a)):
        mine, theirs = results.get(label), results.get(other)
        if mine and theirs and str(theirs["id"]) in mine["links"]:
            found.append((label, other, mine["links"][str(theirs["id"])]))
    return found


def judge_cut(results, argument):
    """cut:CUT_MS,RESTORED_MS,A,B (see the module's doc)."""
    cut_text, restored_text, a, b = argument.split(",")
    cut, restored = int(cut_text), int(restored_text)
    good = all(result and result["ok"] for result in results.values())
    links = pair_links(results, a, b)
    if len(links) != 2:
        print("    %s and %s do not both have a link to the other" % (a, b))
        return False
    print("    the direct path %s <-> %s was cut for %d ms" % (a, b, restored - cut))
    for label, other, link in links:
        paths = link.get("paths", [])
        before = path_at(paths, cut)
        relayed = first_path_after(paths, cut, lambda entry: entry["path"] == "relayed")
        direct = first_path_after(paths, restored, lambda entry: entry["path"] == "direct")
        text = ["%s -> %s: %s when cut" % (other, label, describe_path(before))]
        if before is None or before["path"] != "direct":
            text.append("NOT a direct path when cut")
            good = False
        if relayed is None:
            text.append("NEVER moved to a relay")
            good = False
        else:
            moved = relayed["unix_ms"] - cut
            text.append("%s %d ms after the cut" % (describe_path(relayed), moved))
            if moved > 2000:
                text.append("LATER than 2 s")
                good = False
        if direct is not None:
            text.append("back on direct %d ms after the path was restored" % (direct["unix_ms"] - restored))
        else:
            text.append("not back on direct by its end")
        if link["left"]:
            text.append("peer_disconnected %d ms after the cut" % (link["left_unix_ms"] - cut))
            good = False
        if not complete(link):
            text.append("NOT every message once and in order")
            good = False
        text.append(gap_line(link, cut, "the cut"))
        print("    " + "; ".join(text))
    return good


def judge_takeover(results, argument):
    """takeover:LEFT_MS,RELAY_ID,RELAY,A,B (see the module's doc)."""
    left_text, relay_text, relay_label, a, b = argument.split(",")
    left, relay_id = int(left_text), int(relay_text)
    good = True
    links = pair_links(results, a, b)
    if len(links) != 2:
        print("    %s and %s do not both have a link to the other" % (a, b))
        return False
    print("    member %s (id %d), relaying %s <-> %s, left" % (relay_label, relay_id, a, b))
    affected = 0
    for label, other, link in links:
        paths = link.get("paths", [])
        before = path_at(paths, left)
        after = first_path_after(paths, left, lambda entry: entry["path"] == "direct"
                                 or (entry["path"] == "relayed" and entry["relay"] not in (0, relay_id)))
        text = ["%s -> %s: %s when it left" % (other, label, describe_path(before))]
        through_it = before is not None and before["path"] == "relayed" and before["relay"] == relay_id
        if not through_it:
            text.append("not through the member that left")
        elif after is None:
            text.append("NO other path after it left: %s" % " ".join(
                "%s@%+d" % (describe_path(entry), entry["unix_ms"] - left) for entry in paths) or "none")
            good = False
        else:
            text.append("%s %d ms after it left" % (describe_path(after), after["unix_ms"] - left))
        affected += through_it
        if link["left"]:
            text.append("peer_disconnected %d ms after the relay left" % (link["left_unix_ms"] - left))
            good = False
        if not complete(link):
            text.append("NOT every message once and in order (received %d, %d in order, END %s)"
                        % (link["received"], link["in_order"], "came" if link["end"] else "never came"))
            good = False
        text.append(gap_line(link, left, "the relay left"))
        print("    " + "; ".join(text))
    if affected == 0:
        print("    NEITHER side was relayed through the member that left when it left")
        good = False
    for label, result in sorted(results.items()):
        if label == relay_label or not result:
            continue
        link = result["links"].get(str(relay_id))
        if link is None:
            continue
        if link["left"]:
            print("    %s: peer_disconnected for %s %d ms after it left"
                  % (label, relay_label, link["left_unix_ms"] - left))
        else:
            print("    %s: never emitted peer_disconnected for %s" % (label, relay_label))
    return good


def first_link(log):
    """The first link of the peer's result, or None."""
    result = result_of(log)
    links = list(result["links"].values()) if result else []
    return links[0] if links else None


def table(rows):
    """One row per two-peer run: NAME=LOG_A,LOG_B."""
    def both(a, b, value):
        return " / ".join(value(link) for link in (a, b))

    def latency(quantile):
        return lambda link: "%.1f" % link["latency_ms"][quantile] if "latency_ms" in link else "-"

    def figure(link, key, quantile=None):
        if quantile is not None:
            return link["latency_ms"][quantile] if "latency_ms" in link else None
        return link.get(key)

    print("  %-14s %8s  %-12s %-15s %-17s %-17s"
          % ("run", "connect", "received", "transfer ms", "p50 ms", "p99 ms"))
    figures = {}
    for row in rows:
        name, logs = row.split("=", 1)
        a, b = (first_link(log) for log in logs.split(","))
        if a is None or b is None:
            print("  %-14s no result" % name)
            continue
        figures[name] = {
            "connect_ms": a["connect_ms"],
            "received": [link["received"] for link in (a, b)],
            "transfer_ms": [figure(link, "transfer_ms") for link in (a, b)],
            "p50_ms": [figure(link, None, "p50") for link in (a, b)],
            "p99_ms": [figure(link, None, "p99") for link in (a, b)],
        }
        print("  %-14s %5d ms  %-12s %-15s %-17s %-17s" % (
            name, a["connect_ms"], both(a, b, lambda link: "%d" % link["received"]),
            both(a, b, lambda link: "%.0f" % link["transfer_ms"] if "transfer_ms" in link else "-"),
            both(a, b, latency("p50")), both(a, b, latency("p99"))))
    path = os.environ.get("NETLAB_FIGURES")
    if path:
        # The goals group (goals.py) adds its figures to the same file, under "goals".
        try:
            with open(path, encoding="utf-8") as file:
                kept = {key: value for key, value in json.load(file).items() if key == "goals"}
        except (OSError, ValueError, AttributeError):
            kept = {}
        kept.update(figures)
        with open(path, "w", encoding="utf-8") as out:
            json.dump(kept, out)
    return 0


def ipv6_host_path(path):
    """Whether a selected path (get_stats: "TYPE ADDRESS:PORT" each side) joins two IPv6 host
    candidates."""
    ends = [path.get("local", ""), path.get("remote", "")]
    if not all(" " in end for end in ends):
        return False
    types = [end.split(" ", 1)[0] for end in ends]
    addresses = [end.split(" ", 1)[1].rsplit(":", 1)[0] for end in ends]
    return types == ["host", "host"] and all(":" in address for address in addresses)


def main():
    expect, _, needed_text = sys.argv[1].partition(":")
    if expect == "table":
        return table(sys.argv[2:])
    peers = [argument.split("=", 1) for argument in sys.argv[2:]]
    results = {label: result_of(log) for label, log in peers}
    names = {str(result["id"]): label for label, result in results.items() if result}
    good = True
    relayed_links = 0
    for label, log in peers:
        result = results[label]
        if result is None and expect == "takeover" and label == needed_text.split(",")[2]:
            print("    %s: printed no result (it left)" % label)
            continue
        if result is None:
            print("    %s: printed no result; its log ends with:" % label)
            for line in tail(log):
                print("      | %s" % line)
            good = False
            continue
        print("    %s (peer %s, %s): %s after %.1f s%s" % (
            label, result["id"], result["mode"], "ok" if result["ok"] else "not ok",
            result["elapsed_ms"] / 1000.0, ", timed out" if result["timed_out"] else ""))
        for other, link in sorted(result["links"].items()):
            enet_server = result["mode"] == "enet" and result["id"] == 1
            name = names.get(other, "peer " + other)
            print("      <-> %s: %s" % (name, describe_link(link, enet_server)))
            connected = link["connect_ms"] >= 0 or link["received"] > 0
            if expect == "connected" and needed_text in ("direct", "relay"):
                path = link.get("path", {})
                relayed = "relay" in path.get("local", "") + path.get("remote", "")
                if not path or relayed != (needed_text == "relay"):
                    print("        not a %s path" % needed_text)
                    good = False
            if expect == "connected" and needed_text == "ipv6" and not ipv6_host_path(link.get("path", {})):
                print("        not an IPv6 path between host candidates")
                good = False
            if expect == "connected" and needed_text == "mesh":
                path = link.get("path", {})
                if path.get("via") == "relayed":
                    relayed_links += 1
                if not 0 <= link["connect_ms"] <= 10000:
                    print("        not connected within 10 s")
                    good = False
            if expect == "failed" and (connected or link["failed_ms"] < 0):
                good = False
            if expect == "lost":
                if link["connect_ms"] < 0 or not link.get("left_unix_ms"):
                    print("        not connected and then reported gone")
                    good = False
                else:
                    print("        peer_disconnected %d ms after the path was cut"
                          % (link["left_unix_ms"] - int(needed_text)))
        for error in result["errors"]:
            print("      error: %s" % (error if len(error) < 300 else error[:300] + "..."))
        if expect == "connected" and not result["ok"]:
            good = False
        if expect == "failed" and not result["links"]:
            good = False
        if expect == "failed" and needed_text and not any(needed_text in error for error in result["errors"]):
            print("      no error says \"%s\"" % needed_text)
            good = False
    if expect == "cut":
        good = judge_cut(results, needed_text) and good
    if expect == "takeover":
        good = judge_takeover(results, needed_text) and good
    if expect == "connected" and needed_text == "mesh" and relayed_links == 0:
        print("    no link was relayed through a mesh member")
        good = False
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
