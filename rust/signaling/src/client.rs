//! One connected client and the rules about its time: the join deadline, pings after silence,
//! the idle deadline, and its message budget.

use std::time::Instant;

use crate::error::SignalingError;
use crate::limits::Limits;
use crate::message_budget::MessageBudget;
use crate::source::Source;

/// The lobby a client joined and its peer id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// The lobby's name.
    pub(crate) lobby: String,
    /// The client's peer id in it.
    pub(crate) peer_id: i64,
}

/// What a client's deadlines call for at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Due {
    /// Close it.
    Close(SignalingError),
    /// Ping it.
    Ping,
    /// Nothing yet.
    Nothing,
}

/// A client whose WebSocket handshake is done. A deadline too far away to be an [`Instant`] never
/// comes.
#[derive(Debug)]
pub(crate) struct Client {
    opened_at: Instant,
    heard_at: Instant,
    pinged_at: Option<Instant>,
    budget: MessageBudget,
    membership: Option<Membership>,
    /// Where it connects from (behind a trusted proxy, the address the proxy forwarded).
    source: Source,
    /// It created a lobby (or asked to): its source's lobby count holds one for it until it
    /// leaves.
    creates_lobby: bool,
    /// When the TURN credentials it was last given expire (Unix seconds).
    turn_expiry: Option<u64>,
}

impl Client {
    /// A client from `source` whose handshake finished at `now`: it has the join timeout to
    /// join, and a full message budget.
    pub(crate) fn new(limits: &Limits, source: Source, now: Instant) -> Self {
        Self {
            opened_at: now,
            heard_at: now,
            pinged_at: None,
            budget: MessageBudget::full(limits.max_messages_per_second, now),
            membership: None,
            source,
            creates_lobby: false,
            turn_expiry: None,
        }
    }

    /// Where it connects from.
    pub(crate) fn source(&self) -> Source {
        self.source
    }

    /// When it was last heard from.
    pub(crate) fn heard_at(&self) -> Instant {
        self.heard_at
    }

    /// Whether it created a lobby (or asked to).
    pub(crate) fn creates_lobby(&self) -> bool {
        self.creates_lobby
    }

    /// It asks to create a lobby.
    pub(crate) fn create_lobby(&mut self) {
        self.creates_lobby = true;
    }

    /// The lobby it joined.
    pub(crate) fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// It joined a lobby.
    pub(crate) fn join(&mut self, membership: Membership) {
        self.membership = Some(membership);
    }

    /// Its lobby is gone (it is about to be closed): nothing about it is left to tell anyone.
    pub(crate) fn leave_lobby(&mut self) {
        self.membership = None;
    }

    /// The lobby it joined, once it is gone.
    pub(crate) fn into_membership(self) -> Option<Membership> {
        self.membership
    }

    /// When the TURN credentials it was last given expire (Unix seconds).
    pub(crate) fn turn_expiry(&self) -> Option<u64> {
        self.turn_expiry
    }

    /// It was given TURN credentials that expire at `expiry` (Unix seconds).
    pub(crate) fn set_turn_expiry(&mut self, expiry: u64) {
        self.turn_expiry = Some(expiry);
    }

    /// A frame (of any kind) arrived at `now`.
    pub(crate) fn hear(&mut self, now: Instant) {
        self.heard_at = self.heard_at.max(now);
    }

    /// A text message arrived at `now`; `false` when it is over the rate limit.
    pub(crate) fn spend_message(&mut self, limits: &Limits, now: Instant) -> bool {
        self.budget.spend_one(limits.max_messages_per_second, now)
    }

    /// It was pinged at `now`.
    pub(crate) fn pinged(&mut self, now: Instant) {
        self.pinged_at = Some(now);
    }

    fn join_deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.membership {
            None => self.opened_at.checked_add(limits.join_timeout),
            Some(_) => None,
        }
    }

    fn idle_deadline(&self, limits: &Limits) -> Option<Instant> {
        self.heard_at.checked_add(limits.idle_timeout)
    }

    fn ping_deadline(&self, limits: &Limits) -> Option<Instant> {
        let silent_since = self.pinged_at.map_or(self.heard_at, |pinged_at| pinged_at.max(self.heard_at));
        silent_since.checked_add(limits.ping_interval())
    }

    /// What is due at `now`, the rules in this order: not joined in time, idle, ping.
    pub(crate) fn due(&self, limits: &Limits, now: Instant) -> Due {
        let reached = |deadline: Option<Instant>| deadline.is_some_and(|deadline| deadline <= now);
        if reached(self.join_deadline(limits)) {
            Due::Close(SignalingError::JoinTimedOut)
        } else if reached(self.idle_deadline(limits)) {
            Due::Close(SignalingError::Idle)
        } else if reached(self.ping_deadline(limits)) {
            Due::Ping
        } else {
            Due::Nothing
        }
    }

    /// The earliest of its deadlines; `None` when none can be represented.
    pub(crate) fn next_deadline(&self, limits: &Limits) -> Option<Instant> {
        [self.join_deadline(limits), self.idle_deadline(limits), self.ping_deadline(limits)].into_iter().flatten().min()
    }
}
