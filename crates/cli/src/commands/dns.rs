//! `mailstamp dns NAME [TYPE]`: what the resolver sees for a name.

use crate::context::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use mailstamp_dns::{Answer, Name, Query, RData, Record, RecordType};
use serde_json::{Value, json};

/// Arguments of `mailstamp dns`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit::HELP)]
pub struct Args {
    /// The domain name to look up (U-labels are converted to A-labels).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The record type: TXT, A, AAAA, MX, PTR or CNAME.
    #[arg(value_name = "TYPE", default_value = "TXT", value_parser = parse_type)]
    pub rtype: RecordType,
}

fn parse_type(s: &str) -> Result<RecordType, String> {
    s.parse::<RecordType>().map_err(|e| e.to_string())
}

/// Looks the name up and prints the four-way answer. Exit 0 for records, NXDOMAIN and NODATA
/// (all are answers), 3 for a failed lookup, 2 for an invalid name.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let name =
        Name::parse(&args.name).with_context(|| format!("invalid domain name {:?}", args.name))?;
    let query = Query::new(name, args.rtype);
    let resolver = ctx.resolver()?;
    let answer = ctx.block_on(resolver.answer(&query));
    if ctx.json() {
        println!("{}", to_json(&query, &answer));
    } else {
        print!("{}", to_text(&query, &answer));
    }
    Ok(match answer {
        Answer::Failed(_) => Exit::TempFail,
        Answer::Records(_) | Answer::NxDomain | Answer::NoData => Exit::Success,
    })
}

/// The human form: one line for the outcome, then one line per record.
fn to_text(query: &Query, answer: &Answer) -> String {
    let mut out = String::new();
    let head = format!("{} {}", query.name.to_fqdn(), query.rtype);
    match answer {
        Answer::NxDomain => out.push_str(&format!("{head}: NXDOMAIN (the name does not exist)\n")),
        Answer::NoData => out.push_str(&format!(
            "{head}: NODATA (the name exists but has no {} record)\n",
            query.rtype
        )),
        Answer::Failed(kind) => out.push_str(&format!(
            "{head}: failed ({kind}): temporary DNS failure, try again later\n"
        )),
        Answer::Records(records) => {
            out.push_str(&format!("{head}: {} record(s)\n", records.len()));
            for r in records.iter() {
                out.push_str(&format!(
                    "{}\t{}\tIN\t{}\t{}\n",
                    r.name.to_fqdn(),
                    r.ttl,
                    r.data.rtype(),
                    r.data
                ));
                if let RData::Txt(t) = &r.data {
                    out.push_str(&format!(
                        "    {} string(s), joined ({} bytes): {}\n",
                        t.strings().len(),
                        t.joined().len(),
                        t.joined_lossy()
                    ));
                }
            }
        }
    }
    out
}

fn record_json(r: &Record) -> Value {
    let mut v = json!({
        "name": r.name.as_str(),
        "ttl": r.ttl,
        "type": r.data.rtype().as_str(),
        "data": r.data.to_string(),
    });
    let extra = match &r.data {
        RData::A(a) => json!({ "address": a.to_string() }),
        RData::Aaaa(a) => json!({ "address": a.to_string() }),
        RData::Mx {
            preference,
            exchange,
        } => json!({
            "preference": preference,
            "exchange": exchange.as_ref().map(Name::as_str),
        }),
        RData::Ptr(n) | RData::Cname(n) => json!({ "target": n.as_str() }),
        RData::Txt(t) => json!({
            "strings": t
                .strings()
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect::<Vec<_>>(),
            "joined": t.joined_lossy(),
        }),
    };
    if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
        map.extend(more);
    }
    v
}

/// The JSON form: `name`, `type`, `answer` (records | nxdomain | nodata | failed), `records`
/// (empty unless `records`) and, for a failure, `failure` (timeout | servfail | refused |
/// other).
fn to_json(query: &Query, answer: &Answer) -> Value {
    let mut v = json!({
        "name": query.name.as_str(),
        "type": query.rtype.as_str(),
        "answer": answer.kind_str(),
        "records": answer.records().iter().map(record_json).collect::<Vec<_>>(),
    });
    if let (Answer::Failed(kind), Value::Object(map)) = (answer, &mut v) {
        map.insert("failure".into(), Value::from(kind.as_str()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstamp_dns::{FailureKind, Txt};

    fn q() -> Query {
        Query::txt(Name::parse("example.org").unwrap())
    }

    #[test]
    fn json_has_the_contract_keys() {
        let rec = Record {
            name: Name::parse("example.org").unwrap(),
            ttl: 300,
            data: RData::Txt(Txt::new(["v=spf1 ", "-all"])),
        };
        let v = to_json(&q(), &Answer::Records(vec![rec].into()));
        assert_eq!(v["name"], "example.org");
        assert_eq!(v["type"], "TXT");
        assert_eq!(v["answer"], "records");
        assert_eq!(v["records"][0]["ttl"], 300);
        assert_eq!(v["records"][0]["strings"][1], "-all");
        assert_eq!(v["records"][0]["joined"], "v=spf1 -all");
        let v = to_json(&q(), &Answer::Failed(FailureKind::Timeout));
        assert_eq!(v["answer"], "failed");
        assert_eq!(v["failure"], "timeout");
        assert_eq!(v["records"], json!([]));
        assert_eq!(to_json(&q(), &Answer::NoData)["answer"], "nodata");
    }

    #[test]
    fn text_names_the_four_outcomes() {
        assert!(to_text(&q(), &Answer::NxDomain).contains("NXDOMAIN"));
        assert!(to_text(&q(), &Answer::NoData).contains("NODATA"));
        assert!(to_text(&q(), &Answer::Failed(FailureKind::ServFail)).contains("servfail"));
    }
}
