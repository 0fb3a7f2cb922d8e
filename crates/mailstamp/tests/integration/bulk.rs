//! Bulk input end to end, through the public API only: a generated corpus written as an mbox, a
//! maildir and a directory of `.eml` files reads back in order with the same bytes, and every
//! message gives back its SMTP envelope from its trace fields (`--from-received`).

use mailstamp::mailbox::{Input, MailItem, MailboxOptions, MboxWriter, Messages, Origin};
use mailstamp_message::envelope::Envelope;
use mailstamp_testkit::corpus::{Corpus, CorpusConfig, GeneratedMessage};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mailstamp-it-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn corpus() -> Vec<GeneratedMessage> {
    Corpus::new(
        CorpusConfig::new(2026)
            .with_messages(120)
            .with_signing_domains(30),
    )
    .collect()
}

fn read_all(input: &Input) -> Vec<MailItem> {
    let messages = Messages::open(input, MailboxOptions::default()).unwrap();
    assert!(messages.ignored().is_empty(), "{}", messages.ignored());
    messages.map(Result::unwrap).collect()
}

/// Checks that `items` are the corpus in order and that each gives back its envelope.
fn check(items: &[MailItem], corpus: &[GeneratedMessage]) {
    assert_eq!(items.len(), corpus.len());
    for (item, generated) in items.iter().zip(corpus) {
        assert_eq!(item.bytes, generated.assemble(b""), "{}", item.source);
        let envelope = Envelope::from_message(&item.bytes).unwrap();
        assert_eq!(envelope, generated.envelope, "{}", item.source);
    }
}

#[test]
fn rfc4155_mbox_of_a_generated_corpus() {
    let corpus = corpus();
    let dir = TempDir::new("mbox");
    let path = dir.0.join("corpus.mbox");
    let mut writer = MboxWriter::new(fs::File::create(&path).unwrap());
    for m in &corpus {
        writer
            .write_message(&format!("bounces@{}", m.signing_domain), &m.assemble(b""))
            .unwrap();
    }
    writer.into_inner().unwrap();
    let items = read_all(&Input::Mbox(Origin::Path(path.clone())));
    check(&items, &corpus);
    let mut last_offset = None;
    for (n, item) in items.iter().enumerate() {
        let at = item.source.mbox.unwrap();
        assert_eq!(at.index, n as u64 + 1);
        assert!(last_offset < Some(at.offset));
        last_offset = Some(at.offset);
        assert_eq!(item.source.origin, Origin::Path(path.clone()));
    }
}

#[test]
fn maildir_and_eml_directory_of_a_generated_corpus() {
    let corpus = corpus();
    let dir = TempDir::new("dirs");
    let maildir = dir.0.join("Maildir");
    let emls = dir.0.join("emls");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    fs::create_dir_all(&emls).unwrap();
    for m in &corpus {
        let bytes = m.assemble(b"");
        // Alternate between new/ and cur/: the order comes from the names.
        let (sub, flags) = if m.index % 2 == 0 {
            ("new", "")
        } else {
            ("cur", ":2,S")
        };
        let name = format!(
            "{}.M{}P1.host.example{flags}",
            1_767_571_200 + m.index,
            m.index
        );
        fs::write(maildir.join(sub).join(name), &bytes).unwrap();
        fs::write(emls.join(format!("{:05}.eml", m.index)), &bytes).unwrap();
    }
    check(&read_all(&Input::Maildir(maildir)), &corpus);
    let items = read_all(&Input::from_argument(&emls));
    check(&items, &corpus);
    assert!(items.iter().all(|i| i.source.mbox.is_none()));
    assert_eq!(
        items[7].source.origin.path(),
        Some(Path::new(&emls.join("00007.eml")))
    );
}
