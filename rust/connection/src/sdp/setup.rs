//! DTLS roles (`a=setup`, RFC 8842): an offer says `actpass` (either role), an answer
//! `active` (the DTLS client) or `passive` (the server). Like browsers, we answer `active` to
//! `actpass` and so are the DTLS client then. Once a DTLS association runs its roles stay
//! (RFC 8842 §5.5): later answers say the role we have, and a later offer may say `actpass` or
//! the setup that keeps our role, nothing else (as Chromium's `NegotiateDtlsRole` checks).

use super::error::{excerpt, SdpError};
use super::remote::DescriptionKind;
// One role for the whole crate: the data channels' stream ids follow it too.
use crate::DtlsRole;

/// An `a=setup` value we take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// Either role (offers only).
    ActPass,
    /// The DTLS client: it sends the ClientHello.
    Active,
    /// The DTLS server.
    Passive,
}

impl Setup {
    /// Reads the `a=setup` value of a description of `kind` (`None` when it has none). An
    /// offer without one is read as `actpass`, as Chromium does; an answer must say `active`
    /// or `passive` (Chromium refuses one that does not).
    pub(crate) fn parse(kind: DescriptionKind, value: Option<&str>) -> Result<Self, SdpError> {
        let Some(value) = value else {
            return match kind {
                DescriptionKind::Offer => Ok(Self::ActPass),
                DescriptionKind::Answer => Err(SdpError::MissingSetup),
            };
        };
        let bad = |reason| SdpError::BadSetup { kind, value: excerpt(value), reason };
        match (value.trim().to_ascii_lowercase().as_str(), kind) {
            ("active", _) => Ok(Self::Active),
            ("passive", _) => Ok(Self::Passive),
            ("actpass", DescriptionKind::Offer) => Ok(Self::ActPass),
            ("actpass", DescriptionKind::Answer) => Err(bad("an answer must say active or passive")),
            ("holdconn", _) => Err(bad("holding the connection is not supported")),
            _ => Err(bad("expected actpass, active or passive")),
        }
    }

    /// What we answer to an offer that says `self`: `passive` to `active`, else `active`.
    pub fn answering(self) -> Self {
        match self {
            Self::Active => Self::Passive,
            Self::ActPass | Self::Passive => Self::Active,
        }
    }

    /// What we answer once our DTLS role is established (RFC 8842 §5.5, JSEP RFC 8829 §5.3.2: a
    /// later answer keeps the roles of the DTLS association): `active` as the client, `passive`
    /// as the server.
    pub fn keeping(role: DtlsRole) -> Self {
        match role {
            DtlsRole::Client => Self::Active,
            DtlsRole::Server => Self::Passive,
        }
    }

    /// Whether a later description saying `self` keeps our established DTLS `role`: `actpass`
    /// does (we answer with our role), `active` only when we are the server, `passive` only when
    /// we are the client. One that would flip the roles asks for a new DTLS association, which a
    /// connection does not make (it keeps its certificate and its DTLS session).
    pub fn keeps(self, role: DtlsRole) -> bool {
        matches!(
            (self, role),
            (Self::ActPass, _) | (Self::Active, DtlsRole::Server) | (Self::Passive, DtlsRole::Client)
        )
    }

    /// Our DTLS role once the other side's description says `self` (and we answered an offer
    /// as [`Setup::answering`] does).
    pub fn our_role(self) -> DtlsRole {
        match self {
            Self::Active => DtlsRole::Server,
            Self::ActPass | Self::Passive => DtlsRole::Client,
        }
    }

    /// The value as SDP writes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ActPass => "actpass",
            Self::Active => "active",
            Self::Passive => "passive",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn established_roles_are_kept() {
        assert_eq!(
            (Setup::keeping(DtlsRole::Client), Setup::keeping(DtlsRole::Server)),
            (Setup::Active, Setup::Passive)
        );
        for role in [DtlsRole::Client, DtlsRole::Server] {
            assert!(Setup::ActPass.keeps(role));
            assert!(Setup::keeping(role).answering().keeps(role), "the other side's view of our answer");
        }
        assert!(!Setup::Active.keeps(DtlsRole::Client), "both would be clients");
        assert!(!Setup::Passive.keeps(DtlsRole::Server), "both would be servers");
    }

    use DescriptionKind::{Answer, Offer};

    #[test]
    fn offers_may_say_any_role_and_answers_one() {
        assert_eq!(Setup::parse(Offer, Some("actpass")), Ok(Setup::ActPass));
        assert_eq!(Setup::parse(Offer, None), Ok(Setup::ActPass), "as Chromium reads an offer without one");
        assert_eq!(Setup::parse(Offer, Some("ACTIVE")), Ok(Setup::Active));
        assert_eq!(Setup::parse(Answer, Some("passive")), Ok(Setup::Passive));
        assert_eq!(Setup::parse(Answer, None), Err(SdpError::MissingSetup));
        let error = Setup::parse(Answer, Some("actpass")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a=setup:actpass is not accepted in an answer: an answer must say active or passive"
        );
        assert!(matches!(Setup::parse(Offer, Some("holdconn")), Err(SdpError::BadSetup { .. })));
        assert!(matches!(Setup::parse(Offer, Some("")), Err(SdpError::BadSetup { .. })));
        let long = "x".repeat(100_000);
        assert!(Setup::parse(Offer, Some(&long)).unwrap_err().to_string().len() < 300);
    }

    #[test]
    fn roles_follow_what_each_side_says() {
        // We answer an offer: active to actpass and passive (we are the client), passive to active.
        assert_eq!((Setup::ActPass.answering(), Setup::ActPass.our_role()), (Setup::Active, DtlsRole::Client));
        assert_eq!((Setup::Passive.answering(), Setup::Passive.our_role()), (Setup::Active, DtlsRole::Client));
        assert_eq!((Setup::Active.answering(), Setup::Active.our_role()), (Setup::Passive, DtlsRole::Server));
        // We offered actpass: the answer decides.
        assert_eq!(Setup::Active.our_role(), DtlsRole::Server);
        assert_eq!(Setup::Passive.our_role(), DtlsRole::Client);
    }
}
