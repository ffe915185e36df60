//! What the edge repairs read of a STUN datagram, without the agent: its type, transaction and
//! the attributes they judge by. Any bytes may come here; anything not STUN reads as nothing.

use rtc_stun::attributes::{ATTR_USERNAME, ATTR_USE_CANDIDATE};
use rtc_stun::message::{Message, BINDING_REQUEST, BINDING_SUCCESS, CLASS_INDICATION};

/// A STUN transaction id.
pub(super) type TransactionId = [u8; 12];

/// Decodes a STUN message; `None` for anything else.
pub(super) fn decode(datagram: &[u8]) -> Option<Message> {
    let mut message = Message { raw: datagram.to_vec(), ..Message::default() };
    message.decode().ok()?;
    Some(message)
}

/// A binding request addressed to our username fragment (its USERNAME is `<ours>:<theirs>`):
/// its transaction and whether it nominates (USE-CANDIDATE).
pub(super) fn check_for(datagram: &[u8], local_ufrag: &str) -> Option<(TransactionId, bool)> {
    let message = decode(datagram)?;
    if message.typ != BINDING_REQUEST {
        return None;
    }
    let username = message.get(ATTR_USERNAME).ok()?;
    let addressed = username.strip_prefix(local_ufrag.as_bytes()).is_some_and(|rest| rest.first() == Some(&b':'));
    addressed.then_some((message.transaction_id.0, message.contains(ATTR_USE_CANDIDATE)))
}

/// The transaction of a binding request, whoever it is addressed to.
pub(super) fn request_transaction(datagram: &[u8]) -> Option<TransactionId> {
    let message = decode(datagram)?;
    (message.typ == BINDING_REQUEST).then_some(message.transaction_id.0)
}

/// Whether the datagram is a STUN indication (of any method). Indications carry no integrity a
/// peer must prove (RFC 8445 §11 keepalives), yet `rtc-ice` 0.21.1 counts one from a known
/// address as hearing from the peer: forged ones would keep a gone peer's consent alive.
pub(super) fn is_indication(datagram: &[u8]) -> bool {
    decode(datagram).is_some_and(|message| message.typ.class == CLASS_INDICATION)
}

/// The transaction of a binding success response.
pub(super) fn success_transaction(datagram: &[u8]) -> Option<TransactionId> {
    let message = decode(datagram)?;
    (message.typ == BINDING_SUCCESS).then_some(message.transaction_id.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_reads_as_nothing() {
        for bytes in [
            &[][..],
            &[0, 1],
            &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42],
            &[1, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[0xff; 64],
        ] {
            assert!(check_for(bytes, "ufrag").is_none());
            assert!(request_transaction(bytes).is_none());
            assert!(!is_indication(bytes));
            if bytes.len() < 20 {
                assert!(success_transaction(bytes).is_none());
            }
        }
    }

    #[test]
    fn a_binding_indication_reads_as_one_and_a_request_does_not() {
        let mut indication = vec![0x00, 0x11, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        indication.extend_from_slice(&[7; 12]);
        assert!(is_indication(&indication));
        let mut request = indication.clone();
        request[1] = 0x01;
        assert!(!is_indication(&request));
    }
}
