//! TURN credentials for lobby members: a member who sends TURN_CREDENTIALS gets time-limited
//! credentials (see [`crate::turn_credentials`]) named after its peer id, or an empty answer
//! when the server has no TURN secret. Anyone else is closed by the usual rule (join a lobby
//! first). Each request is a text message, so it is paid for from the client's message budget;
//! and a client that asks again before half the lifetime of its last credentials is spent gets
//! the same ones, so one connection holds at most one username per half lifetime.

use super::*;
use crate::turn_credentials::{needs_new, TurnConfig, WallClock};

/// What the state machine needs to issue TURN credentials.
#[derive(Debug)]
pub(super) struct TurnIssuer {
    config: TurnConfig,
    clock: WallClock,
}

impl Signaling {
    /// This server, handing TURN credentials made with `config` to the lobby members who ask;
    /// `clock` tells it the Unix time at one instant (the expiry in each username is counted
    /// from there along the instants it is given).
    pub fn with_turn_credentials(mut self, config: TurnConfig, clock: WallClock) -> Self {
        self.turn = Some(TurnIssuer { config, clock });
        self
    }

    /// `client`, a member of a lobby as `membership`, asked for TURN credentials at `now`.
    pub(super) fn answer_turn_request(&mut self, client: ClientId, membership: &Membership, now: Instant) {
        let data = match (&self.turn, self.clients.get_mut(&client)) {
            (Some(turn), Some(state)) => {
                let unix_now = turn.clock.unix_seconds_at(now);
                let ttl = turn.config.ttl_seconds();
                let expiry = match state.turn_expiry() {
                    Some(expiry) if !needs_new(Some(expiry), unix_now, ttl) => expiry,
                    _ => unix_now.saturating_add(ttl),
                };
                state.set_turn_expiry(expiry);
                turn.config.credentials(expiry, &membership.peer_id.to_string(), unix_now).to_json()
            }
            _ => String::new(),
        };
        self.outputs.push_back(Output::Send { client, message: Message::new(Kind::TurnCredentials, 0, data) });
    }
}
