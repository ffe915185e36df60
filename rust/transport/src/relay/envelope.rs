//! The relay channel's one message, the envelope: a fixed header (version, kind, peer id) and a
//! bounded payload. A DATA envelope carries one DTLS datagram of another member's connection,
//! in one of two directions told apart by its kind: TO (from its sender to the relay: "to C")
//! and FROM (from the relay to its receiver: "from A"), so that a member relaying for some pairs
//! and relayed for by others never mistakes one for the other; a REACH envelope lists the members
//! its sender can relay to; a RESTART envelope carries an ICE restart's offer or answer between
//! the two ends of a connection (never forwarded: see [`super::ice_restart`]). Parsing takes any bytes and never panics:
//! what is not a valid envelope is `None`, and the caller drops and counts it.

use bytes::{BufMut, Bytes, BytesMut};

/// The envelope format's version; an envelope of another version is dropped.
pub const ENVELOPE_VERSION: u8 = 1;

/// Header bytes: version (1), kind (1), peer id (4, big-endian).
pub const ENVELOPE_HEADER_LEN: usize = 6;

/// Largest datagram a DATA envelope carries: a DTLS record of a connection whose SCTP packets
/// are at most 1200 bytes takes about 1240; 1500 leaves room for the handshake's flights.
pub const MAX_RELAYED_DATAGRAM: usize = 1500;

/// Longest envelope that one DATA chunk of the relay channel carries whole: its association's
/// packet (`connection::ice_dtls::RELAY_CHANNEL_MTU`, 1200) less the common header (12) and the
/// DATA chunk header (16). A relayed connection keeps its SCTP packets to
/// `connection::ice_dtls::RELAYED_SCTP_MTU` so that its datagrams' envelopes fit.
pub const MAX_UNSPLIT_ENVELOPE: usize = connection::ice_dtls::RELAY_CHANNEL_MTU - 12 - 16;

/// Most member ids a REACH envelope lists (a member announces at most this many).
pub const MAX_REACH_IDS: usize = 64;

/// Largest envelope of either kind.
pub const MAX_ENVELOPE_LEN: usize = ENVELOPE_HEADER_LEN + MAX_RELAYED_DATAGRAM;

/// The kind byte of a DATA envelope sent to the relay ("to C").
const KIND_TO: u8 = 1;
/// The kind byte of a DATA envelope sent by the relay ("from A").
const KIND_FROM: u8 = 2;
/// The kind byte of a REACH envelope.
const KIND_REACH: u8 = 3;
/// The kind byte of a RESTART envelope.
const KIND_RESTART: u8 = 4;

/// One relay-channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// A DTLS datagram for the relay to carry to member `peer`.
    To {
        /// Where the datagram goes (a Godot peer id, 1 to 2147483647).
        peer: i32,
        /// The datagram (1 to [`MAX_RELAYED_DATAGRAM`] bytes; its first byte a DTLS content type,
        /// 20 to 63, RFC 7983).
        datagram: Bytes,
    },
    /// A DTLS datagram the relay carried from member `peer`.
    From {
        /// Where the datagram comes from (a Godot peer id, 1 to 2147483647).
        peer: i32,
        /// The datagram, bounded as in [`Envelope::To`].
        datagram: Bytes,
    },
    /// The members the sender can relay to (at most [`MAX_REACH_IDS`], no duplicates); its
    /// header's peer id is 0.
    Reach {
        /// Their peer ids (1 to 2147483647).
        members: Vec<i32>,
    },
    /// An ICE restart's offer or answer for the connection it is sent on (1 to
    /// [`MAX_RELAYED_DATAGRAM`] bytes, read by [`super::ice_restart`]); its header's peer id is 0.
    Restart {
        /// The message.
        message: Bytes,
    },
}

