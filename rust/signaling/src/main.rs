//! `webrtc-mesh-signaling`: the signaling server of the webrtc-mesh demo.

#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use signaling::limits::Limits;
use signaling::server::{health, serve, serve_shared, Config, ProxyHeader, RedisDirectory, Tls};
use signaling::turn_credentials::{TurnConfig, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS};

/// WebSocket signaling server for WebRTC meshes, speaking the protocol of Godot's
/// webrtc_signaling demo (JSON frames {type, id, data}; lobbies; the host is peer 1).
///
/// Every flag but --health-check can be given in the environment instead, as shown under each
/// ([env: WEBRTC_MESH_...]); the command line wins over the environment. The port also answers
/// a plain HTTP `GET /health` with 200 "ok" (for container and load-balancer health checks).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Do not serve: ask the server at --host and --port (0.0.0.0 or :: asks loopback) for
    /// GET /health, print the answer and exit 0 if it is 200, 1 otherwise (within 5 s). For a
    /// container's HEALTHCHECK, with the same environment as the server. Not read from the
    /// environment: there it would turn every server into a probe.
    #[arg(long)]
    health_check: bool,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, env = "WEBRTC_MESH_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one; the chosen port is printed).
    #[arg(long, env = "WEBRTC_MESH_PORT", default_value_t = 9080)]
    port: u16,
    /// Connected clients at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_CLIENTS", default_value_t = 4096)]
    max_clients: usize,
    /// Open lobbies at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_LOBBIES", default_value_t = 1024)]
    max_lobbies: usize,
    /// Peers in one lobby at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_LOBBY_PEERS", default_value_t = 64)]
    max_lobby_peers: usize,
    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "WEBRTC_MESH_MAX_FRAME_SIZE", default_value_t = 65536)]
    max_frame_size: usize,
    /// Seconds without any frame (pings are sent) before a client is closed.
    #[arg(long, env = "WEBRTC_MESH_IDLE_TIMEOUT", default_value_t = 30)]
    idle_timeout: u64,
    /// Seconds a client has to join a lobby.
    #[arg(long, env = "WEBRTC_MESH_JOIN_TIMEOUT", default_value_t = 10)]
    join_timeout: u64,
    /// Messages per second one client may send before it is closed for flooding.
    #[arg(long, env = "WEBRTC_MESH_MAX_MESSAGES_PER_SECOND", default_value_t = 100)]
    max_messages_per_second: u32,
    /// Share lobbies with every other instance started with the same Redis URL
    /// (redis://host:port/db): players on different instances meet in one lobby.
    #[arg(long, env = "WEBRTC_MESH_REDIS", hide_env_values = true, value_name = "URL")]
    redis: Option<String>,
    /// With --redis: seconds this instance's peers outlive it if it dies; the other instances
    /// remove them (PEER_DISCONNECT) within this and a third of it.
    #[arg(long, env = "WEBRTC_MESH_REDIS_LEASE", default_value_t = 6, value_name = "SECONDS")]
    redis_lease: u64,
    /// Connections still in their handshake (TLS, WebSocket) at most; past it new TCP
    /// connections are closed at once.
    #[arg(long, env = "WEBRTC_MESH_MAX_HANDSHAKES", default_value_t = 256)]
    max_handshakes: usize,
    /// Connections in their handshake from one address (IPv6: one /64) at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_HANDSHAKES_PER_SOURCE", default_value_t = 8)]
    max_handshakes_per_source: usize,
    /// Connected clients from one address (IPv6: one /64; behind a trusted proxy, the address
    /// it forwards) at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_CLIENTS_PER_SOURCE", default_value_t = 32)]
    max_clients_per_source: usize,
    /// Open lobbies created from one address (IPv6: one /64) at most.
    #[arg(long, env = "WEBRTC_MESH_MAX_LOBBIES_PER_SOURCE", default_value_t = 8)]
    max_lobbies_per_source: usize,
    /// JOINs naming a lobby that does not exist (lobby-name guesses) one address (IPv6: one
    /// /64) may make per hour, after a burst of 10.
    #[arg(long, env = "WEBRTC_MESH_MAX_JOIN_MISSES_PER_HOUR", default_value_t = 60)]
    max_join_misses_per_hour: u32,
    /// A reverse proxy whose connections count under the client address it forwards (in
    /// --proxy-header); repeat it, or separate several with commas (so in the environment).
    #[arg(long = "trusted-proxy", env = "WEBRTC_MESH_TRUSTED_PROXY", value_delimiter = ',', value_name = "ADDR")]
    trusted_proxies: Vec<IpAddr>,
    /// The header the trusted proxies append the client's address to (the last hop is used).
    #[arg(long, env = "WEBRTC_MESH_PROXY_HEADER", value_enum, default_value_t = HeaderArg::XForwardedFor)]
    proxy_header: HeaderArg,
    /// Serve wss:// with this certificate chain (PEM, the server's certificate first); needs
    /// --tls-key. Both files are read again on SIGHUP.
    #[arg(long, env = "WEBRTC_MESH_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "WEBRTC_MESH_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    // TURN credentials for lobby members (the TURN REST scheme of coturn's use-auth-secret).
    /// Secret shared with the TURN server (coturn: use-auth-secret, static-auth-secret=SECRET):
    /// a lobby member who asks gets credentials made with it that expire after --turn-ttl.
    /// Better given in the environment, where `ps` does not show it.
    #[arg(long, env = "WEBRTC_MESH_TURN_SECRET", hide_env_values = true, value_name = "SECRET")]
    turn_secret: Option<String>,
    /// A TURN server's URL sent with the credentials (turn:HOST:3478?transport=udp,
    /// turns:HOST:5349?transport=tcp, ...); repeat it, or separate several with commas (so in
    /// the environment). Needed with --turn-secret.
    #[arg(long = "turn-url", env = "WEBRTC_MESH_TURN_URL", value_delimiter = ',', value_name = "URL",
        value_parser = parse_turn_url)]
    turn_urls: Vec<String>,
    /// Seconds TURN credentials stay valid (60 to 86400).
    #[arg(long, env = "WEBRTC_MESH_TURN_TTL", value_name = "SECONDS", default_value_t = DEFAULT_TTL_SECONDS,
        value_parser = clap::value_parser!(u64).range(MIN_TTL_SECONDS..=MAX_TTL_SECONDS))]
    turn_ttl: u64,
}

