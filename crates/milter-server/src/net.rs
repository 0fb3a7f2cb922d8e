//! Address types of the configuration: the listening socket and CIDR networks.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the milter listens: `inet:HOST:PORT` (also `inet:[V6]:PORT`, and Sendmail's
/// `inet:PORT@HOST`) or `unix:PATH` (also `local:PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP socket.
    Inet {
        /// Host name or address (brackets removed from IPv6).
        host: String,
        /// Port; 0 picks a free one (tests).
        port: u16,
    },
    /// A unix-domain socket at this path.
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Inet { host, port } if host.contains(':') => write!(f, "inet:[{host}]:{port}"),
            Listen::Inet { host, port } => write!(f, "inet:{host}:{port}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Listen, String> {
        let bad = || {
            format!(
                "expected inet:HOST:PORT or unix:PATH (e.g. inet:127.0.0.1:8891, \
                 unix:/run/mailstamp/milter.sock), found {s:?}"
            )
        };
        if let Some(path) = s.strip_prefix("unix:").or_else(|| s.strip_prefix("local:")) {
            if !path.starts_with('/') {
                return Err(format!(
                    "the unix socket path must be absolute, found {path:?}"
                ));
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        let rest = s
            .strip_prefix("inet:")
            .or_else(|| s.strip_prefix("inet6:"))
            .ok_or_else(bad)?;
        let (host, port) = if let Some((port, host)) = rest.split_once('@') {
            (host, port)
        } else if let Some(v6) = rest.strip_prefix('[') {
            let (host, port) = v6.split_once("]:").ok_or_else(bad)?;
            (host, port)
        } else {
            rest.rsplit_once(':').ok_or_else(bad)?
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("invalid port {port:?} in {s:?}"))?;
        Ok(Listen::Inet {
            host: host.to_owned(),
            port,
        })
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An IP network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`; a bare address is a /32 or
/// /128). IPv4-mapped IPv6 client addresses (`::ffff:192.0.2.1`) match IPv4 networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("invalid network {s:?}: expected ADDRESS/PREFIX"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("invalid prefix length in {s:?}: expected 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether any network of `nets` holds `ip`.
pub fn in_networks(nets: &[Cidr], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        assert_eq!(
            "inet:127.0.0.1:8891".parse::<Listen>().unwrap(),
            Listen::Inet {
                host: "127.0.0.1".into(),
                port: 8891
            }
        );
        assert_eq!(
            "inet:8891@localhost".parse::<Listen>().unwrap(),
            Listen::Inet {
                host: "localhost".into(),
                port: 8891
            }
        );
        let v6 = "inet:[::1]:8891".parse::<Listen>().unwrap();
        assert_eq!(v6.to_string(), "inet:[::1]:8891");
        assert_eq!(
            "unix:/run/m.sock".parse::<Listen>().unwrap(),
            Listen::Unix("/run/m.sock".into())
        );
        assert!("unix:rel.sock".parse::<Listen>().is_err());
        assert!("tcp:1.2.3.4:5".parse::<Listen>().is_err());
        assert!("inet:1.2.3.4:99999".parse::<Listen>().is_err());
        assert!("inet::25".parse::<Listen>().is_err());
    }

    #[test]
    fn cidr_membership() {
        let n: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(n.contains("192.0.2.200".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!(!all.contains("2001:db8::1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let host: Cidr = "::1".parse().unwrap();
        assert_eq!(host.to_string(), "::1/128");
        assert!("192.0.2.0/33".parse::<Cidr>().is_err());
        assert!("nonsense/8".parse::<Cidr>().is_err());
    }
}
