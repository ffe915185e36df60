#!/usr/bin/env python3
"""A tiny TURN client (RFC 5766 Allocate over UDP, long-term credentials) for tools/netlab's
TURN REST checks: does the TURN server accept these credentials?

    turn_probe.py --expect success|401 [--bind ADDRESS] SERVER:PORT USERNAME PASSWORD
    turn_probe.py --expect success|401 [--bind ADDRESS] --rest SECRET --expires-in SECONDS \\
        [--refresh-after SECONDS] [--peer ADDRESS=success|403 ...] SERVER:PORT LABEL

Sends an Allocate request without credentials (the server answers 401 with its realm and nonce),
then one signed with USERNAME and PASSWORD (MESSAGE-INTEGRITY, key MD5(username:realm:password)),
up to 3 tries of 500 ms each, prints the answer ("success" or the error code and reason), frees
a granted allocation (Refresh, lifetime 0), and exits 0 when the answer is the expected one.
With --rest it makes TURN REST credentials itself, independently of the signaling server:
username "<now + SECONDS>:LABEL" (SECONDS may be negative: an expired one), password
base64(HMAC-SHA1(SECRET, username)). With --refresh-after, a granted allocation is refreshed
(lifetime 600 s) that many seconds later and the answer printed: whether the TURN server still
honours credentials that expired meanwhile on an allocation made before (not judged). With
--peer (repeatable), a granted allocation asks for a permission to relay to each IPv4 ADDRESS
(CreatePermission, RFC 5766 9) and prints the answer; the exit code is 0 only if every answer is
the expected one too ("403": the server refuses to relay there, its denied-peer-ip).
"""
import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time
import zlib

MAGIC_COOKIE = 0x2112A442
ALLOCATE_REQUEST = 0x0003
ALLOCATE_SUCCESS = 0x0103
ALLOCATE_ERROR = 0x0113
REFRESH_REQUEST = 0x0004
REFRESH_SUCCESS = 0x0104
CREATE_PERMISSION_REQUEST = 0x0008
CREATE_PERMISSION_SUCCESS = 0x0108
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
REALM = 0x0014
NONCE = 0x0015
REQUESTED_TRANSPORT = 0x0019
FINGERPRINT = 0x8028
UDP = 17


