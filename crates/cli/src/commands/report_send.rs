//! `mailstamp report send`: each report to its policy domain's authorised `rua` addresses.

use super::{SendArgs, StartTls};
use crate::context::Context;
use crate::exit::Exit;
use anyhow::{Context as _, bail};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport as _};
use mailstamp::dmarc::{DestinationStatus, ReportKind, ReportUri, authorize_reports, discover};
use mailstamp::dns::Name;

/// The worse of two exit statuses (the higher code).
fn worst(a: Exit, b: Exit) -> Exit {
    if b.code() > a.code() { b } else { a }
}

/// The size a `!N[kmgt]` suffix allows, in bytes; `None` when it is not a size.
fn size_limit(suffix: &str) -> Option<u64> {
    let s = suffix.trim_start_matches('!');
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The address of a `mailto:` URI (without `?` headers).
fn mailto_address(uri: &ReportUri) -> Option<Address> {
    let rest = uri.uri.get("mailto:".len()..)?;
    let addr = rest.split('?').next()?;
    addr.parse().ok()
}

fn transport(args: &SendArgs) -> anyhow::Result<SmtpTransport> {
    let (host, port) = args
        .relay
        .rsplit_once(':')
        .with_context(|| format!("--relay {:?}: not HOST:PORT", args.relay))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .with_context(|| format!("--relay {:?}: {port:?} is not a port", args.relay))?;
    let tls = match args.starttls {
        StartTls::None => Tls::None,
        StartTls::Opportunistic | StartTls::Required => {
            let mut builder = TlsParameters::builder(host.to_owned());
            if let Some(ca) = &args.smtp_ca {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("--smtp-ca: cannot read {}", ca.display()))?;
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    bail!(
                        "--smtp-ca {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
                        ca.display()
                    );
                }
                let cert = Certificate::from_pem(&pem).with_context(|| {
                    format!("--smtp-ca {}: not a PEM certificate", ca.display())
                })?;
                builder = builder
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            let params = builder
                .build()
                .with_context(|| format!("--relay {:?}: TLS set-up failed", args.relay))?;
            if matches!(args.starttls, StartTls::Required) {
                Tls::Required(params)
            } else {
                Tls::Opportunistic(params)
            }
        }
    };
    Ok(SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(60)))
        .build())
}

