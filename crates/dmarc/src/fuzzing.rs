//! Entry points for fuzz targets (`fuzz/fuzz_targets/dmarc_*.rs`). Each takes arbitrary bytes,
//! never panics, and checks invariants that must hold for every input.

use crate::{
    DmarcResult, EvaluationRequest, Identifiers, MAX_WALK_QUERIES, MechanismResult, Record,
    evaluate,
};
use mailstamp_dns::{Name, Zone, resolve_sync};

/// Parses `data` as a DMARC record and checks the parser's invariants: note offsets lie inside
/// the record, an accepted record has a usable policy exactly when RFC 9989 §4.10.1 says so.
pub fn record(data: &[u8]) {
    let Ok(record) = Record::parse(data) else {
        return;
    };
    for note in &record.notes() {
        assert!(note.offset <= data.len(), "note offset out of range");
    }
    for uri in record
        .aggregate_report_uris()
        .iter()
        .chain(&record.failure_report_uris())
    {
        assert!(uri.offset < data.len(), "URI offset out of range");
    }
    let usable = record.policy.is_some() || !record.aggregate_report_uris().is_empty();
    if !usable {
        assert!(
            record.effective.is_none(),
            "no p and no rua must give no policy"
        );
    }
}

/// Publishes `data` as the DMARC record of a deep domain and evaluates a message against it:
/// the walk never exceeds eight queries and a DNS-free zone never yields temperror.
pub fn evaluation(data: &[u8]) {
    let Ok(org) = Name::parse("example.com") else {
        return;
    };
    let Ok(author) = Name::parse("a.b.c.d.e.f.g.h.i.example.com") else {
        return;
    };
    let mut zone = Zone::new();
    if let Ok(name) = org.prepend("_dmarc") {
        zone.add_txt(&name, [data.to_vec()]);
    }
    let request = EvaluationRequest {
        author_domains: vec![author],
        identifiers: Identifiers::new().with_spf(MechanismResult::Pass, org),
        ..EvaluationRequest::default()
    };
    let verdict = resolve_sync(evaluate(request), &zone);
    if let Some(d) = &verdict.discovery {
        assert!(d.walk.queries_sent() <= MAX_WALK_QUERIES);
    }
    assert_ne!(verdict.result, DmarcResult::TempError);
}

/// The entry points, smoke-run on stable with deterministic inputs.
#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_smoke() {
        let seeds: [&[u8]; 6] = [
            b"v=DMARC1; p=reject; sp=none; np=quarantine; adkim=s; aspf=r; psd=n; t=y",
            b"v=DMARC1; rua=mailto:a@example.com!10m,https://x.test/r; ruf=mailto:b@x.test; fo=0:d:s",
            b"v=DMARC1; p=none; pct=0; rf=afrf; ri=1; unknown=1;;; =; a b=c",
            b"v=DMARC1;p=quarantine;psd=y",
            b"v = DMARC1 ; p = reject ; rua = mailto:%61@example.com",
            b"",
        ];
        // xorshift64: deterministic, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let seed = seeds[round % seeds.len()];
            let mut data = seed.to_vec();
            for _ in 0..(next() % 8) {
                let r = next();
                let pos = if data.is_empty() {
                    0
                } else {
                    (r as usize >> 8) % data.len()
                };
                match r % 4 {
                    0 if !data.is_empty() => data[pos] = (r >> 32) as u8,
                    1 => data.insert(pos, (r >> 40) as u8),
                    2 if !data.is_empty() => {
                        data.remove(pos);
                    }
                    _ => data.insert(pos, b";=!,:@"[(r >> 48) as usize % 6]),
                }
            }
            super::record(&data);
            if round % 10 == 0 {
                super::evaluation(&data);
            }
        }
    }
}
