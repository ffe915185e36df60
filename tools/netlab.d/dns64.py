#!/usr/bin/env python3
"""The lab's DNS64 resolver, as far as NAT64 discovery needs one (RFC 7050): answers the
AAAA query for ipv4only.arpa with the name's two IPv4 addresses (192.0.0.170, 192.0.0.171)
under the NAT64 prefix, the A query with the addresses themselves, and every other query
with no records (NXDOMAIN).

    dns64.py --bind ADDRESS --prefix 64:ff9b::

Serves UDP on port 53 of ADDRESS (IPv6) until killed; malformed queries are ignored.
"""
import argparse
import ipaddress
import socket
import struct

NAME = "ipv4only.arpa"
IPV4ONLY = [ipaddress.IPv4Address("192.0.0.170"), ipaddress.IPv4Address("192.0.0.171")]
TYPE_A, TYPE_AAAA, CLASS_IN = 1, 28, 1


def question(query):
    """The query's id, name (lower case), type and the question's bytes, or None."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    labels, at = [], 12
    while at < len(query) and query[at] != 0:
        length = query[at]
        if length > 63 or at + 1 + length > len(query):
            return None
        labels.append(query[at + 1:at + 1 + length].decode("ascii", "replace").lower())
        at += 1 + length
    if at + 5 > len(query):
        return None
    qtype, qclass = struct.unpack("!HH", query[at + 1:at + 5])
    return ident, ".".join(labels), qtype, qclass, query[12:at + 5]


def answer(query, prefix):
    parsed = question(query)
    if parsed is None:
        return None
    ident, name, qtype, qclass, asked = parsed
    records = []
    if name == NAME and qclass == CLASS_IN and qtype == TYPE_A:
        records = [(TYPE_A, address.packed) for address in IPV4ONLY]
    elif name == NAME and qclass == CLASS_IN and qtype == TYPE_AAAA:
        records = [(TYPE_AAAA, (ipaddress.IPv6Address(int(prefix) | int(address))).packed) for address in IPV4ONLY]
    rcode = 0 if name == NAME else 3
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(records), 0, 0)
    body = b"".join(struct.pack("!HHHIH", 0xC00C, kind, CLASS_IN, 60, len(data)) + data for kind, data in records)
    return header + asked + body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--prefix", default="64:ff9b::")
    options = parser.parse_args()
    prefix = ipaddress.IPv6Address(options.prefix)
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.bind((options.bind, 53))
    print("dns64 on [%s]:53, prefix %s/96" % (options.bind, prefix), flush=True)
    while True:
        query, sender = server.recvfrom(512)
        reply = answer(query, prefix)
        if reply is not None:
            server.sendto(reply, sender)


if __name__ == "__main__":
    main()
