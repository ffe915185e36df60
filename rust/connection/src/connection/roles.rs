//! Our DTLS role as each part names it. The description decides it
//! ([`crate::channels::DtlsRole`], which the channel table takes as it is); the secure path and
//! the association have their own type for it.

use crate::channels::DtlsRole;
use crate::ice_dtls;
use crate::sctp;

/// Our DTLS role as the secure path takes it.
pub(super) fn path_role(role: DtlsRole) -> ice_dtls::DtlsRole {
    match role {
        DtlsRole::Client => ice_dtls::DtlsRole::Client,
        DtlsRole::Server => ice_dtls::DtlsRole::Server,
    }
}

/// Our SCTP role: the DTLS client sends the INIT.
pub(super) fn sctp_role(role: DtlsRole) -> sctp::Role {
    match role {
        DtlsRole::Client => sctp::Role::Client,
        DtlsRole::Server => sctp::Role::Server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dtls_client_sends_the_init() {
        assert_eq!(sctp_role(DtlsRole::Client), sctp::Role::Client);
        assert_eq!(path_role(DtlsRole::Client), ice_dtls::DtlsRole::Client);
        assert_eq!(
            (sctp_role(DtlsRole::Server), path_role(DtlsRole::Server)),
            (sctp::Role::Server, ice_dtls::DtlsRole::Server)
        );
    }
}