impl Envelope {
    /// The envelope's bytes, or `None` if it breaks a bound (an id out of range, an empty, too
    /// long or non-DTLS datagram, too many or repeated members), which [`Envelope::parse`] would
    /// refuse.
    pub fn encode(&self) -> Option<Bytes> {
        match self {
            Self::To { peer, datagram } | Self::From { peer, datagram } => {
                if !valid_id(*peer) || !valid_datagram(datagram) {
                    return None;
                }
                let kind = if matches!(self, Self::To { .. }) { KIND_TO } else { KIND_FROM };
                let mut bytes = BytesMut::with_capacity(ENVELOPE_HEADER_LEN + datagram.len());
                put_header(&mut bytes, kind, peer.unsigned_abs());
                bytes.put_slice(datagram);
                Some(bytes.freeze())
            }
            Self::Reach { members } => {
                if members.len() > MAX_REACH_IDS || !members.iter().all(|id| valid_id(*id)) || has_repeats(members) {
                    return None;
                }
                let mut bytes = BytesMut::with_capacity(ENVELOPE_HEADER_LEN + 4 * members.len());
                put_header(&mut bytes, KIND_REACH, 0);
                for member in members {
                    bytes.put_u32(member.unsigned_abs());
                }
                Some(bytes.freeze())
            }
            Self::Restart { message } => {
                if message.is_empty() || message.len() > MAX_RELAYED_DATAGRAM {
                    return None;
                }
                let mut bytes = BytesMut::with_capacity(ENVELOPE_HEADER_LEN + message.len());
                put_header(&mut bytes, KIND_RESTART, 0);
                bytes.put_slice(message);
                Some(bytes.freeze())
            }
        }
    }

    /// Reads an envelope from any bytes; `None` for anything that is not a valid one of this
    /// version (see [`Envelope`]'s bounds). A datagram shares `bytes`.
    pub fn parse(bytes: &Bytes) -> Option<Self> {
        if bytes.len() < ENVELOPE_HEADER_LEN || bytes.len() > MAX_ENVELOPE_LEN || bytes[0] != ENVELOPE_VERSION {
            return None;
        }
        let peer = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        let payload = bytes.slice(ENVELOPE_HEADER_LEN..);
        match bytes[1] {
            kind @ (KIND_TO | KIND_FROM) => {
                let peer = i32::try_from(peer).ok().filter(|id| valid_id(*id))?;
                if !valid_datagram(&payload) {
                    return None;
                }
                Some(if kind == KIND_TO {
                    Self::To { peer, datagram: payload }
                } else {
                    Self::From { peer, datagram: payload }
                })
            }
            KIND_REACH => {
                if peer != 0 || !payload.len().is_multiple_of(4) || payload.len() / 4 > MAX_REACH_IDS {
                    return None;
                }
                let members = payload
                    .chunks_exact(4)
                    .map(|id| {
                        i32::try_from(u32::from_be_bytes([id[0], id[1], id[2], id[3]])).ok().filter(|id| valid_id(*id))
                    })
                    .collect::<Option<Vec<i32>>>()?;
                (!has_repeats(&members)).then_some(Self::Reach { members })
            }
            KIND_RESTART => (peer == 0 && !payload.is_empty()).then_some(Self::Restart { message: payload }),
            _ => None,
        }
    }
}

/// Whether `id` is a peer id Godot can give (1 to 2147483647).
fn valid_id(id: i32) -> bool {
    id >= 1
}

/// Whether `datagram` may be relayed: 1 to [`MAX_RELAYED_DATAGRAM`] bytes, a DTLS record first
/// (content type 20 to 63, RFC 7983). The relay carries no STUN and nothing else.
fn valid_datagram(datagram: &[u8]) -> bool {
    datagram.len() <= MAX_RELAYED_DATAGRAM && datagram.first().is_some_and(|first| (20..=63).contains(first))
}

/// Whether a member id appears twice.
fn has_repeats(members: &[i32]) -> bool {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|pair| pair[0] == pair[1])
}

