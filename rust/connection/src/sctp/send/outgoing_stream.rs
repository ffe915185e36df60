//! One outgoing stream's queue: its messages in order, cut into fragments as they are taken, and
//! its stream sequence number.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::super::StreamId;
use super::fragment::{Fragment, MessageId};

/// A message waiting in its stream's queue, maybe partly cut into fragments already.
#[derive(Clone, Debug)]
pub(super) struct QueuedMessage {
    /// Its number on the association.
    pub(super) id: MessageId,
    /// Its payload protocol identifier.
    pub(super) ppid: u32,
    /// Its bytes.
    pub(super) data: Bytes,
    /// Whether it is delivered outside the stream's order.
    pub(super) unordered: bool,
    /// When it is abandoned (its lifetime's end).
    pub(super) expires_at: Option<Instant>,
    /// When it is dropped if it has not started by then: its lifetime's end, or for a message
    /// with a retransmission limit, when it went stale in the queue (see `send_queue`).
    pub(super) queue_deadline: Option<Instant>,
    /// How many times each fragment may be retransmitted.
    pub(super) max_retransmits: Option<u16>,
}

/// The front message's progress: how much is already cut, and the SSN it was given with its first
/// fragment.
#[derive(Clone, Copy, Debug)]
struct Progress {
    sent: usize,
    ssn: u16,
}

/// One stream's outgoing messages.
#[derive(Debug, Default)]
pub(super) struct OutgoingStream {
    messages: VecDeque<QueuedMessage>,
    /// Set when the front message has given its first fragment.
    front: Option<Progress>,
    next_ssn: u16,
    buffered: usize,
    resetting: bool,
    /// The scheduler's start tag: the virtual time (bytes) at which its front message's turn
    /// comes (see `send_queue`).
    tag: u64,
}

impl OutgoingStream {
    /// Queues a message at the back.
    pub(super) fn push(&mut self, message: QueuedMessage) {
        self.buffered += message.data.len();
        self.messages.push_back(message);
    }

    /// Bytes of its messages not yet cut into fragments.
    pub(super) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether no message waits.
    pub(super) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The front message, when it has given fragments already: its next fragments must follow
    /// at once (DATA chunks of one message take consecutive TSNs).
    pub(super) fn started_message(&self) -> Option<MessageId> {
        self.front.and(self.messages.front()).map(|message| message.id)
    }

    /// When the front message is dropped if it has not started by then.
    pub(super) fn front_queue_deadline(&self) -> Option<Instant> {
        self.messages.front().and_then(|message| message.queue_deadline)
    }

    /// The scheduler's start tag for this stream.
    pub(super) fn tag(&self) -> u64 {
        self.tag
    }

    /// Sets the scheduler's start tag.
    pub(super) fn set_tag(&mut self, tag: u64) {
        self.tag = tag;
    }

    /// Whether the stream is being reset: it takes no new message.
    pub(super) fn is_resetting(&self) -> bool {
        self.resetting
    }

    /// Marks the stream as being reset (or not).
    pub(super) fn set_resetting(&mut self, resetting: bool) {
        self.resetting = resetting;
    }

    /// Starts the stream's sequence numbers again at 0 (RFC 6525 outgoing reset).
    pub(super) fn reset_ssn(&mut self) {
        self.next_ssn = 0;
    }

    /// Whether the stream holds nothing worth keeping: no message, SSN at 0, not resetting.
    pub(super) fn is_pristine(&self) -> bool {
        self.messages.is_empty() && self.next_ssn == 0 && !self.resetting
    }

    /// Cuts the next fragment of at most `max_payload` bytes from the front message. Refuses
    /// (None) when the message's rest does not fit and `max_payload` is under `min_fragment`: a
    /// packet with little room left is better sent as it is.
    pub(super) fn produce(&mut self, stream: StreamId, max_payload: usize, min_fragment: usize) -> Option<Fragment> {
        let message = self.messages.front()?;
        let sent = self.front.map_or(0, |progress| progress.sent);
        let rest = message.data.len() - sent;
        if max_payload == 0 || (rest > max_payload && max_payload < min_fragment) {
            return None;
        }
        let len = rest.min(max_payload);
        let ssn = match self.front {
            Some(progress) => progress.ssn,
            None if message.unordered => 0,
            None => {
                let ssn = self.next_ssn;
                self.next_ssn = self.next_ssn.wrapping_add(1);
                ssn
            }
        };
        let fragment = Fragment {
            message: message.id,
            stream,
            ssn,
            ppid: message.ppid,
            unordered: message.unordered,
            beginning: sent == 0,
            ending: len == rest,
            payload: message.data.slice(sent..sent + len),
            expires_at: message.expires_at,
            max_retransmits: message.max_retransmits,
        };
        self.buffered -= len;
        if fragment.ending {
            self.messages.pop_front();
            self.front = None;
        } else {
            self.front = Some(Progress { sent: sent + len, ssn });
        }
        Some(fragment)
    }

