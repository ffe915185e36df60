//! `wss://` served directly: a certificate chain and its private key read from PEM files, turned
//! into a rustls acceptor (the ring provider, TLS 1.2 and 1.3), and read again on demand (the
//! binary does it on SIGHUP) without dropping anyone: connections already open keep the
//! certificate they were served, new ones get the new one. A reload that fails keeps the
//! certificate in use and says why.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::net::TcpStream;

use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::error::SignalingError;

/// Why a certificate and key could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The certificate file could not be read, or holds no PEM certificate.
    Certificate {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The key file could not be read, or holds no PEM private key.
    Key {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate, say).
    Refused(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate { path, reason } => write!(f, "certificate {}: {reason}", path.display()),
            Self::Key { path, reason } => write!(f, "private key {}: {reason}", path.display()),
            Self::Refused(reason) => write!(f, "the certificate and key cannot be served: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The certificate and key the server presents, and where they are read from. Clones share the
/// acceptor: a reload through one is seen by all.
#[derive(Clone)]
pub struct Tls {
    certificate: PathBuf,
    key: PathBuf,
    acceptor: Arc<RwLock<TlsAcceptor>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("certificate", &self.certificate).field("key", &self.key).finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the certificate chain (PEM, the server's certificate first) and private key (PEM:
    /// PKCS#8, PKCS#1 or SEC1) the server will present.
    pub fn load(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let acceptor = acceptor(certificate, key)?;
        Ok(Self { certificate: certificate.to_owned(), key: key.to_owned(), acceptor: Arc::new(RwLock::new(acceptor)) })
    }

    /// Reads both files again; new connections get what they hold. On error the certificate in
    /// use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let acceptor = acceptor(&self.certificate, &self.key)?;
        *self.acceptor.write().unwrap_or_else(PoisonError::into_inner) = acceptor;
        Ok(())
    }

    /// Watches SIGHUP from now on (so that a SIGHUP no longer ends the process) and returns the
    /// future that reloads on each, for ever, with one line on stdout (or on stderr, with why,
    /// when the files could not be served).
    pub fn reload_on_hangup(self) -> std::io::Result<impl std::future::Future<Output = ()>> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        Ok(async move {
            while hangups.recv().await.is_some() {
                match self.reload() {
                    Ok(()) => println!("SIGHUP: reloaded the certificate and key"),
                    Err(error) => eprintln!("SIGHUP: kept the certificate in use: {error}"),
                }
            }
        })
    }

    /// The acceptor for a new connection.
    pub(super) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The first byte of a TLS connection: a handshake record (RFC 8446 5.1, content type 22).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether the first byte `stream` brings starts a TLS handshake record, without taking it from
/// the stream (a plain HTTP request starts with a method's letter); fails if the connection
/// ends before one byte.
pub(super) async fn starts_with_tls(stream: &TcpStream) -> Result<bool, SignalingError> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(0) => Err(SignalingError::ConnectionEnded),
        Ok(_) => Ok(first[0] == TLS_HANDSHAKE_RECORD),
        Err(error) => Err(SignalingError::Transport(error.to_string())),
    }
}

/// An acceptor presenting the chain in `certificate` with the key in `key`.
fn acceptor(certificate: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let certificate_error = |reason: String| TlsError::Certificate { path: certificate.to_owned(), reason };
    let chain = CertificateDer::pem_file_iter(certificate)
        .map_err(|error| certificate_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| certificate_error(error.to_string()))?;
    if chain.is_empty() {
        return Err(certificate_error("no PEM certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| TlsError::Key { path: key.to_owned(), reason: error.to_string() })?;
    let refused = |error: tokio_rustls::rustls::Error| TlsError::Refused(error.to_string());
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(refused)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
