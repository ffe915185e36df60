//! One data channel's entry in the table: who opened it, where it is in its life, and how its
//! messages are sent.

use super::ChannelOptions;
use crate::sctp::SendOptions;

/// Who opened a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// We did, in-band (DATA_CHANNEL_OPEN on one of our stream ids).
    Local,
    /// Both sides did, negotiated out of band.
    Negotiated,
    /// The other side did, in-band.
    Remote,
}

/// Where a channel is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the association: nothing sent yet.
    AwaitingAssociation,
    /// Our DATA_CHANNEL_OPEN is sent; its ACK has not come. Our messages go ordered.
    AwaitingAck,
    /// Open both ways.
    Open,
    /// We reset our outgoing stream; the other side's reset of its own has not come.
    Closing,
}

/// A channel's state as the application sees it (W3C `RTCDataChannelState`; a closed channel
/// is no longer in the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// Not open yet: waiting for the association, or for the ACK of our DATA_CHANNEL_OPEN (its
    /// messages may be sent already).
    Connecting,
    /// Open.
    Open,
    /// Closing: our stream is reset, the other side's is not yet.
    Closing,
}

/// One channel of the table.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    /// Its options.
    pub(crate) options: ChannelOptions,
    /// Who opened it.
    pub(crate) origin: Origin,
    /// Where it is in its life.
    pub(crate) phase: Phase,
}

impl Channel {
    /// Its state as the application sees it.
    pub(crate) fn state(&self) -> ChannelState {
        match self.phase {
            Phase::AwaitingAssociation | Phase::AwaitingAck => ChannelState::Connecting,
            Phase::Open => ChannelState::Open,
            Phase::Closing => ChannelState::Closing,
        }
    }

    /// Whether our messages may go on it now: once its opening is sent, until we close it.
    pub(crate) fn can_send(&self) -> bool {
        matches!(self.phase, Phase::AwaitingAck | Phase::Open)
    }

    /// How our next message goes: with the channel's options, but ordered until the ACK of our
    /// DATA_CHANNEL_OPEN arrives (RFC 8832 §6), so that no message overtakes the opening.
    pub(crate) fn send_options(&self) -> SendOptions {
        let options = self.options.send_options();
        SendOptions { ordered: options.ordered || self.phase == Phase::AwaitingAck, ..options }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sctp::Reliability;

    #[test]
    fn messages_go_ordered_until_the_ack_then_as_the_channel_says() {
        let options =
            ChannelOptions { ordered: false, reliability: Reliability::MaxRetransmits(0), ..Default::default() };
        let mut channel = Channel { options, origin: Origin::Local, phase: Phase::AwaitingAck };
        assert_eq!(channel.send_options(), SendOptions { ordered: true, reliability: Reliability::MaxRetransmits(0) });
        channel.phase = Phase::Open;
        assert_eq!(channel.send_options(), SendOptions { ordered: false, reliability: Reliability::MaxRetransmits(0) });
    }

    #[test]
    fn messages_go_from_the_sent_opening_until_the_close() {
        let mut channel = Channel { options: ChannelOptions::default(), origin: Origin::Local, phase: Phase::Open };
        for (phase, can_send, state) in [
            (Phase::AwaitingAssociation, false, ChannelState::Connecting),
            (Phase::AwaitingAck, true, ChannelState::Connecting),
            (Phase::Open, true, ChannelState::Open),
            (Phase::Closing, false, ChannelState::Closing),
        ] {
            channel.phase = phase;
            assert_eq!((channel.can_send(), channel.state()), (can_send, state), "{phase:?}");
        }
    }
}
