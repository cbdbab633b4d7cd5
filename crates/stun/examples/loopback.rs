//! The STUN server and a client round trip in one process, on loopback only.
//!
//! `cargo run -p stun --example loopback`
use std::sync::Arc;

use stun::client::{binding, binding_tcp, BindingOptions};
use stun::server::{serve_tcp, serve_udp, BindingServer, ServerStats};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), stun::Error> {
    let server = Arc::new(BindingServer::new("peerstack example"));
    let stats = Arc::new(ServerStats::default());
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let addr = udp.local_addr()?;
    let tcp = tokio::net::TcpListener::bind(addr).await?;
    tokio::spawn(serve_udp(udp, server.clone(), stats.clone()));
    tokio::spawn(serve_tcp(tcp, server, stats.clone()));
    println!("server listening on {addr} (UDP and TCP)");

    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let options = BindingOptions::default();
    let start = std::time::Instant::now();
    let mapped = binding(&client, addr, &options).await?;
    println!(
        "UDP: client {} sees itself as {mapped} ({:?})",
        client.local_addr()?,
        start.elapsed()
    );
    assert_eq!(mapped, client.local_addr()?);

    let mapped = binding_tcp(addr, &options).await?;
    println!("TCP: server-reflexive address {mapped}");
    println!(
        "responses sent: {}",
        stats.responses.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}
