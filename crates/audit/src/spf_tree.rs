//! Lookup counts per branch of an SPF evaluation, computed from its trace.

use mailstamp_spf::TraceEvent;
use serde::Serialize;

/// One record of an SPF evaluation tree (the checked domain's, or an `include`/`redirect`
/// target's) and the DNS lookups spent in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfBranch {
    /// Nesting level: 0 for the checked domain, +1 per `include`/`redirect`.
    pub depth: usize,
    /// Where the record is published.
    pub domain: String,
    /// The record, in canonical form.
    pub record: String,
    /// DNS-querying terms of this record itself that were evaluated (RFC 7208 §4.6.4).
    pub own_lookups: usize,
    /// DNS-querying terms evaluated in this record and everything it included.
    pub lookups: usize,
    /// Void lookups (NXDOMAIN or no records) in this record and everything it included.
    pub void_lookups: usize,
}

/// True for a term that counts against the lookup limit of RFC 7208 §4.6.4: `include`, `a`,
/// `mx`, `ptr`, `exists` (with any qualifier) and `redirect=`.
pub fn is_dns_term(term: &str) -> bool {
    let t = term.trim_start_matches(['+', '-', '~', '?']);
    if t.starts_with("redirect=") {
        return true;
    }
    let name = t.split([':', '/']).next().unwrap_or("");
    ["include", "a", "mx", "ptr", "exists"]
        .iter()
        .any(|m| name.eq_ignore_ascii_case(m))
}

struct Open {
    index: usize,
    depth: usize,
    lookups_at_start: usize,
    voids_at_start: usize,
}

/// The branches of an evaluation, in the order their records were entered, with the lookups
/// and void lookups spent in each (nested branches included in their parent's counts).
///
/// ```
/// use mailstamp_audit::branches;
/// use mailstamp_dns::{resolve_sync, Name, Zone};
/// use mailstamp_spf::{check_host, Options, Request};
///
/// let mut zone = Zone::new();
/// zone.add_txt(&Name::parse("example.com")?, ["v=spf1 a include:_spf.example.net -all"]);
/// zone.add_txt(&Name::parse("_spf.example.net")?, ["v=spf1 mx -all"]);
/// let request = Request::mail_from("240.0.0.1".parse()?, "a@example.com", "h.example");
/// let verdict = resolve_sync(check_host(&request, &Options::default().with_trace(true)), &zone);
/// let b = branches(&verdict.trace);
/// assert_eq!((b[0].domain.as_str(), b[0].own_lookups, b[0].lookups), ("example.com", 2, 3));
/// assert_eq!((b[1].domain.as_str(), b[1].lookups, b[1].void_lookups), ("_spf.example.net", 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn branches(trace: &[TraceEvent]) -> Vec<SpfBranch> {
    let mut out: Vec<SpfBranch> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut lookups = 0usize;
    let mut voids = 0usize;
    let close = |out: &mut Vec<SpfBranch>, o: Open, lookups: usize, voids: usize| {
        if let Some(b) = out.get_mut(o.index) {
            b.lookups = lookups.saturating_sub(o.lookups_at_start);
            b.void_lookups = voids.saturating_sub(o.voids_at_start);
        }
    };
    for event in trace {
        match event {
            TraceEvent::Record {
                depth,
                domain,
                text,
                ..
            } => {
                while open.last().is_some_and(|o| o.depth >= *depth) {
                    if let Some(o) = open.pop() {
                        close(&mut out, o, lookups, voids);
                    }
                }
                open.push(Open {
                    index: out.len(),
                    depth: *depth,
                    lookups_at_start: lookups,
                    voids_at_start: voids,
                });
                out.push(SpfBranch {
                    depth: *depth,
                    domain: domain.clone(),
                    record: text.clone(),
                    own_lookups: 0,
                    lookups: 0,
                    void_lookups: 0,
                });
            }
            TraceEvent::Term {
                depth,
                term,
                lookups: l,
                void_lookups: v,
                ..
            } => {
                lookups = *l;
                voids = *v;
                if is_dns_term(term)
                    && let Some(o) = open.iter().rev().find(|o| o.depth == *depth)
                    && let Some(b) = out.get_mut(o.index)
                {
                    b.own_lookups += 1;
                }
            }
            TraceEvent::Query { void_lookups, .. } => voids = *void_lookups,
            TraceEvent::Result { depth, .. } => {
                while open.last().is_some_and(|o| o.depth >= *depth) {
                    if let Some(o) = open.pop() {
                        close(&mut out, o, lookups, voids);
                    }
                }
            }
            TraceEvent::Outcome { .. } | TraceEvent::Note { .. } => {}
        }
    }
    while let Some(o) = open.pop() {
        close(&mut out, o, lookups, voids);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstamp_dns::{Name, Zone, resolve_sync};
    use mailstamp_spf::{Options, Request, check_host};

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn dns_terms() {
        for t in [
            "include:x.example",
            "-a",
            "~mx/24",
            "ptr",
            "?exists:%{i}.x",
            "redirect=x.example",
            "a:x.example//64",
        ] {
            assert!(is_dns_term(t), "{t}");
        }
        for t in [
            "ip4:192.0.2.1",
            "-all",
            "ip6:2001:db8::/32",
            "exp=x.example",
        ] {
            assert!(!is_dns_term(t), "{t}");
        }
    }

    #[test]
    fn rfc7208_4_6_4_counts_per_branch_with_redirect_and_nesting() {
        let mut zone = Zone::new();
        zone.add_txt(
            &n("example.com"),
            ["v=spf1 include:a.example.net redirect=r.example.org"],
        );
        zone.add_txt(
            &n("a.example.net"),
            ["v=spf1 a:gone.example.net include:b.example.net -all"],
        );
        zone.add_txt(&n("b.example.net"), ["v=spf1 mx:none.example.net ?all"]);
        zone.add_txt(&n("r.example.org"), ["v=spf1 exists:x.example.org -all"]);
        let request = Request::mail_from("240.0.0.1".parse().unwrap(), "a@example.com", "h");
        let options = Options::default()
            .with_trace(true)
            .with_void_lookup_limit(100);
        let verdict = resolve_sync(check_host(&request, &options), &zone);
        assert_eq!(verdict.lookups, 6);
        let b = branches(&verdict.trace);
        let summary: Vec<(usize, &str, usize, usize, usize)> = b
            .iter()
            .map(|b| {
                (
                    b.depth,
                    b.domain.as_str(),
                    b.own_lookups,
                    b.lookups,
                    b.void_lookups,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (0, "example.com", 2, 6, 3),
                (1, "a.example.net", 2, 3, 2),
                (2, "b.example.net", 1, 1, 1),
                (1, "r.example.org", 1, 1, 1),
            ]
        );
        assert_eq!(verdict.void_lookups, 3);
    }
}
