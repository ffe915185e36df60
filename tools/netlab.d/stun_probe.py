#!/usr/bin/env python3
"""A tiny STUN client (RFC 5389 Binding requests) for tools/netlab's NAT check.

    stun_probe.py --expect same|different [--bind ADDRESS] SERVER:PORT SERVER:PORT

Sends one Binding request from ONE local UDP socket to each server in turn (up to 3 tries of
500 ms each), prints the mapped address each server saw, and exits 0 when the two mapped ports
are equal (--expect same: endpoint-independent mapping, a cone NAT) or differ (--expect
different: a new mapping per destination, a symmetric NAT). Exits 1 otherwise or on no answer.
"""
import argparse
import os
import socket
import struct
import sys

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
MAPPED_ADDRESS = 0x0001
XOR_MAPPED_ADDRESS = 0x0020


def parse_endpoint(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def mapped_address(response, transaction):
    """The (ip, port) of the response's XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS), else None."""
    if len(response) < 20:
        return None
    kind, length, cookie = struct.unpack("!HHI", response[:8])
    if kind != BINDING_SUCCESS or cookie != MAGIC_COOKIE or response[8:20] != transaction:
        return None
    found = None
    at = 20
    while at + 4 <= 20 + length and at + 4 <= len(response):
        attr, size = struct.unpack("!HH", response[at:at + 4])
        value = response[at + 4:at + 4 + size]
        if attr in (XOR_MAPPED_ADDRESS, MAPPED_ADDRESS) and len(value) >= 8 and value[1] == 1:
            port = struct.unpack("!H", value[2:4])[0]
            address = struct.unpack("!I", value[4:8])[0]
            if attr == XOR_MAPPED_ADDRESS:
                port ^= MAGIC_COOKIE >> 16
                address ^= MAGIC_COOKIE
            found = (socket.inet_ntoa(struct.pack("!I", address)), port)
            if attr == XOR_MAPPED_ADDRESS:
                return found
        at += 4 + size + (-size % 4)
    return found


def binding(sock, server):
    """Asks `server` for our mapped address through `sock`; None when it never answers."""
    for _ in range(3):
        transaction = os.urandom(12)
        sock.sendto(struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC_COOKIE) + transaction, server)
        sock.settimeout(0.5)
        try:
            while True:
                response, source = sock.recvfrom(2048)
                if source == server:
                    found = mapped_address(response, transaction)
                    if found:
                        return found
        except socket.timeout:
            continue
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", choices=["same", "different"], required=True)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("servers", nargs=2, type=parse_endpoint)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 0))
    local = "%s:%d" % sock.getsockname()
    ports = []
    for server in args.servers:
        found = binding(sock, server)
        if not found:
            print("  from %s to %s:%d: no answer" % (local, *server))
            return 1
        print("  from %s to %s:%d: mapped to %s:%d" % (local, *server, *found))
        ports.append(found[1])
    same = ports[0] == ports[1]
    print("  mapped ports %s (%s)" % ("equal" if same else "differ",
                                      "endpoint-independent: cone" if same else "per destination: symmetric"))
    return 0 if same == (args.expect == "same") else 1


if __name__ == "__main__":
    sys.exit(main())
