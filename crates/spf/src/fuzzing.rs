//! Fuzz target bodies, as plain functions so they run on stable Rust without libFuzzer
//! (`fuzz/fuzz_targets/spf_*.rs` call them; so do the smoke tests).
//!
//! Both check invariants with `assert!`: a failed assertion is the bug a fuzzer reports.

use crate::{Lookup, MAX_DNS_MECHANISMS, Options, Record, Request, SpfResult, Step, check_host};
use mailstamp_dns::{Answer, FailureKind, Name, Query, RData, Record as Rr, RecordType, Txt};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses arbitrary bytes as a record; a parsed record must print to text that parses back to
/// an equal record.
pub fn parse_record(data: &[u8]) {
    if let Ok(record) = Record::parse_bytes(data) {
        let text = record.to_string();
        let again = Record::parse(&text);
        assert_eq!(
            again.as_ref(),
            Ok(&record),
            "canonical text {text:?} must round-trip"
        );
    }
}

/// Runs `check_host()` for `example.com` with arbitrary DNS answers.
///
/// Layout: byte 0 picks the client family (odd: IPv6 from the next 16 bytes, even: IPv4 from
/// the next 4); the rest is split at `\n` into chunks. Chunk 0 is the TXT record of
/// `example.com`; every later query takes the next chunk: first byte 0 = NXDOMAIN, 1 = NODATA,
/// 2 = timeout, 3 = SERVFAIL, anything else = records of the asked type built from the rest
/// (TXT text, 4- or 16-byte addresses, or comma-separated MX/PTR names). When chunks run out,
/// answers are NXDOMAIN.
pub fn evaluate(data: &[u8]) {
    let (ip, rest) = match data.split_first() {
        Some((b, rest)) if b & 1 == 1 => {
            let mut o = [0u8; 16];
            for (d, s) in o.iter_mut().zip(rest) {
                *d = *s;
            }
            (IpAddr::V6(Ipv6Addr::from(o)), rest.get(16..).unwrap_or(&[]))
        }
        Some((_, rest)) => {
            let mut o = [0u8; 4];
            for (d, s) in o.iter_mut().zip(rest) {
                *d = *s;
            }
            (IpAddr::V4(Ipv4Addr::from(o)), rest.get(4..).unwrap_or(&[]))
        }
        None => (IpAddr::V4(Ipv4Addr::LOCALHOST), &[][..]),
    };
    let mut chunks = rest.split(|&b| b == b'\n');
    let top = chunks.next().unwrap_or(&[]).to_vec();
    let request = Request::mail_from(ip, "user@example.com", "helo.example.org").with_now(1);
    let options = Options::default()
        .with_trace(true)
        .with_receiver("mx.example")
        .with_default_explanation("%{i} %{p} %{c} %{r} %{t}");
    let mut step = check_host(&request, &options);
    let mut first = true;
    let mut rounds = 0usize;
    let verdict = loop {
        match step {
            Step::Done(v) => break v,
            Step::Lookup(pending) => {
                rounds += 1;
                assert!(rounds < 1000, "evaluation must terminate");
                let answers = pending
                    .queries()
                    .iter()
                    .map(|q| {
                        if first && q.rtype == RecordType::Txt {
                            first = false;
                            return records(q, RecordType::Txt, &top);
                        }
                        match chunks.next() {
                            Some(chunk) => answer_from(q, chunk),
                            None => Answer::NxDomain,
                        }
                    })
                    .collect();
                step = pending.resume(answers);
            }
        }
    };
    assert!(verdict.lookups <= MAX_DNS_MECHANISMS + 1);
    assert!(verdict.void_lookups <= options.void_lookup_limit() + 2);
    if let Some(p) = &verdict.problem {
        assert_eq!(p.result(), verdict.result);
    }
    if verdict.explanation.is_some() {
        assert_eq!(verdict.result, SpfResult::Fail);
        assert!(verdict.explanation.iter().all(|e| e.is_ascii()));
    }
}