def attribute(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def message(kind, transaction, attributes, key=None):
    """A STUN message; with `key`, signed with MESSAGE-INTEGRITY and closed by a FINGERPRINT."""
    body = b"".join(attributes)
    if key is not None:
        head = struct.pack("!HHI", kind, len(body) + 24, MAGIC_COOKIE) + transaction
        body += attribute(MESSAGE_INTEGRITY, hmac.new(key, head + body, hashlib.sha1).digest())
    head = struct.pack("!HHI", kind, len(body) + 8, MAGIC_COOKIE) + transaction
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += attribute(FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", kind, len(body), MAGIC_COOKIE) + transaction + body


def parse(response, transaction):
    """(message type, {attribute: value}) of a response to `transaction`, else None."""
    if len(response) < 20:
        return None
    kind, length, cookie = struct.unpack("!HHI", response[:8])
    if cookie != MAGIC_COOKIE or response[8:20] != transaction:
        return None
    attributes = {}
    at = 20
    while at + 4 <= 20 + length and at + 4 <= len(response):
        attr, size = struct.unpack("!HH", response[at:at + 4])
        attributes.setdefault(attr, response[at + 4:at + 4 + size])
        at += 4 + size + (-size % 4)
    return kind, attributes


def xor_peer_address(ip):
    """An XOR-PEER-ADDRESS attribute for IPv4 address `ip` (port 9, which no data reaches)."""
    port = 9 ^ (MAGIC_COOKIE >> 16)
    address = bytes(a ^ b for a, b in zip(socket.inet_aton(ip), struct.pack("!I", MAGIC_COOKIE)))
    return attribute(XOR_PEER_ADDRESS, struct.pack("!BBH", 0, 1, port) + address)


def exchange(sock, server, kind, attributes, key=None):
    """Sends a request, up to 3 times; the parsed answer, or None."""
    transaction = os.urandom(12)
    request = message(kind, transaction, attributes, key)
    for _ in range(3):
        sock.sendto(request, server)
        sock.settimeout(0.5)
        try:
            while True:
                data, _ = sock.recvfrom(2048)
                answer = parse(data, transaction)
                if answer is not None:
                    return answer
        except socket.timeout:
            continue
    return None


def error_of(attributes):
    value = attributes.get(ERROR_CODE, b"")
    if len(value) < 4:
        return "error (no code)"
    code = (value[2] & 0x7) * 100 + value[3]
    return f"{code} {value[4:].decode(errors='replace')}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expect", required=True, choices=["success", "401"])
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--rest", metavar="SECRET", help="make TURN REST credentials with this secret")
    parser.add_argument("--expires-in", type=int, default=600, metavar="SECONDS")
    parser.add_argument("--refresh-after", type=float, metavar="SECONDS")
    parser.add_argument("--peer", action="append", default=[], metavar="ADDRESS=success|403",
                        help="ask for a permission to relay to ADDRESS, expecting this answer")
    parser.add_argument("server")
    parser.add_argument("username", help="the username, or with --rest the label")
    parser.add_argument("password", nargs="?", default="")
    args = parser.parse_args()
    username, password = args.username, args.password
    if args.rest is not None:
        username = f"{int(time.time()) + args.expires_in}:{args.username}"
        password = base64.b64encode(hmac.new(args.rest.encode(), username.encode(), hashlib.sha1).digest()).decode()
    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 0))
    transport = attribute(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))
    first = exchange(sock, server, ALLOCATE_REQUEST, [transport])
    if first is None or REALM not in first[1] or NONCE not in first[1]:
        print(f"  {args.server}: no 401 with a realm and nonce to an unsigned Allocate")
        return 1
    realm, nonce = first[1][REALM], first[1][NONCE]
    key = hashlib.md5(username.encode() + b":" + realm + b":" + password.encode()).digest()
    signed = [transport, attribute(USERNAME, username.encode()), attribute(REALM, realm), attribute(NONCE, nonce)]
    answer = exchange(sock, server, ALLOCATE_REQUEST, signed, key)
    if answer is None:
        print(f"  {args.server}: no answer to the signed Allocate")
        return 1
    peers_as_expected = not args.peer or args.expect == "success"
    if answer[0] == ALLOCATE_SUCCESS:
        outcome = "success"
        if args.refresh_after is not None:
            time.sleep(args.refresh_after)
            expired_for = int(time.time()) - int(username.split(":", 1)[0])
            keep = attribute(LIFETIME, struct.pack("!I", 600))
            refreshed = exchange(sock, server, REFRESH_REQUEST, [keep] + signed[1:], key)
            verdict = "no answer" if refreshed is None else (
                "success" if refreshed[0] == REFRESH_SUCCESS else error_of(refreshed[1]))
            print(f"  Refresh of that allocation {args.refresh_after:g} s later, the credential expired"
                  f" {expired_for} s before: {verdict}")
        for peer in args.peer:
            address, expected = peer.split("=", 1)
            permitted = exchange(sock, server, CREATE_PERMISSION_REQUEST, [xor_peer_address(address)] + signed[1:], key)
            verdict = "no answer" if permitted is None else (
                "success" if permitted[0] == CREATE_PERMISSION_SUCCESS else error_of(permitted[1]))
            print(f"  CreatePermission to {address}: {verdict} (expected {expected})")
            if verdict.split(" ")[0] != expected:
                peers_as_expected = False
        lifetime = attribute(LIFETIME, struct.pack("!I", 0))
        exchange(sock, server, REFRESH_REQUEST, [lifetime] + signed[1:], key)
    else:
        outcome = error_of(answer[1])
    print(f"  Allocate as {username!r}: {outcome}")
    return 0 if outcome.split(" ")[0] == args.expect and peers_as_expected else 1


if __name__ == "__main__":
    sys.exit(main())