fn put_header(bytes: &mut BytesMut, kind: u8, peer: u32) {
    bytes.put_u8(ENVELOPE_VERSION);
    bytes.put_u8(kind);
    bytes.put_u32(peer);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(peer: i32, datagram: &[u8]) -> Envelope {
        Envelope::To { peer, datagram: Bytes::copy_from_slice(datagram) }
    }

    #[test]
    fn a_relayed_connections_datagram_fits_one_relay_channel_chunk() {
        use connection::ice_dtls::{DTLS_RECORD_OVERHEAD, RELAYED_SCTP_MTU, RELAY_ENVELOPE_ALLOWANCE};
        assert_eq!(ENVELOPE_HEADER_LEN, RELAY_ENVELOPE_ALLOWANCE, "the core leaves room for this header");
        assert_eq!(MAX_UNSPLIT_ENVELOPE, 1172);
        const { assert!(ENVELOPE_HEADER_LEN + DTLS_RECORD_OVERHEAD + RELAYED_SCTP_MTU <= MAX_UNSPLIT_ENVELOPE) };
    }

    #[test]
    fn data_and_reach_round_trip() {
        let record = [23u8, 254, 253, 0, 1, 2, 3];
        let envelope = data(7, &record);
        let bytes = envelope.encode().expect("valid");
        assert_eq!(&bytes[..ENVELOPE_HEADER_LEN], &[ENVELOPE_VERSION, 1, 0, 0, 0, 7]);
        assert_eq!(Envelope::parse(&bytes), Some(envelope));
        let from = Envelope::From { peer: 9, datagram: Bytes::from_static(&[63]) };
        let bytes = from.encode().expect("valid");
        assert_eq!(&bytes[..ENVELOPE_HEADER_LEN], &[ENVELOPE_VERSION, 2, 0, 0, 0, 9]);
        assert_eq!(Envelope::parse(&bytes), Some(from));
        let largest = data(i32::MAX, &[22; MAX_RELAYED_DATAGRAM]);
        assert_eq!(Envelope::parse(&largest.encode().expect("valid")), Some(largest));
        let reach = Envelope::Reach { members: (1..=MAX_REACH_IDS as i32).rev().collect() };
        let bytes = reach.encode().expect("valid");
        assert_eq!(bytes.len(), ENVELOPE_HEADER_LEN + 4 * MAX_REACH_IDS);
        assert_eq!(Envelope::parse(&bytes), Some(reach));
        let empty = Envelope::Reach { members: Vec::new() };
        assert_eq!(Envelope::parse(&empty.encode().expect("valid")), Some(empty), "an empty REACH withdraws");
    }

    #[test]
    fn restart_round_trips_within_its_bounds() {
        let restart = Envelope::Restart { message: Bytes::from_static(b"offer 1") };
        let bytes = restart.encode().expect("valid");
        assert_eq!(&bytes[..ENVELOPE_HEADER_LEN], &[ENVELOPE_VERSION, 4, 0, 0, 0, 0]);
        assert_eq!(Envelope::parse(&bytes), Some(restart));
        assert_eq!(Envelope::Restart { message: Bytes::new() }.encode(), None, "empty");
        let long = Envelope::Restart { message: Bytes::from(vec![b'x'; MAX_RELAYED_DATAGRAM + 1]) };
        assert_eq!(long.encode(), None, "too long");
        assert_eq!(Envelope::parse(&Bytes::from_static(&[ENVELOPE_VERSION, 4, 0, 0, 0, 0])), None, "no message");
    }

    #[test]
    fn out_of_bounds_envelopes_are_not_encoded() {
        assert_eq!(data(0, &[23]).encode(), None, "id 0");
        assert_eq!(data(-3, &[23]).encode(), None, "negative id");
        assert_eq!(data(2, &[]).encode(), None, "empty datagram");
        assert_eq!(data(2, &[0, 1]).encode(), None, "STUN is not relayed");
        assert_eq!(data(2, &[64]).encode(), None, "neither is anything past DTLS's range");
        assert_eq!(data(2, &[23; MAX_RELAYED_DATAGRAM + 1]).encode(), None, "too long");
        let many = Envelope::Reach { members: (1..=MAX_REACH_IDS as i32 + 1).collect() };
        assert_eq!(many.encode(), None);
        assert_eq!(Envelope::Reach { members: vec![4, 2, 4] }.encode(), None);
        assert_eq!(Envelope::Reach { members: vec![0] }.encode(), None);
    }

    #[test]
    fn each_malformed_header_is_refused() {
        let good = data(7, &[23, 1, 2]).encode().expect("valid").to_vec();
        let with = |change: fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            change(&mut bytes);
            Envelope::parse(&Bytes::from(bytes))
        };
        assert!(with(|_| {}).is_some());
        assert_eq!(with(|bytes| bytes[0] = 2), None, "another version");
        assert_eq!(with(|bytes| bytes[0] = 0), None, "version 0");
        assert_eq!(with(|bytes| bytes[1] = 0), None, "unknown kind");
        assert_eq!(with(|bytes| bytes[1] = 5), None, "unknown kind");
        assert_eq!(with(|bytes| bytes[1] = 4), None, "a RESTART with a peer id");
        assert_eq!(with(|bytes| bytes[1] = 3), None, "a REACH with a peer id");
        assert_eq!(with(|bytes| bytes[2] = 0x80), None, "id past i32");
        assert_eq!(with(|bytes| bytes[5] = 0), None, "id 0");
        assert_eq!(with(|bytes| bytes.truncate(ENVELOPE_HEADER_LEN)), None, "no datagram");
        assert_eq!(with(|bytes| bytes.truncate(3)), None, "short header");
        assert_eq!(with(|bytes| bytes[6] = 1), None, "STUN inside");
        assert_eq!(with(|bytes| bytes.resize(MAX_ENVELOPE_LEN + 1, 0)), None, "too long");
        // REACH: a nonzero peer id, a ragged list, a repeated or invalid member.
        let reach = |tail: &[u8], peer: u8| {
            let mut bytes = vec![ENVELOPE_VERSION, 3, 0, 0, 0, peer];
            bytes.extend_from_slice(tail);
            Envelope::parse(&Bytes::from(bytes))
        };
        assert_eq!(reach(&[0, 0, 0, 5], 0), Some(Envelope::Reach { members: vec![5] }));
        assert_eq!(reach(&[0, 0, 0, 5], 1), None);
        assert_eq!(reach(&[0, 0, 5], 0), None);
        assert_eq!(reach(&[0, 0, 0, 5, 0, 0, 0, 5], 0), None);
        assert_eq!(reach(&[0, 0, 0, 0], 0), None);
        assert_eq!(reach(&[0xff, 0xff, 0xff, 0xff], 0), None);
        assert_eq!(reach(&vec![1; 4 * (MAX_REACH_IDS + 1)], 0), None, "too many members");
    }

    /// A small generator of garbage (xorshift), seeded so that a failure repeats.
    struct Garbage(u64);

    impl Garbage {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn bytes(&mut self, most: usize) -> Vec<u8> {
            let len = (self.next() as usize) % (most + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    #[test]
    fn garbage_never_panics_and_what_parses_encodes_back_the_same() {
        let mut garbage = Garbage(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for round in 0..200_000 {
            let mut bytes = garbage.bytes(2 * MAX_ENVELOPE_LEN);
            // Half the rounds keep a valid version and kind, so the payload checks run too.
            if round % 2 == 0 && bytes.len() >= 2 {
                bytes[0] = ENVELOPE_VERSION;
                bytes[1] = 1 + (round / 2 % 4) as u8;
                if bytes.len() >= ENVELOPE_HEADER_LEN && round % 4 == 0 {
                    bytes[2] &= 0x7f;
                }
            }
            let bytes = Bytes::from(bytes);
            if let Some(envelope) = Envelope::parse(&bytes) {
                parsed += 1;
                assert_eq!(envelope.encode().as_ref(), Some(&bytes), "round {round}");
            }
        }
        assert!(parsed > 0, "some garbage is a valid envelope, so the checks past the header ran");
    }

    #[test]
    fn every_truncation_of_a_valid_envelope_is_handled() {
        let full = data(123_456, &[23; 300]).encode().expect("valid");
        for len in 0..full.len() {
            let cut = full.slice(..len);
            let parsed = Envelope::parse(&cut);
            assert_eq!(parsed.is_some(), len > ENVELOPE_HEADER_LEN, "length {len}");
        }
    }
}