    /// Removes the message `id`, sent in part or not at all. Returns, when it was there, its
    /// queue deadline and, when it had given fragments already, the placeholder for its last
    /// fragment: an empty ending fragment, never sent, that takes the next TSN and is abandoned
    /// at once, so that the FORWARD-TSN skipping the message reaches past its end (as dcSCTP
    /// does) even when its sent fragments were all acknowledged.
    pub(super) fn remove(&mut self, stream: StreamId, id: MessageId) -> Option<(Option<Instant>, Option<Fragment>)> {
        let index = self.messages.iter().position(|message| message.id == id)?;
        let progress = if index == 0 { self.front } else { None };
        let message = self.messages.remove(index)?;
        let sent = progress.map_or(0, |progress| progress.sent);
        self.buffered -= message.data.len() - sent;
        let placeholder = progress.map(|progress| {
            self.front = None;
            Fragment {
                message: id,
                stream,
                ssn: progress.ssn,
                ppid: message.ppid,
                unordered: message.unordered,
                beginning: false,
                ending: true,
                payload: Bytes::new(),
                expires_at: message.expires_at,
                max_retransmits: message.max_retransmits,
            }
        });
        Some((message.queue_deadline, placeholder))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: MessageId, len: usize, unordered: bool) -> QueuedMessage {
        QueuedMessage {
            id,
            ppid: 53,
            data: Bytes::from(vec![id as u8; len]),
            unordered,
            expires_at: None,
            queue_deadline: None,
            max_retransmits: None,
        }
    }

    #[test]
    fn fragments_carry_b_and_e_bits_and_one_ssn_per_ordered_message() {
        let mut stream = OutgoingStream::default();
        stream.push(message(1, 250, false));
        stream.push(message(2, 50, false));
        stream.push(message(3, 50, true));
        assert_eq!(stream.buffered(), 350);
        let a = stream.produce(7, 100, 10).unwrap();
        assert!(stream.started_message().is_some());
        let b = stream.produce(7, 100, 10).unwrap();
        let c = stream.produce(7, 100, 10).unwrap();
        assert_eq!(stream.started_message(), None);
        assert!(a.beginning && !a.ending);
        assert!(!b.beginning && !b.ending);
        assert!(!c.beginning && c.ending);
        assert_eq!((a.ssn, b.ssn, c.ssn), (0, 0, 0));
        assert_eq!([a.payload.len(), b.payload.len(), c.payload.len()], [100, 100, 50]);
        let d = stream.produce(7, 100, 10).unwrap();
        assert!(d.beginning && d.ending && d.ssn == 1 && !d.unordered);
        let e = stream.produce(7, 100, 10).unwrap();
        assert!(e.unordered && e.ssn == 0, "unordered messages take no SSN");
        stream.push(message(4, 10, false));
        let f = stream.produce(7, 100, 10).unwrap();
        assert_eq!(f.ssn, 2);
        assert_eq!(stream.buffered(), 0);
        assert!(stream.produce(7, 100, 10).is_none());
    }

    #[test]
    fn a_small_room_takes_a_whole_small_message_but_no_sliver_of_a_big_one() {
        let mut stream = OutgoingStream::default();
        stream.push(message(1, 20, false));
        stream.push(message(2, 500, false));
        assert!(stream.produce(1, 30, 64).is_some(), "the 20-byte message fits whole");
        assert!(stream.produce(1, 30, 64).is_none(), "a 30-byte sliver of 500 bytes is refused");
        assert_eq!(stream.produce(1, 64, 64).unwrap().payload.len(), 64);
    }

    #[test]
    fn removing_a_started_message_frees_only_its_unsent_rest() {
        let mut stream = OutgoingStream::default();
        stream.push(message(1, 300, false));
        stream.push(message(2, 40, false));
        stream.produce(1, 100, 10).unwrap();
        assert_eq!(stream.buffered(), 240);
        let (_, placeholder) = stream.remove(1, 1).unwrap();
        let placeholder = placeholder.unwrap();
        assert!(!placeholder.beginning && placeholder.ending && placeholder.payload.is_empty());
        assert_eq!((placeholder.message, placeholder.ssn), (1, 0));
        assert_eq!(stream.buffered(), 40);
        assert_eq!(stream.started_message(), None);
        let next = stream.produce(1, 100, 10).unwrap();
        assert!(next.beginning && next.message == 2 && next.ssn == 1);
        assert_eq!(stream.remove(1, 9), None);
        stream.push(message(3, 40, false));
        assert_eq!(stream.remove(1, 3).map(|(_, placeholder)| placeholder), Some(None), "never started");
    }
}
