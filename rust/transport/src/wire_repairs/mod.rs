//! Repairs, at the UDP socket, two things webrtc 0.21 gets wrong on the wire with other stacks.
//!
//! webrtc lets a connection run on a custom [`Runtime`], whose `wrap_udp_socket` sees every
//! datagram a connection sends and receives. [`RepairingRuntime`] is webrtc's tokio runtime with
//! sockets that:
//! - hand webrtc again the checks and the ClientHello it dropped for coming before its ICE agent
//!   was ready ([`early_datagrams`]);
//! - hold back the wrong ICE role-conflict answers it sends ([`role_conflict`]);
//! - send our DTLS handshake flight again when the peer repeats the message it answers, which
//!   `rtc-dtls` does not do ([`handshake_resend`]);
//! - ask for kernel buffers large enough for what SCTP keeps in flight.
//!
//! Both are upstream defects of `rtc`; the changes that make this module unnecessary are written
//! down in `docs/upstream/rtc-interop-and-loss-defects.md`.

mod early_datagrams;
mod handshake_resend;
mod peek;
mod role_conflict;

use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime, TokioRuntime,
    Transmit,
};

use early_datagrams::ReplayState;
use handshake_resend::HandshakeResend;
use role_conflict::RoleConflicts;

/// webrtc's tokio runtime, with UDP sockets that repair what the module says.
#[derive(Debug)]
pub(crate) struct RepairingRuntime {
    inner: TokioRuntime,
}

impl Default for RepairingRuntime {
    fn default() -> Self {
        Self { inner: TokioRuntime }
    }
}

impl Runtime for RepairingRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }

    fn spawn_reactor(&self, pool_size: usize, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        enlarge_buffers(&socket);
        let inner = self.inner.wrap_udp_socket(socket)?;
        Ok(Arc::new(RepairingSocket { inner, repairs: Mutex::default() }))
    }

    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        self.inner.connect_tcp(remote)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.inner.resolve_host(host)
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }

    fn name(&self) -> &'static str {
        "tokio+wire-repairs"
    }
}

/// Asked-for size of each socket's kernel send and receive buffers.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// Asks for 4 MiB socket buffers. The default (~208 KiB on Linux, 64 KiB on Windows) is less than
/// what SCTP keeps in flight on a fast path, and a datagram dropped at a full buffer costs a
/// retransmission timeout (1 s in webrtc-rs). The system may grant less (Linux caps it at
/// `net.core.rmem_max`/`wmem_max`); that is not an error.
fn enlarge_buffers(socket: &std::net::UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    if let Err(err) = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES) {
        log::debug!("cannot enlarge a UDP receive buffer: {err}");
    }
    if let Err(err) = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES) {
        log::debug!("cannot enlarge a UDP send buffer: {err}");
    }
}

/// A UDP socket of webrtc's tokio runtime, with the repairs of this module.
struct RepairingSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    /// One lock for all the repairs: every datagram passes them all.
    repairs: Mutex<Repairs>,
}

/// What a socket's repairs remember.
#[derive(Default)]
struct Repairs {
    replay: ReplayState,
    roles: RoleConflicts,
    resend: HandshakeResend,
    /// Wakes the receiving task when a ClientHello is next due.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl fmt::Debug for RepairingSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepairingSocket").field("inner", &self.inner).finish()
    }
}

impl RepairingSocket {
    fn repairs(&self) -> MutexGuard<'_, Repairs> {
        self.repairs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends datagrams of ours again, best effort: a full send buffer drops them (the handshake's
    /// own retransmissions still run).
    fn send_again(&self, cx: &mut Context<'_>, datagrams: Vec<(SocketAddr, Vec<u8>)>) {
        for (to, datagram) in datagrams {
            log::debug!("sending our DTLS handshake flight to {to} again: it repeated what the flight answers");
            let transmit =
                Transmit { destination: to, ecn: None, contents: &datagram, segment_size: None, src_ip: None };
            if !matches!(self.inner.poll_send(cx, &transmit), Poll::Ready(Ok(_))) {
                log::debug!("could not send a handshake datagram to {to} again");
            }
        }
    }
}

impl AsyncUdpSocket for RepairingSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let single = transmit.segment_size.is_none_or(|size| size >= transmit.contents.len());
        {
            let mut repairs = self.repairs();
            if single && repairs.roles.on_sending(transmit.contents) == role_conflict::Verdict::HoldBack {
                log::debug!("not sending {}: webrtc switched roles and answers the check anyway", transmit.destination);
                return Poll::Ready(Ok(transmit.contents.len()));
            }
            repairs.replay.on_sent(transmit.destination, transmit.contents);
            repairs.resend.on_sent(transmit.destination, transmit.contents);
        }
        self.inner.poll_send(cx, transmit)
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let now = Instant::now();
        let (next_hello, copy) = {
            let mut repairs = self.repairs();
            (repairs.replay.on_clock(now), repairs.replay.due.pop_front())
        };
        if let (Some(buf), Some(slot)) = (bufs.first_mut(), meta.first_mut()) {
            if let Some((from, datagram)) = copy.filter(|(_, datagram)| datagram.len() <= buf.len()) {
                log::debug!("handing webrtc again a datagram from {from} it came too early for");
                buf[..datagram.len()].copy_from_slice(&datagram);
                let mut replayed = RecvMeta::default();
                replayed.addr = from;
                replayed.len = datagram.len();
                replayed.stride = datagram.len();
                replayed.dst_ip = slot.dst_ip;
                *slot = replayed;
                return Poll::Ready(Ok(1));
            }
        }
        let result = self.inner.poll_recv(cx, bufs, meta);
        match result {
            Poll::Ready(Ok(count)) => {
                let mut resends = Vec::new();
                let mut repairs = self.repairs();
                for (buf, slot) in bufs.iter().zip(meta.iter()).take(count) {
                    // With GRO one buffer holds several datagrams of `stride` bytes from one address.
                    let stride = slot.stride.max(1);
                    for datagram in buf[..slot.len].chunks(stride) {
                        repairs.replay.on_received(slot.addr, datagram, now);
                        repairs.roles.on_received(datagram);
                        let again = repairs.resend.on_received(slot.addr, datagram);
                        resends.extend(again.into_iter().map(|datagram| (slot.addr, datagram)));
                    }
                }
                if !repairs.replay.due.is_empty() {
                    cx.waker().wake_by_ref();
                }
                drop(repairs);
                self.send_again(cx, resends);
            }
            Poll::Pending => {
                let timer = &mut self.repairs().timer;
                match next_hello {
                    None => *timer = None,
                    Some(at) if timer.as_ref().is_none_or(|sleep| sleep.deadline() != at.into()) => {
                        *timer = Some(Box::pin(tokio::time::sleep_until(at.into())));
                    }
                    Some(_) => {}
                }
                if let Some(sleep) = timer.as_mut() {
                    if sleep.as_mut().poll(cx).is_ready() {
                        cx.waker().wake_by_ref();
                    }
                }
            }
            Poll::Ready(Err(_)) => {}
        }
        result
    }

    fn max_gso_segments(&self) -> usize {
        self.inner.max_gso_segments()
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }
}
