//! A TURN client's connection to its server over TCP or TLS (`turn:...?transport=tcp`,
//! `turns:`): a task on the shared runtime that connects, writes the client's messages and cuts
//! what it reads back into whole STUN messages and ChannelData frames (RFC 8656 section 11.5),
//! which the pump hands to the client.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use crate::config::TURN_CA_FILE_ENV;
use crate::lock::lock;

/// How long connecting (and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pump's side of a stream: messages to write, frames read.
pub(crate) struct TurnStream {
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    incoming: Arc<Mutex<VecDeque<BytesMut>>>,
}

impl TurnStream {
    /// Starts connecting to `server` (with TLS when `tls_name` is given, checking the server's
    /// certificate for that name); `wake` is told when frames arrive.
    pub(crate) fn open(server: SocketAddr, tls_name: Option<String>, wake: Arc<Notify>) -> Result<Self, String> {
        let runtime = crate::runtime::handle().map_err(|error| error.to_string())?;
        let tls = match tls_name {
            Some(name) => {
                let name = ServerName::try_from(name).map_err(|error| error.to_string())?;
                Some((tls_config()?, name))
            }
            None => None,
        };
        let (outgoing, commands) = mpsc::unbounded_channel();
        let incoming = Arc::new(Mutex::new(VecDeque::new()));
        let frames = Arc::clone(&incoming);
        runtime.spawn(async move {
            if let Err(error) = run(server, tls, commands, frames, wake).await {
                log::warn!("TURN server {server} over TCP/TLS: {error}");
            }
        });
        Ok(Self { outgoing, incoming })
    }

    /// Queues one message for the server.
    pub(crate) fn send(&self, message: &[u8]) {
        let _ = self.outgoing.send(message.to_vec());
    }

    /// Takes the next whole frame read from the server.
    pub(crate) fn next_frame(&self) -> Option<BytesMut> {
        lock(&self.incoming).pop_front()
    }
}

type Tls = (Arc<rustls::ClientConfig>, ServerName<'static>);

async fn run(
    server: SocketAddr,
    tls: Option<Tls>,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    incoming: Arc<Mutex<VecDeque<BytesMut>>>,
    wake: Arc<Notify>,
) -> Result<(), String> {
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server))
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|error| format!("cannot connect: {error}"))?;
    let _ = stream.set_nodelay(true);
    let mut tls = match tls {
        Some((config, name)) => {
            Some(rustls::ClientConnection::new(config, name).map_err(|error| format!("TLS: {error}"))?)
        }
        None => None,
    };
    let mut framer = Framer::default();
    let mut buffer = vec![0; 16 * 1024];
    loop {
        if let Some(connection) = &mut tls {
            while connection.wants_write() {
                let mut records = Vec::new();
                connection.write_tls(&mut records).map_err(|error| format!("TLS: {error}"))?;
                stream.write_all(&records).await.map_err(|error| format!("write: {error}"))?;
            }
        }
        tokio::select! {
            message = outgoing.recv() => {
                let Some(message) = message else { return Ok(()) };
                match &mut tls {
                    Some(connection) => connection.writer().write_all(&message).map_err(|error| format!("TLS: {error}"))?,
                    None => stream.write_all(&message).await.map_err(|error| format!("write: {error}"))?,
                }
            }
            read = stream.read(&mut buffer) => {
                let read = read.map_err(|error| format!("read: {error}"))?;
                if read == 0 {
                    return Err("the server closed the connection".into());
                }
                match &mut tls {
                    Some(connection) => {
                        // rustls takes at most what its buffer holds per call: feed it all.
                        let mut records = &buffer[..read];
                        while !records.is_empty() {
                            // 0 once the server's close_notify came: what follows is never taken.
                            if connection.read_tls(&mut records).map_err(|error| format!("TLS: {error}"))? == 0 {
                                return Err("the server closed the TLS session".into());
                            }
                            connection.process_new_packets().map_err(|error| format!("TLS: {error}"))?;
                            let mut plain = Vec::new();
                            match connection.reader().read_to_end(&mut plain) {
                                Ok(_) => {}
                                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(error) => return Err(format!("TLS: {error}")),
                            }
                            framer.push(&plain);
                        }
                    }
                    None => framer.push(&buffer[..read]),
                }
                let mut frames = Vec::new();
                while let Some(frame) = framer.next_frame() {
                    frames.push(frame);
                }
                if !frames.is_empty() {
                    lock(&incoming).extend(frames);
                    wake.notify_one();
                }
            }
        }
    }
}

/// The TLS settings for `turns:` servers: the web's certificate authorities (webpki-roots) and
/// those of [`TURN_CA_FILE_ENV`]. Made once per process.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            if let Ok(path) = std::env::var(TURN_CA_FILE_ENV) {
                let certificates = CertificateDer::pem_file_iter(&path)
                    .map_err(|error| format!("{TURN_CA_FILE_ENV} '{path}': {error}"))?;
                for certificate in certificates {
                    let certificate = certificate.map_err(|error| format!("{TURN_CA_FILE_ENV} '{path}': {error}"))?;
                    roots.add(certificate).map_err(|error| format!("{TURN_CA_FILE_ENV} '{path}': {error}"))?;
                }
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|error| error.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// Cuts a byte stream into STUN messages (20-byte header, length in bytes 2-3) and ChannelData
/// frames (4-byte header, length in bytes 2-3, padded to a multiple of 4 over a stream).
#[derive(Default)]
struct Framer {
    pending: BytesMut,
}

impl Framer {
    fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    fn next_frame(&mut self) -> Option<BytesMut> {
        if self.pending.len() < 4 {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([self.pending[2], self.pending[3]]));
        let (frame, padded) = if self.pending[0] & 0xC0 == 0 {
            (20 + length, 20 + length)
        } else {
            (4 + length, 4 + length.div_ceil(4) * 4)
        };
        if self.pending.len() < padded {
            return None;
        }
        let mut whole = self.pending.split_to(padded);
        whole.truncate(frame);
        Some(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_cut_into_stun_messages_and_padded_channel_data() {
        let mut framer = Framer::default();
        let mut stun = vec![0x01, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[9; 12]);
        stun.extend_from_slice(&[1, 2, 3, 4]);
        let channel_data = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        let mut stream = stun.clone();
        stream.extend_from_slice(&channel_data);
        // Arrives in two pieces, split inside the second frame.
        framer.push(&stream[..30]);
        assert_eq!(framer.next_frame().as_deref(), Some(&stun[..]));
        assert_eq!(framer.next_frame(), None);
        framer.push(&stream[30..]);
        assert_eq!(framer.next_frame().as_deref(), Some(&channel_data[..9]));
        assert_eq!(framer.next_frame(), None);
    }
}
