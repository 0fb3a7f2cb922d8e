//! The live source: hickory-resolver, mapped onto the four-way [`Answer`].

use super::{ResolverError, ttl_of};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name as HName, RData as HRData, RecordType as HType};
use mailstamp_dns::{Answer, FailureKind, Name, Query, RData, Record, RecordType, Txt};
use std::net::SocketAddr;
use std::time::Duration;

/// How the live resolver reaches the DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// The nameservers to ask (UDP, with TCP when an answer is truncated). Empty: the system
    /// configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// The most time one query may take, all attempts included. A silent nameserver yields
    /// [`FailureKind::Timeout`] when it runs out.
    pub timeout: Duration,
    /// How many times a query is sent before giving up (at least 1); each try gets an equal
    /// share of [`LiveConfig::timeout`].
    pub attempts: usize,
}

impl Default for LiveConfig {
    /// The system nameservers, 5 seconds, 2 attempts.
    fn default() -> Self {
        LiveConfig {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

pub(super) struct Live {
    resolver: TokioResolver,
    timeout: Duration,
}

impl Live {
    pub(super) fn new(config: &LiveConfig) -> Result<Live, ResolverError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if config.nameservers.is_empty() {
            TokioResolver::builder(provider)
                .map_err(|e| ResolverError::SystemConfig(e.to_string()))?
        } else {
            let servers = config
                .nameservers
                .iter()
                .map(|addr| {
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut ns.connections {
                        c.port = addr.port();
                    }
                    ns
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let attempts = config.attempts.max(1);
        let per_try = config
            .timeout
            .checked_div(u32::try_from(attempts).unwrap_or(u32::MAX))
            .unwrap_or(config.timeout)
            .max(Duration::from_millis(1));
        let opts = builder.options_mut();
        opts.timeout = per_try;
        // hickory counts retries after the first try.
        opts.attempts = attempts - 1;
        // Our own cache honours TTLs and records answers; hickory's would hide both.
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.preserve_intermediates = true;
        opts.ndots = 0;
        let resolver = builder
            .build()
            .map_err(|e| ResolverError::Setup(e.to_string()))?;
        Ok(Live {
            resolver,
            timeout: config.timeout,
        })
    }

    /// Looks `query` up; returns the answer and how long it may be cached.
    pub(super) async fn lookup(&self, query: &Query) -> (Answer, u32) {
        // Label by label: a label may hold any octet (RFC 2181 §11), spaces included.
        let Ok(mut name) = HName::from_labels(query.name.label_octets()) else {
            return (Answer::Failed(FailureKind::Other), super::FAILURE_TTL);
        };
        name.set_fqdn(true);
        let lookup = self.resolver.lookup(name, hickory_type(query.rtype));
        // Backstop: whatever hickory does, a query never outlives the configured timeout.
        let result = match tokio::time::timeout(self.timeout, lookup).await {
            Ok(result) => result,
            Err(_elapsed) => return (Answer::Failed(FailureKind::Timeout), super::FAILURE_TTL),
        };
        let (answer, negative) = match result {
            Ok(lookup) => {
                let records: Vec<Record> = lookup.answers().iter().filter_map(convert).collect();
                if records.is_empty() {
                    (Answer::NoData, None)
                } else {
                    (Answer::Records(records.into()), None)
                }
            }
            Err(e) => map_error(&e),
        };
        let ttl = ttl_of(&answer, negative);
        (answer, ttl)
    }
}

/// The four-way answer for a hickory error, and the negative TTL the server gave.
fn map_error(e: &NetError) -> (Answer, Option<u32>) {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            let answer = if nr.response_code == ResponseCode::NXDomain {
                Answer::NxDomain
            } else {
                Answer::NoData
            };
            (answer, nr.negative_ttl)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            (Answer::Failed(FailureKind::ServFail), None)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            (Answer::Failed(FailureKind::Refused), None)
        }
        NetError::Timeout => (Answer::Failed(FailureKind::Timeout), None),
        _ => (Answer::Failed(FailureKind::Other), None),
    }
}

fn hickory_type(t: RecordType) -> HType {
    match t {
        RecordType::A => HType::A,
        RecordType::Aaaa => HType::AAAA,
        RecordType::Mx => HType::MX,
        RecordType::Txt => HType::TXT,
        RecordType::Ptr => HType::PTR,
        RecordType::Cname => HType::CNAME,
    }
}

fn name_of(h: &HName) -> Option<Name> {
    Name::from_labels(h.iter()).ok()
}

/// A hickory record as a mailstamp record; `None` for types mailstamp does not ask for (and
/// names it cannot represent).
fn convert(r: &hickory_resolver::proto::rr::Record) -> Option<Record> {
    let data = match &r.data {
        HRData::A(a) => RData::A(a.0),
        HRData::AAAA(a) => RData::Aaaa(a.0),
        HRData::TXT(t) => RData::Txt(Txt::new(t.txt_data.iter().map(|s| s.to_vec()))),
        HRData::MX(mx) => RData::Mx {
            preference: mx.preference,
            exchange: if mx.exchange.is_root() {
                None
            } else {
                Some(name_of(&mx.exchange)?)
            },
        },
        HRData::PTR(p) => RData::Ptr(name_of(&p.0)?),
        HRData::CNAME(c) => RData::Cname(name_of(&c.0)?),
        _ => return None,
    };
    Some(Record {
        name: name_of(&r.name)?,
        ttl: r.ttl,
        data,
    })
}
