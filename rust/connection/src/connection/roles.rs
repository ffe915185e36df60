//! Our DTLS role and the certificates' fingerprints as each part names them. The description
//! decides our DTLS role ([`crate::channels::DtlsRole`], which the channel table takes as it is);
//! the secure path and the association have their own type for it, the secure path and the
//! descriptions their own fingerprint.

use crate::channels::DtlsRole;
use crate::ice_dtls;
use crate::sctp;
use crate::sdp;

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

/// The other side's fingerprint, read from its description, as the secure path checks it.
pub(super) fn path_fingerprint(
    fingerprint: &sdp::Fingerprint,
) -> Result<ice_dtls::Fingerprint, ice_dtls::SecurePathError> {
    let hex: Vec<String> = fingerprint.digest().iter().map(|byte| format!("{byte:02X}")).collect();
    ice_dtls::Fingerprint::parse("sha-256", &hex.join(":"))
}

/// Our certificate's fingerprint as our descriptions write it.
pub(super) fn sdp_fingerprint(fingerprint: ice_dtls::Fingerprint) -> Result<sdp::Fingerprint, sdp::SdpError> {
    let attribute = fingerprint.to_attribute();
    sdp::Fingerprint::choose(std::iter::once(attribute.as_str()))?.ok_or(sdp::SdpError::MalformedFingerprint(attribute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_cross_between_the_parts_unchanged() {
        let ours = ice_dtls::Fingerprint::of_certificate(b"a certificate");
        let written = sdp_fingerprint(ours).unwrap();
        assert_eq!(written.to_string(), ours.to_attribute());
        assert_eq!(path_fingerprint(&written).unwrap(), ours);
    }

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
