//! Our DTLS certificate: a self-signed ECDSA P-256 certificate, a new one per connection (as
//! browsers do), and the fingerprint our description signals for it.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};

use super::error::SecurePathError;
use super::fingerprint::fingerprint_of;
use crate::sdp::Fingerprint;

/// The certificate's common name (browsers write `WebRTC`; the name is not checked by anyone).
const COMMON_NAME: &str = "webrtc-mesh";

/// A certificate with its private key.
#[derive(Clone)]
pub struct LocalCertificate {
    /// The certificate, DER.
    pub(super) der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub(super) private_key: Vec<u8>,
    fingerprint: Fingerprint,
}

impl LocalCertificate {
    /// Makes a new certificate; its key comes from the system's random source (through `ring`),
    /// not from the caller: a connection's key must not be derived from a seed a test could
    /// repeat.
    pub fn generate() -> Result<Self, SecurePathError> {
        let failed = |error: rcgen::Error| SecurePathError::Certificate(error.to_string());
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(failed)?;
        let mut params = CertificateParams::new(vec![COMMON_NAME.to_owned()]).map_err(failed)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, COMMON_NAME);
        let certificate = params.self_signed(&key).map_err(failed)?;
        let der = certificate.der().to_vec();
        Ok(Self { fingerprint: fingerprint_of(&der), der, private_key: key.serialize_der() })
    }

    /// The fingerprint to signal in our description (`a=fingerprint`).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl std::fmt::Debug for LocalCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCertificate").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}
