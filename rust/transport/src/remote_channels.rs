//! What the remote side may open in-band on one connection: a few live channels, a bounded
//! number over the connection's life, or none at all on a mesh's connection.

/// Most channels the remote side may have open in-band at once on one connection: a game uses
/// a few, and each costs us a receive queue of up to the receive limit.
pub const MAX_REMOTE_CHANNELS: usize = 64;

/// Most channels the remote side may open in-band over a connection's life: each opening costs
/// rtc a channel and an SCTP stream, so even channels closed at once are limited.
pub const MAX_REMOTE_OPENS: usize = 1024;

/// The channels the remote side opened in-band on one connection.
#[derive(Debug, Default)]
pub(crate) struct RemoteOpens {
    /// All of them, over the connection's life.
    pub(crate) total: usize,
    /// Close every one at once (the connection belongs to a mesh, which reads none).
    pub(crate) refuse_all: bool,
    /// A refusal was logged already.
    pub(crate) warned: bool,
}

impl RemoteOpens {
    /// Counts an opening while `live` remote channels are open; returns why it is refused, if it
    /// is.
    pub(crate) fn admit(&mut self, live: usize) -> Option<String> {
        self.total = self.total.saturating_add(1);
        if self.refuse_all {
            Some("this connection refuses channels opened by the remote side (a mesh reads only its negotiated channels)".into())
        } else if live >= MAX_REMOTE_CHANNELS {
            Some(format!("the remote side already has {MAX_REMOTE_CHANNELS} channels open (the most allowed)"))
        } else if self.total > MAX_REMOTE_OPENS {
            Some(format!("the remote side opened {MAX_REMOTE_OPENS} channels on this connection (the most allowed)"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_channels_and_openings_are_capped() {
        let mut opens = RemoteOpens::default();
        assert!((0..MAX_REMOTE_CHANNELS).all(|live| opens.admit(live).is_none()));
        assert!(opens.admit(MAX_REMOTE_CHANNELS).is_some(), "one live channel too many");
        for _ in MAX_REMOTE_CHANNELS + 1..MAX_REMOTE_OPENS {
            assert!(opens.admit(MAX_REMOTE_CHANNELS - 1).is_none());
        }
        assert!(opens.admit(0).is_some(), "one opening too many, though none is live");
    }

    #[test]
    fn a_connection_that_refuses_them_all_admits_none() {
        let opens = &mut RemoteOpens { refuse_all: true, ..Default::default() };
        assert!(opens.admit(0).is_some());
    }
}
