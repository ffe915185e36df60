//! A connection's UDP socket: non-blocking, with batched receives and segmented sends (GRO and
//! GSO through `quinn-udp` where the system has them, one datagram per call where it does not).
//! The socket itself is not registered with the runtime: whoever pumps reads it directly, and the
//! connection's task watches it through a [`SocketWatch`] only while it waits for datagrams, so
//! that datagrams a fast-polling caller takes do not wake the runtime's thread.

use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;

/// Asked-for size of each socket's kernel send and receive buffers.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Bytes of one receive buffer: room for a GRO batch of full-size datagrams.
const RECEIVE_BUFFER_BYTES: usize = 64 * 1024;
/// Receive buffers per call (at most `quinn-udp`'s batch).
const RECEIVE_BUFFERS: usize = if BATCH_SIZE < 8 { BATCH_SIZE } else { 8 };

thread_local! {
    /// Receive buffers, one set per thread that pumps (the main thread and the runtime's worker),
    /// so that a connection costs no receive memory of its own.
    static RECEIVE_BUFFERS_OF_THREAD: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// One UDP socket.
pub(crate) struct UdpPort {
    socket: std::net::UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
}

/// The runtime watching a [`UdpPort`] for datagrams (a registration of a duplicate of its
/// handle); dropping it ends the watch.
pub(crate) struct SocketWatch {
    socket: tokio::net::UdpSocket,
}

impl SocketWatch {
    /// Waits until the socket may have datagrams, and forgets that it had, so that a datagram
    /// arriving from now on is seen again: the reads that follow go to the end of the queue.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await?;
        let nothing_read = || Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock));
        let _ = self.socket.try_io(Interest::READABLE, nothing_read);
        Ok(())
    }
}

impl UdpPort {
    /// Binds `address` (port 0 picks one).
    pub(crate) fn bind(address: SocketAddr) -> io::Result<Self> {
        Self::wrap(std::net::UdpSocket::bind(address)?)
    }

    /// Takes a bound standard socket.
    pub(crate) fn wrap(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        let state = UdpSocketState::new((&socket).into())?;
        if let Err(err) = state.set_recv_buffer_size((&socket).into(), SOCKET_BUFFER_BYTES) {
            log::debug!("cannot enlarge a UDP receive buffer: {err}");
        }
        if let Err(err) = state.set_send_buffer_size((&socket).into(), SOCKET_BUFFER_BYTES) {
            log::debug!("cannot enlarge a UDP send buffer: {err}");
        }
        let local = socket.local_addr()?;
        Ok(Self { socket, state, local })
    }

    /// The bound address (its IP may be the wildcard).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Starts a watch of the socket by the runtime. Must run inside the shared runtime's context.
    pub(crate) fn watch(&self) -> io::Result<SocketWatch> {
        Ok(SocketWatch { socket: tokio::net::UdpSocket::from_std(self.socket.try_clone()?)? })
    }

    /// Most datagrams one segmented send may carry.
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Reads what is waiting, without blocking, and hands each datagram to `deliver` with the
    /// local address it came in on and its sender. Returns how many datagrams were read (0 when
    /// nothing was waiting).
    pub(crate) fn receive(&self, mut deliver: impl FnMut(SocketAddr, SocketAddr, &[u8])) -> io::Result<usize> {
        RECEIVE_BUFFERS_OF_THREAD.with(|buffers| {
            let mut buffers = buffers.borrow_mut();
            if buffers.is_empty() {
                *buffers = vec![vec![0; RECEIVE_BUFFER_BYTES]; RECEIVE_BUFFERS];
            }
            let mut meta = [RecvMeta::default(); RECEIVE_BUFFERS];
            let mut slices: Vec<IoSliceMut<'_>> = buffers.iter_mut().map(|buffer| IoSliceMut::new(buffer)).collect();
            let count = match self.state.recv((&self.socket).into(), &mut slices, &mut meta) {
                Ok(count) => count,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(err) => return Err(err),
            };
            let mut datagrams = 0;
            for (slice, meta) in slices.iter().zip(meta.iter()).take(count) {
                let local = SocketAddr::new(meta.dst_ip.map_or(self.local.ip(), unmapped), self.local.port());
                // With GRO one buffer holds several datagrams of `stride` bytes from one sender.
                for datagram in slice[..meta.len].chunks(meta.stride.max(1)) {
                    deliver(local, meta.addr, datagram);
                    datagrams += 1;
                }
            }
            Ok(datagrams)
        })
    }

    /// Sends `contents` (one datagram, or several of `segment_size` bytes, the last possibly
    /// shorter) from `local` to `to`. A full send buffer drops it, as the network would.
    pub(crate) fn send(&self, local: SocketAddr, to: SocketAddr, contents: &[u8], segment_size: Option<usize>) {
        let src_ip = (self.local.ip().is_unspecified() && !local.ip().is_unspecified()).then_some(local.ip());
        let transmit = Transmit { destination: to, ecn: None, contents, segment_size, src_ip };
        // Sent directly: nothing waits for the socket to become writable.
        match self.state.try_send((&self.socket).into(), &transmit) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                log::trace!("send buffer full: dropped a datagram to {to}")
            }
            Err(err) => log::debug!("cannot send to {to}: {err}"),
        }
    }
}

/// An IPv4 address the system reports as IPv4-mapped IPv6, as plain IPv4.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}