/// --proxy-header's values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum HeaderArg {
    /// X-Forwarded-For: client, proxy1, ...
    XForwardedFor,
    /// Forwarded: for=client (RFC 7239).
    Forwarded,
}

/// A `--turn-url`: a `turn:` or `turns:` URL.
fn parse_turn_url(url: &str) -> Result<String, String> {
    if (url.starts_with("turn:") || url.starts_with("turns:")) && !url.contains(char::is_whitespace) {
        Ok(url.to_owned())
    } else {
        Err("a TURN URL starts with turn: or turns: and has no spaces".into())
    }
}

/// The TURN credentials' configuration from the flags; `None` without --turn-secret.
fn turn_config(args: &Args) -> Result<Option<TurnConfig>, String> {
    match (&args.turn_secret, args.turn_urls.is_empty()) {
        (None, true) => Ok(None),
        (None, false) => Err("--turn-url needs --turn-secret (or WEBRTC_MESH_TURN_SECRET)".into()),
        (Some(secret), _) if secret.is_empty() => Err("the TURN secret is empty".into()),
        (Some(_), true) => Err("--turn-secret needs at least one --turn-url".into()),
        (Some(secret), false) => Ok(Some(TurnConfig::new(secret.clone(), args.turn_urls.clone(), args.turn_ttl))),
    }
}

