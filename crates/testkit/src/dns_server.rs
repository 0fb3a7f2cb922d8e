//! A real DNS server on the loopback address that serves a [`Zone`], for tests of the live
//! resolver path.
//!
//! [`TestServer::start`] binds UDP and TCP on the same ephemeral port of 127.0.0.1 and answers
//! from its own thread (with hickory-server), so it works from plain `#[test]`s, async tests
//! and tests that run the `mailstamp` binary alike. Dropping the server stops it.
//!
//! What the zone says becomes what the wire says:
//!
//! * records → NOERROR with the records (CNAME chains included, as [`Zone::answer`] gives
//!   them); NXDOMAIN → RCODE 3; NODATA → NOERROR with an empty answer;
//! * `Failed(ServFail)` → SERVFAIL, `Failed(Refused)` → REFUSED, `Failed(Other)` → NOTIMP;
//! * `Failed(Timeout)` → no response at all: the client times out.
//!
//! UDP responses are limited to 512 octets (RFC 1035 §4.2.1) whatever EDNS(0) buffer size the
//! client offers, so a large answer (a 4096-bit DKIM key) comes back truncated (TC=1) and the
//! client must retry over TCP. TXT strings longer than 255 octets are sent as several
//! character-strings of at most 255 (the wire cannot carry more in one).
//!
//! It does **not** implement zones, delegation, DNSSEC or anything beyond answering from the
//! [`Zone`]. It is a test helper: never a normal dependency.
//!
//! ```
//! use mailstamp_dns::{Name, Zone};
//! use mailstamp_testkit::TestServer;
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.org")?, ["v=spf1 -all"]);
//! let server = TestServer::start(zone);
//! assert!(server.addr().ip().is_loopback());
//! // ... point a resolver at server.addr() ...
//! drop(server); // stops it
//! # Ok::<(), mailstamp_dns::NameError>(())
//! ```

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
use hickory_server::proto::rr::{
    Name as HName, RData as HRData, Record as HRecord, RecordType as HType,
};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use mailstamp_dns::{Answer, FailureKind, Name, Query, RData, Record, RecordType, Zone};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest character-string on the wire (RFC 1035 §3.3).
const MAX_STRING: usize = 255;

/// How a [`TestServer`] behaves beyond what its zone says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Delay before every response (a benchmark models a 20 ms network this way).
    pub latency: Duration,
    /// Never answer anything, whatever the zone says: a silent nameserver.
    pub silent: bool,
}

/// Counters of what the server received.
#[derive(Debug, Default)]
struct Stats {
    udp: AtomicUsize,
    tcp: AtomicUsize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// A DNS server on 127.0.0.1 serving a [`Zone`]; stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts serving `zone` on an ephemeral port of 127.0.0.1 (UDP and TCP).
    ///
    /// # Panics
    ///
    /// When the loopback sockets cannot be bound (see [`TestServer::try_start`]).
    pub fn start(zone: Zone) -> TestServer {
        Self::with_options(zone, Options::default())
    }

    /// Starts a server that never answers.
    ///
    /// # Panics
    ///
    /// When the loopback sockets cannot be bound.
    pub fn silent() -> TestServer {
        Self::with_options(
            Zone::new(),
            Options {
                silent: true,
                ..Options::default()
            },
        )
    }

    /// Starts serving `zone` with `options`.
    ///
    /// # Panics
    ///
    /// When the loopback sockets cannot be bound.
    pub fn with_options(zone: Zone, options: Options) -> TestServer {
        match Self::try_start(zone, options) {
            Ok(server) => server,
            Err(e) => panic!("cannot start the test DNS server on 127.0.0.1: {e}"),
        }
    }

