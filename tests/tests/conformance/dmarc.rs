//! DMARC conformance: the publicsuffix.org test vectors (psl/tests.txt) through the RFC 7489
//! Organizational Domain of mailstamp-dmarc, with the list file of psl/ loaded the way
//! `mailstamp dmarc --psl FILE` loads it, and with the list compiled into mailstamp.

use mailstamp_dmarc::PublicSuffixList;
use mailstamp_dns::Name;
use mailstamp_tests::conformance_file;

/// One `<input> <expected>` line of psl/tests.txt.
struct Vector {
    line: usize,
    input: String,
    expected: Option<String>,
}

fn vectors() -> Vec<Vector> {
    let path = conformance_file("psl/tests.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        let (Some(input), Some(expected), None) = (words.next(), words.next(), words.next())
        else {
            panic!("psl/tests.txt:{line_no}: expected `<input> <expected>`: {line:?}");
        };
        out.push(Vector {
            line: line_no,
            input: input.to_owned(),
            expected: (expected != "null").then(|| expected.to_owned()),
        });
    }
    out
}

/// The registrable domain for a vector's input, in A-labels; `None` for the null input and for
/// inputs that are not domain names (a leading dot).
fn registrable(list: &PublicSuffixList, input: &str) -> Option<String> {
    if input == "null" {
        return None;
    }
    let name = Name::parse(input).ok()?;
    list.registrable_domain(&name).map(|n| n.as_str().to_owned())
}

fn expected_a_labels(expected: &Option<String>) -> Option<String> {
    expected
        .as_ref()
        .map(|e| Name::parse(e).unwrap().as_str().to_owned())
}

fn run(list: &PublicSuffixList) -> (usize, Vec<String>) {
    let vectors = vectors();
    let mut failures = Vec::new();
    for v in &vectors {
        let got = registrable(list, &v.input);
        let want = expected_a_labels(&v.expected);
        if got != want {
            failures.push(format!(
                "psl/tests.txt:{}: {} -> {:?}, expected {:?}",
                v.line, v.input, got, want
            ));
        }
    }
    (vectors.len(), failures)
}

#[test]
fn rfc7489_3_2_psl_vectors_with_the_list_file() {
    let path = conformance_file("psl/public_suffix_list.dat");
    let list = PublicSuffixList::from_text(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(list.rule_count().unwrap() > 9000);
    let (total, failures) = run(&list);
    assert_eq!(total, 78, "the 78 active vectors of psl/tests.txt");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rfc7489_3_2_psl_vectors_with_the_compiled_list() {
    let (total, failures) = run(&PublicSuffixList::builtin());
    assert_eq!(total, 78);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
