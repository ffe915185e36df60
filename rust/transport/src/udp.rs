//! A connection's UDP socket: non-blocking, with batched receives and segmented sends (GRO and
//! GSO through `quinn-udp` where the system has them, one datagram per call where it does not).
//! The socket itself is not registered with the runtime: whoever pumps reads it directly, and the
//! connection's task watches it through a [`SocketWatch`] only while it waits for datagrams, so
//! that datagrams a fast-polling caller takes do not wake the runtime's thread.

use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;

/// Asked-for size of each socket's kernel send and receive buffers.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Bytes of one receive buffer: room for a GRO batch of full-size datagrams.
const RECEIVE_BUFFER_BYTES: usize = 64 * 1024;
/// Whether an IPv4 source address may be named on a dual-stack socket's sends (see
/// [`UdpPort::send`]).
const IPV4_SOURCE_ON_DUAL_STACK: bool = cfg!(any(target_os = "linux", target_os = "android"));
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
    /// Whether it is an IPv6 socket that also carries IPv4 (as IPv4-mapped IPv6 addresses).
    dual_stack: bool,
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
    /// Binds `address` (port 0 picks one). The IPv6 wildcard `::` binds one dual-stack socket
    /// (IPv6 and IPv4 on every interface), or the IPv4 wildcard where the system has no IPv6;
    /// any other address binds exactly that.
    pub(crate) fn bind(address: SocketAddr) -> io::Result<Self> {
        if address.ip() != IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
            return Self::wrap(std::net::UdpSocket::bind(address)?);
        }
        let socket = bind_with_fallback(
            || bind_dual_stack(address.port()),
            || std::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), address.port())),
        )?;
        Self::wrap(socket)
    }

    /// Takes a bound standard socket.
    pub(crate) fn wrap(socket: std::net::UdpSocket) -> io::Result<Self> {
        let local = socket.local_addr()?;
        let dual_stack = local.is_ipv6() && !socket2::SockRef::from(&socket).only_v6()?;
        socket.set_nonblocking(true)?;
        let state = UdpSocketState::new((&socket).into())?;
        if let Err(err) = state.set_recv_buffer_size((&socket).into(), SOCKET_BUFFER_BYTES) {
            log::debug!("cannot enlarge a UDP receive buffer: {err}");
        }
        if let Err(err) = state.set_send_buffer_size((&socket).into(), SOCKET_BUFFER_BYTES) {
            log::debug!("cannot enlarge a UDP send buffer: {err}");
        }
        Ok(Self { socket, state, local, dual_stack })
    }

    /// The bound address (its IP may be the wildcard).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether the socket reaches both families: an IPv6 wildcard socket that carries IPv4 too.
    pub(crate) fn dual_stack(&self) -> bool {
        self.dual_stack
    }

    /// Whether the socket can send to `to`: same family, or IPv4 on a dual-stack socket.
    pub(crate) fn reaches(&self, to: IpAddr) -> bool {
        to.is_ipv4() == self.local.is_ipv4() || self.dual_stack
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
                    deliver(local, SocketAddr::new(unmapped(meta.addr.ip()), meta.addr.port()), datagram);
                    datagrams += 1;
                }
            }
            Ok(datagrams)
        })
    }

    /// Sends `contents` (one datagram, or several of `segment_size` bytes, the last possibly
    /// shorter) from `local` to `to`. A full send buffer drops it, as the network would.
    /// On a dual-stack socket an IPv4 destination goes out as its IPv4-mapped IPv6 address;
    /// a destination of a family the socket cannot reach is dropped.
    pub(crate) fn send(&self, local: SocketAddr, to: SocketAddr, contents: &[u8], segment_size: Option<usize>) {
        if !self.reaches(to.ip()) {
            log::trace!("dropped a datagram to {to}: the socket is bound to {}", self.local);
            return;
        }
        // The source is named where the socket is a wildcard; an IPv4 source on a dual-stack
        // socket only where the system is known to take it (Linux reads IPv4 packet information
        // on an IPv6 socket sending to an IPv4-mapped address; elsewhere the route chooses).
        let names_source = self.local.ip().is_unspecified()
            && !local.ip().is_unspecified()
            && (local.is_ipv6() || !self.dual_stack || IPV4_SOURCE_ON_DUAL_STACK);
        let src_ip = names_source.then_some(local.ip());
        let destination = match to {
            SocketAddr::V4(v4) if self.local.is_ipv6() => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            _ => to,
        };
        let transmit = Transmit { destination, ecn: None, contents, segment_size, src_ip };
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

/// An IPv6 wildcard socket on `port` that carries IPv4 too (`IPV6_V6ONLY` off, whatever the
/// system's default).
fn bind_dual_stack(port: u16) -> io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    socket.set_only_v6(false)?;
    socket.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port).into())?;
    Ok(socket.into())
}