fn answer_from(q: &Query, chunk: &[u8]) -> Answer {
    match chunk.split_first() {
        None | Some((0, _)) => Answer::NxDomain,
        Some((1, _)) => Answer::NoData,
        Some((2, _)) => Answer::Failed(FailureKind::Timeout),
        Some((3, _)) => Answer::Failed(FailureKind::ServFail),
        Some((_, rest)) => records(q, q.rtype, rest),
    }
}

fn records(q: &Query, rtype: RecordType, bytes: &[u8]) -> Answer {
    let data: Vec<RData> = match rtype {
        RecordType::Txt => vec![RData::Txt(Txt::new(bytes.chunks(255).map(<[u8]>::to_vec)))],
        RecordType::A => bytes
            .chunks_exact(4)
            .map(|c| RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(c).unwrap_or([0; 4]))))
            .collect(),
        RecordType::Aaaa => bytes
            .chunks_exact(16)
            .map(|c| RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap_or([0; 16]))))
            .collect(),
        RecordType::Mx | RecordType::Ptr | RecordType::Cname => bytes
            .split(|&b| b == b',')
            .enumerate()
            .filter_map(|(i, n)| {
                let name = Name::parse(&String::from_utf8_lossy(n)).ok();
                match rtype {
                    RecordType::Mx => Some(RData::Mx {
                        preference: u16::try_from(i).unwrap_or(u16::MAX),
                        exchange: name,
                    }),
                    RecordType::Ptr => name.map(RData::Ptr),
                    _ => name.map(RData::Cname),
                }
            })
            .collect(),
    };
    if data.is_empty() {
        return Answer::NoData;
    }
    Answer::Records(
        data.into_iter()
            .map(|data| Rr {
                name: q.name.clone(),
                ttl: 60,
                data,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        let inputs: &[&[u8]] = &[
            b"",
            b"\x00\x01\x02\x03\x04v=spf1 a mx ptr exists:%{p}.x.example -all\n\x04\x01\x02\x03\x04\n\x04a.example,b.example\n\x04\x01\x02\x03\x04\n\x02",
            b"\x01\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01v=spf1 include:a.example redirect=b.example\n\x04v=spf1 ptr -all\n\x04x.example",
            b"\x00\x7f\0\0\x01v=spf1 -all exp=e.example\n\x04%{p} %{c}",
            b"\x00\x7f\0\0\x01v=spf1 a:%{p}.example ?all\n\x04h1.example,h2.example\n\x04\x7f\0\0\x01\n\x00",
            b"\x00\x7f\0\0\x01v=spf1 \xff\xfe",
        ];
        for input in inputs {
            parse_record(input);
            evaluate(input);
        }
        parse_record(b"v=spf1 a:%{d2r+}.x.example//64 ip6:::1/0 foo=%{L}");
    }

    /// Garbage bytes (a fixed xorshift stream), raw and behind a `v=spf1 ` prefix, through
    /// both bodies: no input panics or runs away.
    #[test]
    fn garbage_bytes() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..2000 {
            let len = usize::try_from(next() % 300).unwrap_or(0);
            let mut bytes: Vec<u8> = (0..len).map(|_| (next() & 0xff) as u8).collect();
            if round % 2 == 0 {
                let mut spf = b"\x00\x01\x02\x03\x04v=spf1 ".to_vec();
                // Bias towards the record grammar: terms, macros, separators.
                const ALPHABET: &[u8] = b"a:mx%{}ip4./-+~?=_ 0123456789\n\x04\x01";
                for b in &mut bytes {
                    *b = ALPHABET
                        .get(usize::from(*b) % ALPHABET.len())
                        .copied()
                        .unwrap_or(b' ');
                }
                spf.extend_from_slice(&bytes);
                bytes = spf;
            }
            parse_record(&bytes);
            evaluate(&bytes);
        }
    }
}