    /// Starts serving `zone` with `options`, or reports why the sockets could not be set up.
    pub fn try_start(zone: Zone, options: Options) -> io::Result<TestServer> {
        let (udp, tcp) = bind_pair()?;
        let addr = udp.local_addr()?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        let stats = Arc::new(Stats::default());
        let handler = ZoneHandler {
            zone,
            options,
            stats: stats.clone(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name(format!("testdns-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let sockets = tokio::net::UdpSocket::from_std(udp)
                        .and_then(|u| Ok((u, tokio::net::TcpListener::from_std(tcp)?)));
                    let (udp, tcp) = match sockets {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let mut server = Server::new(handler);
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(10), 64);
                    let _ = ready_tx.send(Ok(()));
                    let _ = stopped.await;
                    let _ = server.shutdown_gracefully().await;
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(TestServer {
                addr,
                stats,
                stop: Some(stop),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("the test DNS server thread ended early")),
        }
    }

    /// The address to send queries to (UDP and TCP share it).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received over UDP so far.
    pub fn udp_queries(&self) -> usize {
        self.stats.udp.load(Ordering::SeqCst)
    }

    /// Queries received over TCP so far.
    pub fn tcp_queries(&self) -> usize {
        self.stats.tcp.load(Ordering::SeqCst)
    }

    /// The most queries the server was handling at the same time (shows that a client sends
    /// queries concurrently when [`Options::latency`] is set).
    pub fn peak_in_flight(&self) -> usize {
        self.stats.peak.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A UDP socket and a TCP listener on the same ephemeral loopback port.
fn bind_pair() -> io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..32 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        match TcpListener::bind(udp.local_addr()?) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

struct ZoneHandler {
    zone: Zone,
    options: Options,
    stats: Arc<Stats>,
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    fn new(stats: &'a Stats) -> InFlight<'a> {
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn our_type(t: HType) -> Option<RecordType> {
    Some(match t {
        HType::A => RecordType::A,
        HType::AAAA => RecordType::Aaaa,
        HType::MX => RecordType::Mx,
        HType::TXT => RecordType::Txt,
        HType::PTR => RecordType::Ptr,
        HType::CNAME => RecordType::Cname,
        _ => return None,
    })
}

fn hname(n: &Name) -> Option<HName> {
    let mut name = HName::from_labels(n.label_octets()).ok()?;
    name.set_fqdn(true);
    Some(name)
}

fn to_wire(r: &Record) -> Option<HRecord> {
    let data = match &r.data {
        RData::A(a) => HRData::A(A(*a)),
        RData::Aaaa(a) => HRData::AAAA(AAAA(*a)),
        RData::Mx {
            preference,
            exchange,
        } => HRData::MX(MX::new(
            *preference,
            exchange
                .as_ref()
                .map_or_else(|| Some(HName::root()), hname)?,
        )),
        RData::Txt(t) => HRData::TXT(TXT::from_bytes(
            t.strings()
                .iter()
                .flat_map(|s| {
                    if s.is_empty() {
                        vec![s.as_slice()]
                    } else {
                        s.chunks(MAX_STRING).collect()
                    }
                })
                .collect(),
        )),
        RData::Ptr(n) => HRData::PTR(PTR(hname(n)?)),
        RData::Cname(n) => HRData::CNAME(CNAME(hname(n)?)),
    };
    Some(HRecord::from_rdata(hname(&r.name)?, r.ttl, data))
}

impl ZoneHandler {
    /// What the zone answers for the request's question (unknown types: NODATA when the name
    /// exists, else NXDOMAIN).
    fn answer(&self, request: &Request) -> Option<Answer> {
        let info = request.request_info().ok()?;
        let name = Name::from_labels(info.query.name().iter()).ok()?;
        Some(match our_type(info.query.query_type()) {
            Some(t) => self.zone.answer(&Query::new(name, t)),
            None => match self.zone.answer(&Query::new(name, RecordType::Txt)) {
                Answer::NxDomain => Answer::NxDomain,
                _ => Answer::NoData,
            },
        })
    }
}

#[async_trait::async_trait]
impl RequestHandler for ZoneHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        match request.protocol() {
            Protocol::Tcp => self.stats.tcp.fetch_add(1, Ordering::SeqCst),
            _ => self.stats.udp.fetch_add(1, Ordering::SeqCst),
        };
        let _in_flight = InFlight::new(&self.stats);
        if !self.options.latency.is_zero() {
            tokio::time::sleep(self.options.latency).await;
        }
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        let silent = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        if self.options.silent {
            return silent;
        }
        // No EDNS in the response: UDP answers stay within 512 octets (TC=1 beyond).
        let builder = MessageResponseBuilder::new(&request.queries, None);
        let (rcode, records): (ResponseCode, Vec<HRecord>) = match self.answer(request) {
            None => (ResponseCode::FormErr, Vec::new()),
            Some(Answer::Failed(FailureKind::Timeout)) => return silent,
            Some(Answer::Failed(FailureKind::ServFail)) => (ResponseCode::ServFail, Vec::new()),
            Some(Answer::Failed(FailureKind::Refused)) => (ResponseCode::Refused, Vec::new()),
            Some(Answer::Failed(FailureKind::Other)) => (ResponseCode::NotImp, Vec::new()),
            Some(Answer::NxDomain) => (ResponseCode::NXDomain, Vec::new()),
            Some(Answer::NoData) => (ResponseCode::NoError, Vec::new()),
            Some(Answer::Records(rs)) => (
                ResponseCode::NoError,
                rs.iter().filter_map(to_wire).collect(),
            ),
        };
        metadata.response_code = rcode;
        let response = builder.build(metadata, records.iter(), [], [], []);
        response_handle
            .send_response(response)
            .await
            .unwrap_or(silent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_strings_are_split_for_the_wire() {
        let r = Record {
            name: Name::parse("k.example").unwrap(),
            ttl: 1,
            data: RData::Txt(mailstamp_dns::Txt::new([vec![b'a'; 600], Vec::new()])),
        };
        let HRData::TXT(t) = to_wire(&r).unwrap().data else {
            panic!()
        };
        let lens: Vec<usize> = t.txt_data.iter().map(|s| s.len()).collect();
        assert_eq!(lens, vec![255, 255, 90, 0]);
    }

    #[test]
    fn start_and_drop() {
        let s = TestServer::start(Zone::new());
        assert_ne!(s.addr().port(), 0);
        assert_eq!(s.udp_queries() + s.tcp_queries(), 0);
        drop(s);
    }
}