/// The socket `dual_stack` binds, or where it cannot (a system without IPv6, or with IPv6
/// disabled) the one `ipv4` binds.
fn bind_with_fallback<S>(
    dual_stack: impl FnOnce() -> io::Result<S>,
    ipv4: impl FnOnce() -> io::Result<S>,
) -> io::Result<S> {
    dual_stack().or_else(|error| {
        log::info!("no dual-stack IPv6 socket ({error}): binding IPv4 only");
        ipv4()
    })
}

/// An IPv4 address the system reports as IPv4-mapped IPv6, as plain IPv4.
pub(crate) fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_bound_only_where_a_dual_stack_socket_cannot_be() {
        let no_ipv6 = || Err::<&str, _>(io::Error::from(io::ErrorKind::AddrNotAvailable));
        assert_eq!(bind_with_fallback(|| Ok("dual"), || Ok("v4")).ok(), Some("dual"));
        assert_eq!(bind_with_fallback(no_ipv6, || Ok("v4")).ok(), Some("v4"));
        let v4_fails_too = bind_with_fallback(no_ipv6, || Err(io::Error::from(io::ErrorKind::PermissionDenied)));
        assert_eq!(v4_fails_too.map_err(|error| error.kind()).err(), Some(io::ErrorKind::PermissionDenied));
    }

    #[test]
    fn mapped_addresses_are_unmapped() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("an address");
        assert_eq!(unmapped(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        let v6: IpAddr = "2001:db8::7".parse().expect("an address");
        assert_eq!(unmapped(v6), v6);
    }

    #[test]
    fn a_dual_stack_socket_talks_to_ipv4_and_ipv6_in_plain_addresses() {
        let Ok(port) = UdpPort::bind("[::]:0".parse().expect("an address")) else { return };
        if !port.dual_stack() {
            return; // a system without IPv6: the fallback bound IPv4 only
        }
        for peer_address in ["127.0.0.1:0", "[::1]:0"] {
            let peer = std::net::UdpSocket::bind(peer_address).expect("a peer socket");
            let peer_at = peer.local_addr().expect("its address");
            let to_port = SocketAddr::new(peer_at.ip(), port.local_addr().port());
            // From the wildcard, and from a named source address of the peer's family (a host
            // candidate's: IPv4 through the IPv6 socket's IPv4 packet information).
            port.send(port.local_addr(), peer_at, b"ping", None);
            port.send(to_port, peer_at, b"ping", None);
            let mut buffer = [0; 16];
            peer.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("a timeout");
            for _ in 0..2 {
                let (n, from) = peer.recv_from(&mut buffer).expect("the ping");
                assert_eq!((&buffer[..n], from), (&b"ping"[..], to_port));
            }
            peer.send_to(b"pong", to_port).expect("the pong");
            let mut got = Vec::new();
            for _ in 0..500 {
                port.receive(|local, from, datagram| got.push((local, from, datagram.to_vec()))).expect("a read");
                if !got.is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert_eq!(got.len(), 1, "{peer_address}");
            assert_eq!(got[0].1, peer_at, "the sender in its own family, unmapped");
            assert_eq!(got[0].0.ip(), peer_at.ip(), "the local address in the sender's family");
            assert_eq!(got[0].2, b"pong");
        }
    }
}
