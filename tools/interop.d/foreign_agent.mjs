// The foreign peer of the interop suite, written against the W3C WebRTC API so that one file runs in
// Chromium (the browser's own RTCPeerConnection) and in Node (node-datachannel's polyfill, i.e.
// libdatachannel). The Godot agent (godot-project/interop/agent.gd) drives it through the harness
// relay with JSON commands; it answers with JSON events carrying wall-clock times (Date.now(), the
// same clock the Godot agent reads). Its channels are Godot's three negotiated ones.
//
// Data on the channels: a message starting with "E" is echoed back as is on the same channel; on
// open it sends "H<id>" once on each channel; "burst" sends numbered "B" messages.

/** Godot's negotiated channels: id 1 reliable, id 2 ordered unreliable, id 3 unordered unreliable. */
export const GODOT_CHANNELS = [
  { label: 'reliable', id: 1, ordered: true },
  { label: 'ordered', id: 2, ordered: true, maxPacketLifeTime: 1 },
  { label: 'unreliable', id: 3, ordered: false, maxPacketLifeTime: 1 },
];

const E = 'E'.charCodeAt(0);

/**
 * Returns a handler for the commands of the Godot agent.
 * @param {typeof RTCPeerConnection} PeerConnection the implementation under test
 * @param {(event: object) => void} post sends an event to the Godot agent
 */
export function createForeignAgent(PeerConnection, post) {
  let pc = null;
  let channels = [];

  function bytesOf(data) {
    if (typeof data === 'string') return null;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return null;
  }

  function wire(channel) {
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      channel.send(new TextEncoder().encode('H' + channel.id));
      if (channels.every((c) => c.readyState === 'open')) {
        post({ t: 'open', at: Date.now(), maxMessageSize: pc.sctp ? pc.sctp.maxMessageSize : 0 });
      }
    };
    channel.onmessage = (event) => {
      const bytes = bytesOf(event.data);
      if (bytes && bytes.length > 0 && bytes[0] === E) channel.send(bytes);
    };
    channel.onclose = () => post({ t: 'channel_closed', id: channel.id, at: Date.now() });
    channel.onerror = (event) => post({ t: 'channel_error', id: channel.id, error: String(event.error || event) });
  }

  async function start(role) {
    const current = new PeerConnection({ iceServers: [] });
    pc = current;
    channels = GODOT_CHANNELS.map(({ label, ...init }) => current.createDataChannel(label, { negotiated: true, ...init }));
    channels.forEach(wire);
    current.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) {
        const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
        post({ t: 'cand', candidate, sdpMid, sdpMLineIndex });
      }
    };
    current.onconnectionstatechange = () => post({ t: 'state', state: current.connectionState, at: Date.now() });
    if (role === 'offer') {
      const at = Date.now();
      await current.setLocalDescription(await current.createOffer());
      post({ t: 'desc', type: 'offer', sdp: current.localDescription.sdp, at });
    }
  }

  async function describe(type, sdp) {
    await pc.setRemoteDescription({ type, sdp });
    if (type === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      post({ t: 'desc', type: 'answer', sdp: pc.localDescription.sdp });
    }
  }

  function burst(id, count, size) {
    const channel = channels.find((c) => c.id === id);
    for (let i = 0; i < count; i++) {
      const message = new Uint8Array(Math.max(size, 5));
      message[0] = 'B'.charCodeAt(0);
      new DataView(message.buffer).setUint32(1, i);
      channel.send(message);
    }
    post({ t: 'burst_sent', at: Date.now() });
  }

  function close() {
    const at = Date.now();
    pc.close();
    post({ t: 'closed_locally', at });
  }

  return async function handle(command) {
    try {
      switch (command.t) {
        case 'start': return await start(command.role);
        case 'desc': return await describe(command.type, command.sdp);
        case 'cand':
          return await pc.addIceCandidate({
            candidate: command.candidate, sdpMid: command.sdpMid, sdpMLineIndex: command.sdpMLineIndex,
          });
        case 'burst': return burst(command.id, command.count, command.size);
        case 'close': return close();
        default: return post({ t: 'error', error: `unknown command ${command.t}` });
      }
    } catch (err) {
      post({ t: 'error', error: `${command.t}: ${err && err.stack ? err.stack : err}` });
    }
  };
}
