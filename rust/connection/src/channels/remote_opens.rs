//! What the remote side may open in-band on one connection: a few live channels, a bounded
//! number over the connection's life, or none at all on a mesh's connection. The rules of
//! `transport::remote_channels`, which moves here once the transport runs on this layer.

use super::{ChannelError, ChannelLimits};

/// The channels the remote side opened in-band on one connection.
#[derive(Debug, Default)]
pub(crate) struct RemoteOpens {
    /// All of them, over the connection's life (refused ones too).
    total: usize,
}

impl RemoteOpens {
    /// Counts an opening while `live` remote channels are open; returns why it is refused, if
    /// it is.
    pub(crate) fn admit(&mut self, live: usize, limits: &ChannelLimits) -> Result<(), ChannelError> {
        self.total = self.total.saturating_add(1);
        if limits.refuse_remote_opens {
            Err(ChannelError::RemoteOpensRefused)
        } else if live >= limits.max_remote_channels {
            Err(ChannelError::TooManyRemoteChannels(limits.max_remote_channels))
        } else if self.total > limits.max_remote_opens {
            Err(ChannelError::TooManyRemoteOpens(limits.max_remote_opens))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::limits::{MAX_REMOTE_CHANNELS, MAX_REMOTE_OPENS};
    use super::*;

    #[test]
    fn live_channels_and_openings_are_capped() {
        let limits = ChannelLimits::default();
        let mut opens = RemoteOpens::default();
        assert!((0..MAX_REMOTE_CHANNELS).all(|live| opens.admit(live, &limits).is_ok()));
        assert_eq!(opens.admit(MAX_REMOTE_CHANNELS, &limits), Err(ChannelError::TooManyRemoteChannels(64)));
        for _ in MAX_REMOTE_CHANNELS + 1..MAX_REMOTE_OPENS {
            assert!(opens.admit(MAX_REMOTE_CHANNELS - 1, &limits).is_ok());
        }
        assert_eq!(opens.admit(0, &limits), Err(ChannelError::TooManyRemoteOpens(1024)), "one opening too many");
    }

    #[test]
    fn a_connection_that_refuses_them_all_admits_none() {
        let limits = ChannelLimits { refuse_remote_opens: true, ..Default::default() };
        assert_eq!(RemoteOpens::default().admit(0, &limits), Err(ChannelError::RemoteOpensRefused));
    }
}