/// Runs `report send`.
pub fn run(args: &SendArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let from: Mailbox = args
        .from
        .parse()
        .with_context(|| format!("--from {:?}: not an e-mail address", args.from))?;
    let mailer = transport(args)?;
    let discovery = args.dmarc.discovery()?;
    let resolver = ctx.resolver()?;
    let mut exit = Exit::Success;
    for file in &args.files {
        let gzip =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let (reports, diags) =
            mailstamp_reports::parse(file, mailstamp_reports::ParseOptions::default());
        if let Some(d) = diags
            .items
            .iter()
            .find(|d| d.severity == mailstamp_reports::Severity::Error)
        {
            bail!("{d}");
        }
        let Some(mailstamp_reports::Report::Aggregate(report)) = reports.first() else {
            bail!("{}: not an aggregate report", file.display());
        };
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let domain = Name::parse(&report.policy.domain).with_context(|| {
            format!(
                "{}: policy_published/domain {:?} is not a domain name",
                file.display(),
                report.policy.domain
            )
        })?;
        let found = ctx.block_on(mailstamp::drive(
            discover(domain, discovery.clone()),
            resolver,
        ));
        if found.policy.is_none() {
            eprintln!(
                "mailstamp: {file_name}: no DMARC record for {}; not sent",
                report.policy.domain
            );
            exit = worst(
                exit,
                if found.failure().is_some() {
                    Exit::TempFail
                } else {
                    Exit::NotPass
                },
            );
            continue;
        }
        let auth = ctx.block_on(mailstamp::drive(authorize_reports(&found), resolver));
        let mut to = Vec::new();
        for check in auth
            .checks
            .iter()
            .filter(|c| c.kind == ReportKind::Aggregate)
        {
            let uris: Vec<&ReportUri> = match &check.status {
                DestinationStatus::Authorized { overrides } if !overrides.is_empty() => {
                    overrides.iter().collect()
                }
                status if status.allows_reports() => vec![&check.uri],
                DestinationStatus::TempError { name, .. } => {
                    eprintln!(
                        "mailstamp: {file_name}: {} skipped: the authorisation lookup of {name} failed",
                        check.uri.uri
                    );
                    exit = worst(exit, Exit::TempFail);
                    continue;
                }
                _ => {
                    eprintln!(
                        "mailstamp: {file_name}: {} skipped: external destination not authorised (no {}._report._dmarc.{} record, RFC 9990 §4)",
                        check.uri.uri,
                        report.policy.domain,
                        check
                            .uri
                            .destination
                            .as_ref()
                            .map_or_else(|| "?".to_owned(), |d| d.to_string())
                    );
                    continue;
                }
            };
            for uri in uris {
                if !uri.is_mailto() {
                    eprintln!("mailstamp: {file_name}: {} skipped: not mailto:", uri.uri);
                    continue;
                }
                match mailto_address(uri) {
                    Some(a) if !to.iter().any(|(b, _)| *b == a) => to.push((a, uri.clone())),
                    Some(_) => {}
                    None => eprintln!(
                        "mailstamp: {file_name}: {} skipped: not an e-mail address",
                        uri.uri
                    ),
                }
            }
        }
        let build = |to: &[(Address, ReportUri)]| {
            build_message(&from, to, report, &file_name, &gzip)
                .with_context(|| format!("{file_name}: cannot build the message"))
        };
        // The size limits (`!10m`) apply to the message as sent.
        if !to.is_empty() {
            let size = build(&to)?.formatted().len() as u64;
            to.retain(|(_, uri)| {
                let Some(limit) = uri.obsolete_size.as_deref().and_then(size_limit) else {
                    return true;
                };
                if size <= limit {
                    return true;
                }
                eprintln!(
                    "mailstamp: {file_name}: {} skipped: the report e-mail ({size} bytes) exceeds its size limit !{}",
                    uri.uri,
                    uri.obsolete_size.as_deref().unwrap_or_default().trim_start_matches('!')
                );
                false
            });
        }
        if to.is_empty() {
            eprintln!("mailstamp: {file_name}: no rua address left; not sent");
            exit = worst(exit, Exit::NotPass);
            continue;
        }
        let message = build(&to)?;
        match mailer.send(&message) {
            Ok(_) => println!(
                "{file_name}: sent to {}",
                to.iter()
                    .map(|(a, _)| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => {
                let hint = if matches!(args.starttls, StartTls::Required)
                    && e.to_string().contains("STARTTLS is not supported")
                {
                    " (the relay does not offer STARTTLS and --starttls is required; \
                     --starttls opportunistic or none sends without TLS)"
                } else if e.is_tls() || e.to_string().contains("certificate") {
                    " (TLS with the relay failed: is its certificate issued for this host by a \
                     CA the system, or --smtp-ca, trusts?)"
                } else {
                    ""
                };
                eprintln!(
                    "mailstamp: {file_name}: not sent: relay {}: {e}{hint}",
                    args.relay
                );
                exit = worst(exit, Exit::TempFail);
            }
        }
    }
    Ok(exit)
}

/// The report e-mail (RFC 9990 §5): the subject naming the domain, the submitter and the
/// Report-ID, a short text part and the gzip file attached under its RFC 9990 name.
fn build_message(
    from: &Mailbox,
    to: &[(Address, ReportUri)],
    report: &mailstamp_reports::AggregateReport,
    file_name: &str,
    gzip: &[u8],
) -> anyhow::Result<lettre::Message> {
    let subject = format!(
        "Report Domain: {} Submitter: {} Report-ID: <{}>",
        report.policy.domain, report.org_name, report.report_id
    );
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .subject(subject);
    for (a, _) in to {
        builder = builder.to(Mailbox::new(None, a.clone()));
    }
    let body = format!(
        "This is an aggregate report for {} ({} .. {}) from {}.\r\n",
        report.policy.domain, report.begin, report.end, report.org_name
    );
    let attachment = Attachment::new(file_name.to_owned()).body(
        gzip.to_vec(),
        ContentType::parse("application/gzip").context("application/gzip")?,
    );
    Ok(builder.multipart(
        MultiPart::mixed()
            .singlepart(SinglePart::plain(body))
            .singlepart(attachment),
    )?)
}

#[cfg(test)]
mod tests {
    use super::size_limit;

    #[test]
    fn size_suffixes() {
        assert_eq!(size_limit("10m"), Some(10 << 20));
        assert_eq!(size_limit("!10m"), Some(10 << 20));
        assert_eq!(size_limit("100"), Some(100));
        assert_eq!(size_limit("2K"), Some(2048));
        assert_eq!(size_limit("1t"), Some(1 << 40));
        assert_eq!(size_limit("10x"), None);
        assert_eq!(size_limit(""), None);
    }
}
