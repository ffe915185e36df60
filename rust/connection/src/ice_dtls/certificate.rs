//! Our DTLS certificate: a self-signed ECDSA P-256 certificate, a new one per connection (as
//! browsers do), and the fingerprint our description signals for it.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::SecurePathError;
use super::fingerprint::fingerprint_of;
use crate::sdp::Fingerprint;

/// Random bytes in a certificate's name: 128 bits, so that no two certificates share one. The
/// name is not checked by anyone; a fixed one (the addon's) would link a player's connections,
/// and a certificate of its own per connection is there not to.
const NAME_RANDOM_BYTES: usize = 16;

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
        let mut random = [0u8; NAME_RANDOM_BYTES];
        SystemRandom::new()
            .fill(&mut random)
            .map_err(|_| SecurePathError::Certificate("no random source for the certificate's name".to_owned()))?;
        let name: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
        let mut params = CertificateParams::new(vec![name.clone()]).map_err(failed)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_certificate_has_a_random_name_of_its_own() {
        let [first, second] = [(); 2].map(|()| LocalCertificate::generate().unwrap());
        assert_ne!(first.fingerprint(), second.fingerprint());
        for certificate in [&first, &second] {
            assert!(!certificate.der.windows(11).any(|window| window == b"webrtc-mesh"), "named after the addon");
        }
        let name =
            |der: &[u8]| der.windows(32).find(|window| window.iter().all(u8::is_ascii_hexdigit)).map(<[u8]>::to_vec);
        assert!(name(&first.der).is_some(), "a name of 32 hex digits");
        assert_ne!(name(&first.der), name(&second.der));
    }
}