/// Where --health-check asks: the server's address, loopback for an unspecified one.
fn health_check_address(args: &Args) -> SocketAddr {
    let host = match args.host {
        IpAddr::V4(host) if host.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(host) if host.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        host => host,
    };
    SocketAddr::new(host, args.port)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.health_check {
        let address = health_check_address(&args);
        match health::check(address).await {
            Ok(()) => println!("healthy: {address} answered 200"),
            Err(error) => {
                println!("unhealthy: {address}: {error}");
                std::process::exit(1);
            }
        }
        return;
    }
    let turn = match turn_config(&args) {
        Ok(turn) => turn,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    if let Some(turn) = &turn {
        println!("TURN credentials for {} URL(s), valid {} s", args.turn_urls.len(), turn.ttl_seconds());
    }
    let mut config = Config {
        limits: Limits {
            max_clients: args.max_clients,
            max_lobbies: args.max_lobbies,
            max_lobby_peers: args.max_lobby_peers,
            join_timeout: Duration::from_secs(args.join_timeout.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
            max_messages_per_second: args.max_messages_per_second.max(1),
            max_handshakes: args.max_handshakes.max(1),
            max_handshakes_per_source: args.max_handshakes_per_source.max(1),
            max_clients_per_source: args.max_clients_per_source.max(1),
            max_lobbies_per_source: args.max_lobbies_per_source.max(1),
            max_join_misses_per_hour: args.max_join_misses_per_hour.max(1),
        },
        max_frame_size: args.max_frame_size,
        tls: None,
        trusted_proxies: args.trusted_proxies.clone(),
        proxy_header: match args.proxy_header {
            HeaderArg::XForwardedFor => ProxyHeader::XForwardedFor,
            HeaderArg::Forwarded => ProxyHeader::Forwarded,
        },
        turn,
    };
    if let (Some(certificate), Some(key)) = (&args.tls_cert, &args.tls_key) {
        match Tls::load(certificate, key) {
            Ok(tls) => {
                match tls.clone().reload_on_hangup() {
                    Ok(reloads) => drop(tokio::spawn(reloads)),
                    Err(error) => eprintln!("cannot watch SIGHUP (no certificate reloads): {error}"),
                }
                config.tls = Some(tls);
            }
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        }
    }
    let directory = match &args.redis {
        Some(url) => match RedisDirectory::connect(url, Duration::from_secs(args.redis_lease.max(1))).await {
            Ok(directory) => Some(directory),
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(1);
            }
        },
        None => None,
    };
    let listener = match tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {}:{}: {error}", args.host, args.port);
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("listening on {}://{address}", if config.tls.is_some() { "wss" } else { "ws" }),
        Err(error) => eprintln!("listening (address unknown: {error})"),
    }
    let Some(directory) = directory else {
        tokio::select! {
            _ = serve(listener, config) => {}
            _ = tokio::signal::ctrl_c() => println!("stopping"),
        }
        return;
    };
    println!("sharing lobbies through Redis as instance {}", directory.instance());
    tokio::select! {
        error = serve_shared(listener, config, directory) => {
            eprintln!("stopping: {error}");
            std::process::exit(1);
        }
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
}

#[cfg(test)]
mod tests {
    //! The command line alone (the environment is the process's: `tests/deployment.rs` runs the
    //! binary with variables set, to see them taken and the command line win).

    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("webrtc-mesh-signaling").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn repeated_flags_take_commas_as_the_environment_does() {
        let args = parse(&[
            "--trusted-proxy",
            "10.0.0.1,10.0.0.2",
            "--trusted-proxy",
            "::1",
            "--turn-secret",
            "s",
            "--turn-url",
            "turn:a:3478?transport=udp,turns:a:5349?transport=tcp",
        ]);
        let proxies: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "::1"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(args.trusted_proxies, proxies);
        assert_eq!(args.turn_urls, ["turn:a:3478?transport=udp", "turns:a:5349?transport=tcp"]);
        assert!(Args::try_parse_from(["x", "--turn-url", "turn:a,http://b"]).is_err(), "each piece is checked");
    }

    #[test]
    fn the_health_check_asks_loopback_for_an_unspecified_host() {
        let address = |host: &str| health_check_address(&parse(&["--host", host, "--port", "9443", "--health-check"]));
        assert_eq!(address("0.0.0.0"), "127.0.0.1:9443".parse().unwrap());
        assert_eq!(address("::"), "[::1]:9443".parse().unwrap());
        assert_eq!(address("198.51.100.7"), "198.51.100.7:9443".parse().unwrap());
        assert!(!parse(&[]).health_check);
    }
}
