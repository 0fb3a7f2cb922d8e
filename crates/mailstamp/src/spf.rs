//! SPF (RFC 7208): the `mailstamp-spf` crate re-exported whole (`mailstamp::spf::Record`,
//! [`check_host`], ...), and its driver over the [`Resolver`]: `mailstamp_spf::check_host` driven through the shared
//! cache, with the wall-clock budget that RFC 7208 §4.6.4 leaves to the caller.
//!
//! The evaluator counts every RFC limit itself; this driver adds only time. Each step's
//! queries (the `mx` fan-out asks for several names at once) are resolved concurrently.
//!
//! ```
//! use mailstamp::{Resolver, spf};
//! use mailstamp_dns::{Name, Zone};
//! use mailstamp_spf::{Options, Request, SpfResult};
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.com")?, ["v=spf1 ip4:192.0.2.0/24 -all"]);
//! let resolver = Resolver::offline(zone);
//! let request = Request::mail_from("192.0.2.7".parse()?, "a@example.com", "mx.example.com");
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
//! let verdict = runtime.block_on(spf::check(&resolver, &request, &Options::default()));
//! assert_eq!(verdict.result, SpfResult::Pass);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use mailstamp_spf::*;

use crate::Resolver;
use std::time::Duration;

pub use crate::DEFAULT_TIME_LIMIT;

/// Runs `check_host()` with the default budget of [`DEFAULT_TIME_LIMIT`].
pub async fn check(resolver: &Resolver, request: &Request, options: &Options) -> SpfVerdict {
    check_within(resolver, request, options, DEFAULT_TIME_LIMIT).await
}

/// Runs `check_host()`, the records it fetches parsed once per TTL through the resolver's
/// [`ParsedRecords`](crate::ParsedRecords); if it has not finished after `limit`, the verdict is `temperror`
/// with [`mailstamp_spf::SpfProblem::TimeLimit`] (RFC 7208 §4.6.4). One driver,
/// [`crate::drive_within`], runs this and every other machine.
pub async fn check_within(
    resolver: &Resolver,
    request: &Request,
    options: &Options,
    limit: Duration,
) -> SpfVerdict {
    let parser: &dyn RecordParser = resolver;
    match check_host_with(request, options, Some(parser)) {
        // Every record at hand in the resolver's cache: done without a step.
        Step::Done(verdict) => verdict,
        // Boxed, so that this future stays small for the common case above.
        waiting => Box::pin(crate::drive_within(waiting, resolver, limit)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DnsSource, LiveConfig};
    use mailstamp_dns::{Name, Zone};
    use mailstamp_spf::{SpfProblem, SpfResult};
    use mailstamp_testkit::TestServer;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn rfc7208_5_4_mx_fan_out_through_the_cache() {
        let mut zone = Zone::new();
        let d = Name::parse("example.com").unwrap();
        zone.add_txt(&d, ["v=spf1 mx -all"]);
        for (i, host) in ["a.example.com", "b.example.com"].iter().enumerate() {
            let h = Name::parse(host).unwrap();
            zone.add(
                &d,
                mailstamp_dns::RData::Mx {
                    preference: u16::try_from(i).unwrap(),
                    exchange: Some(h.clone()),
                },
            );
            zone.add(
                &h,
                mailstamp_dns::RData::A(format!("192.0.2.{}", i + 1).parse().unwrap()),
            );
        }
        let resolver = Resolver::offline(zone);
        let request =
            Request::mail_from("192.0.2.2".parse().unwrap(), "x@example.com", "h.example");
        let v = runtime().block_on(check(&resolver, &request, &Options::default()));
        assert_eq!((v.result, v.lookups), (SpfResult::Pass, 1));
    }

    #[test]
    fn rfc7208_4_6_4_time_limit_gives_temperror() {
        let server = TestServer::silent();
        let rt = runtime();
        let resolver = {
            let _guard = rt.enter();
            Resolver::builder(DnsSource::Live(LiveConfig {
                nameservers: vec![server.addr()],
                timeout: Duration::from_secs(30),
                attempts: 1,
            }))
            .build()
            .unwrap()
        };
        let request =
            Request::mail_from("192.0.2.1".parse().unwrap(), "x@example.com", "h.example");
        let v = rt.block_on(check_within(
            &resolver,
            &request,
            &Options::default(),
            Duration::from_millis(300),
        ));
        assert_eq!(v.result, SpfResult::TempError);
        assert_eq!(v.problem, Some(SpfProblem::TimeLimit { millis: 300 }));
    }
}
