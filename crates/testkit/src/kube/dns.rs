//! The DNS server a VPC's resolver would be, for the host names of the fake's EKS load balancers
//! (see `controllers/load_balancers.rs`): UDP and TCP on one port of 127.0.0.1, started with the
//! API server. RFC 1035 messages: the answer echoes the query's id, opcode, RD flag and question
//! (as sent, case and all), sets QR and RA (a resolver's answer, not an authority's), and holds
//! one A record per address, TTL 60 as an ELB's. A name no load balancer has is NXDOMAIN; a
//! known name asked for another type is an empty answer. Not served: opcodes other than QUERY
//! (NOTIMP), several questions or compressed names in a query (FORMERR), EDNS (an OPT record is
//! ignored and none is sent).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;

use super::controllers;
use super::server::Shared;

const A: u16 = 1;
const ANY: u16 = 255;
const IN: u16 = 1;
const TTL: u32 = 60;
const HEADER: usize = 12;

/// Response codes.
const FORMERR: u16 = 1;
const NXDOMAIN: u16 = 3;
const NOTIMP: u16 = 4;

/// The running DNS server; dropping it stops it.
pub(super) struct DnsServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Serves the names `shared`'s load balancers have, on a free port for both UDP and TCP.
    pub fn start(shared: Arc<Shared>) -> std::io::Result<DnsServer> {
        let (udp, tcp) = bind()?;
        let addr = udp.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("fake-dns-{}", addr.port()))
            .spawn(move || runtime.block_on(serve(udp, tcp, shared, stopped)))?;
        Ok(DnsServer { addr, shutdown: Some(shutdown), thread: Some(thread) })
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A UDP and a TCP socket on the same free port: another process may take the TCP port
/// between the two binds, so a few ports are tried.
fn bind() -> std::io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
    let mut last = None;
    for _ in 0..10 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        match std::net::TcpListener::bind(udp.local_addr()?) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port")))
}

async fn serve(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let (Ok(()), Ok(())) = (udp.set_nonblocking(true), tcp.set_nonblocking(true)) else { return };
    let (Ok(udp), Ok(tcp)) = (UdpSocket::from_std(udp), TcpListener::from_std(tcp)) else { return };
    // A UDP message is at most 512 bytes without EDNS, which is all a query needs.
    let mut buffer = [0u8; 512];
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            received = udp.recv_from(&mut buffer) => {
                let Ok((length, peer)) = received else { continue };
                if let Some(reply) = answer(&shared, &buffer[..length]) {
                    let _ = udp.send_to(&reply, peer).await;
                }
            }
            accepted = tcp.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                tokio::spawn(serve_tcp(stream, shared.clone()));
            }
        }
    }
}

/// Over TCP each message is preceded by its length (two bytes); a connection may carry several.
async fn serve_tcp(mut stream: TcpStream, shared: Arc<Shared>) {
    while let Ok(length) = stream.read_u16().await {
        let mut query = vec![0; usize::from(length)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let Some(reply) = answer(&shared, &query) else { continue };
        let Ok(length) = u16::try_from(reply.len()) else { return };
        if stream.write_u16(length).await.is_err() || stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The reply to one message, from the state as every client sees it.
fn answer(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    respond(query, |host| controllers::resolve(&shared.settled(), host))
}

/// The reply to `query`, given the addresses a name has (`None`: no such name); `None` when
/// the message is too short to answer or is itself a response.
pub(super) fn respond(query: &[u8], addresses: impl FnOnce(&str) -> Option<Vec<Ipv4Addr>>) -> Option<Vec<u8>> {
    let header = query.get(..HEADER)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 != 0 {
        return None;
    }
    let opcode = (flags >> 11) & 0xf;
    let question = question(query);
    let (rcode, answers) = match &question {
        _ if opcode != 0 => (NOTIMP, Vec::new()),
        None => (FORMERR, Vec::new()),
        Some(q) => match addresses(&q.name) {
            None => (NXDOMAIN, Vec::new()),
            Some(found) if q.class == IN && (q.kind == A || q.kind == ANY) => (0, found),
            Some(_) => (0, Vec::new()),
        },
    };
    // QR, the opcode and RD as asked, RA.
    let flags = 0x8000 | (opcode << 11) | (flags & 0x0100) | 0x0080 | rcode;
    let echoed = question.as_ref().map_or(&[][..], |q| q.bytes);
    let mut reply = Vec::with_capacity(HEADER + echoed.len() + 16 * answers.len());
    reply.extend_from_slice(&header[..2]);
    for field in [flags, u16::from(question.is_some()), answers.len() as u16, 0, 0] {
        reply.extend_from_slice(&field.to_be_bytes());
    }
    reply.extend_from_slice(echoed);
    for address in answers {
        // The name is a pointer to the question's, right after the header.
        reply.extend_from_slice(&(0xc000 | HEADER as u16).to_be_bytes());
        reply.extend_from_slice(&A.to_be_bytes());
        reply.extend_from_slice(&IN.to_be_bytes());
        reply.extend_from_slice(&TTL.to_be_bytes());
        reply.extend_from_slice(&4u16.to_be_bytes());
        reply.extend_from_slice(&address.octets());
    }
    Some(reply)
}

/// A query's only question.
struct Question<'q> {
    /// The name without its final dot, as sent.
    name: String,
    kind: u16,
    class: u16,
    /// The question as it is on the wire, to echo.
    bytes: &'q [u8],
}

/// The question of a query that has exactly one, its name uncompressed.
fn question(query: &[u8]) -> Option<Question<'_>> {
    if query.get(4..6)? != [0, 1] {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = HEADER;
    loop {
        let length = usize::from(*query.get(at)?);
        at += 1;
        if length == 0 {
            break;
        }
        // The top two bits mark a pointer (or a reserved form): not in a query.
        if length & 0xc0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + length)?).into_owned());
        at += length;
    }
    let fixed = query.get(at..at + 4)?;
    Some(Question {
        name: labels.join("."),
        kind: u16::from_be_bytes([fixed[0], fixed[1]]),
        class: u16::from_be_bytes([fixed[2], fixed[3]]),
        bytes: &query[HEADER..at + 4],
    })
}
