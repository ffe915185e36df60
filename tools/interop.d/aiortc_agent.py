"""The interop suite's foreign peer on aiortc: the same commands and events as foreign_agent.mjs,
as JSON lines on stdin (commands) and stdout (events), for the harness to relay. Times are wall
clock milliseconds, the clock the Godot agent reads. aiortc does not trickle: its candidates travel
inside the description."""

import asyncio
import json
import logging
import os
import struct
import sys
import time

import aiortc
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

# Godot's negotiated channels: id 1 reliable, id 2 ordered unreliable, id 3 unordered unreliable.
GODOT_CHANNELS = [
    ("reliable", 1, True, None),
    ("ordered", 2, True, 1),
    ("unreliable", 3, False, 1),
]


def now_ms() -> int:
    return int(time.time() * 1000)


def post(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Agent:
    """One foreign peer connection at a time, driven by the Godot agent's commands."""

    def __init__(self) -> None:
        self.pc = None
        self.channels = []

    def wire(self, channel) -> None:
        @channel.on("open")
        def on_open() -> None:
            channel.send(("H%d" % channel.id).encode())
            if all(c.readyState == "open" for c in self.channels):
                # aiortc keeps the limit our description announced privately (it has no
                # RTCSctpTransport.maxMessageSize); 0 means unknown.
                limit = getattr(self.pc.sctp, "_remote_max_message_size", 0) or 0
                post({"t": "open", "at": now_ms(), "maxMessageSize": limit})

        # An exception in a handler would otherwise close aiortc's DTLS transport silently.
        @channel.on("error")
        def on_error(error) -> None:
            post({"t": "error", "error": "channel %d: %r" % (channel.id, error)})

        @channel.on("message")
        def on_message(message) -> None:
            if isinstance(message, bytes) and message[:1] == b"E":
                channel.send(message)

        @channel.on("close")
        def on_close() -> None:
            post({"t": "channel_closed", "id": channel.id, "at": now_ms()})

    async def start(self, role: str) -> None:
        # No ICE servers: aiortc's default is a public STUN server, which the suite must not reach
        # (and, unreachable, it holds every description back for aioice's 5 s gathering timeout).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        self.channels = [
            pc.createDataChannel(label, negotiated=True, id=ident, ordered=ordered, maxPacketLifeTime=lifetime)
            for label, ident, ordered, lifetime in GODOT_CHANNELS
        ]
        for channel in self.channels:
            self.wire(channel)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            post({"t": "state", "state": pc.connectionState, "at": now_ms()})

        if role == "offer":
            at = now_ms()
            await pc.setLocalDescription(await pc.createOffer())
            post({"t": "desc", "type": "offer", "sdp": pc.localDescription.sdp, "at": at})

    async def describe(self, kind: str, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        if kind == "offer":
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            post({"t": "desc", "type": "answer", "sdp": self.pc.localDescription.sdp})

    async def candidate(self, command: dict) -> None:
        text = command["candidate"]
        if text.startswith("candidate:"):
            text = text[len("candidate:"):]
        candidate = candidate_from_sdp(text)
        candidate.sdpMid = command.get("sdpMid")
        candidate.sdpMLineIndex = command.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    def burst(self, ident: int, count: int, size: int) -> None:
        channel = next(c for c in self.channels if c.id == ident)
        padding = bytes(max(size, 5) - 5)
        for index in range(count):
            channel.send(b"B" + struct.pack(">I", index) + padding)
        post({"t": "burst_sent", "at": now_ms()})

    async def close(self) -> None:
        at = now_ms()
        await self.pc.close()
        post({"t": "closed_locally", "at": at})

    async def handle(self, command: dict) -> None:
        try:
            kind = command["t"]
            if kind == "start":
                await self.start(command["role"])
            elif kind == "desc":
                await self.describe(command["type"], command["sdp"])
            elif kind == "cand":
                await self.candidate(command)
            elif kind == "burst":
                self.burst(command["id"], command["count"], command["size"])
            elif kind == "close":
                await self.close()
            else:
                post({"t": "error", "error": "unknown command %s" % kind})
        except Exception as err:  # reported to the Godot agent, which fails the check
            post({"t": "error", "error": "%s: %r" % (command.get("t"), err)})


async def main() -> None:
    if os.environ.get("INTEROP_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(relativeCreated)d %(name)s %(message)s")
    post({"t": "version", "version": aiortc.__version__})
    agent = Agent()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        if line.strip():
            await agent.handle(json.loads(line))


if __name__ == "__main__":
    asyncio.run(main())
