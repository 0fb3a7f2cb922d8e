//! Counters and a latency histogram, written in the Prometheus text format, and the tiny
//! HTTP/1.0 responder that serves them on `[metrics] listen` (`GET /metrics`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge (connections open).
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Removes one (never below zero).
    pub fn dec(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
    }
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    /// Raises the value to `v` if it is lower (a high-water mark).
    pub fn raise_to(&self, v: u64) {
        self.0.fetch_max(v, Ordering::Relaxed);
    }
}

/// A histogram of durations with [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (b, bound) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The DMARC, DKIM and SPF result tokens counted.
const RESULTS: [&str; 8] = [
    "pass",
    "fail",
    "softfail",
    "neutral",
    "none",
    "temperror",
    "permerror",
    "policy",
];

/// Counts of results for one method, by token.
#[derive(Debug, Default)]
pub struct Verdicts([Counter; RESULTS.len()]);

impl Verdicts {
    /// Counts one result token (unknown tokens are not counted).
    pub fn count(&self, token: &str) {
        if let Some(i) = RESULTS.iter().position(|r| *r == token) {
            self.0[i].inc();
        }
    }
    /// The count for a token.
    pub fn get(&self, token: &str) -> u64 {
        RESULTS
            .iter()
            .position(|r| *r == token)
            .map_or(0, |i| self.0[i].get())
    }
}

/// Every counter of the daemon.
#[derive(Debug, Default)]
pub struct Metrics {
    /// MTA connections accepted.
    pub connections: Counter,
    /// MTA connections open.
    pub connections_open: Gauge,
    /// Connections closed for a protocol error (malformed, oversized, out-of-order frame).
    pub protocol_errors: Counter,
    /// Connections closed by the read timeout.
    pub timeouts: Counter,
    /// Messages that reached end of message.
    pub messages: Counter,
    /// Messages handled as outbound (signing).
    pub outbound: Counter,
    /// Messages handled as inbound (verification).
    pub inbound: Counter,
    /// Messages aborted or dropped before end of message.
    pub aborted: Counter,
    /// DKIM-Signature fields added.
    pub signatures_added: Counter,
    /// Outbound messages left unsigned.
    pub unsigned: Counter,
    /// SPF results (MAIL FROM).
    pub spf: Verdicts,
    /// DKIM results (the message's overall result).
    pub dkim: Verdicts,
    /// DMARC results.
    pub dmarc: Verdicts,
    /// Messages with at least one DNS failure (a `temperror` anywhere).
    pub dns_errors: Counter,
    /// Messages refused (5xx).
    pub rejected: Counter,
    /// Messages answered with a temporary failure (4xx).
    pub tempfailed: Counter,
    /// Messages quarantined.
    pub quarantined: Counter,
    /// Forged Authentication-Results fields removed.
    pub forged_removed: Counter,
    /// Messages whose header section was over `max_header_size` (or `max_message_size`).
    pub too_large: Counter,
    /// Negotiations in which the MTA did not grant HDR_LEADSPC.
    pub leadspc_not_granted: Counter,
    /// Signed messages with a line over 998 octets.
    pub long_lines: Counter,
    /// Signed messages with 8-bit body octets.
    pub eight_bit_bodies: Counter,
    /// Configuration reloads that succeeded.
    pub reloads: Counter,
    /// Configuration reloads that failed (the running configuration was kept).
    pub reload_failures: Counter,
    /// Time from end of message to the reply.
    pub latency: Histogram,
    /// Messages ARC-sealed (`[arc_seal]`).
    pub arc_sealed: Counter,
    /// Verified messages `[arc_seal]` applied to but that were not sealed (the reason is
    /// logged).
    pub arc_not_sealed: Counter,
    /// The most bytes one message has held (header fields and body-hash buffers; bodies are
    /// hashed as they stream in and not stored): a high-water mark since start.
    pub message_bytes_peak: Gauge,
    /// DMARC evaluations written to the verdict store (`record`).
    pub records_written: Counter,
    /// DMARC evaluations dropped: the queue was full or the store down (logged).
    pub records_dropped: Counter,
    /// Progress replies sent while a message waited at end of message.
    pub progress_replies: Counter,
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP mailstamp_milter_{name} {help}");
            let _ = writeln!(out, "# TYPE mailstamp_milter_{name} counter");
            let _ = writeln!(out, "mailstamp_milter_{name} {v}");
        };
        counter(
            "connections_total",
            "MTA connections accepted.",
            self.connections.get(),
        );
        counter(
            "protocol_errors_total",
            "Connections closed for a protocol error.",
            self.protocol_errors.get(),
        );
        counter(
            "timeouts_total",
            "Connections closed by the read timeout.",
            self.timeouts.get(),
        );
        counter(
            "messages_total",
            "Messages that reached end of message.",
            self.messages.get(),
        );
        counter(
            "outbound_messages_total",
            "Messages handled for signing.",
            self.outbound.get(),
        );
        counter(
            "inbound_messages_total",
            "Messages handled for verification.",
            self.inbound.get(),
        );
        counter(
            "aborted_messages_total",
            "Messages aborted before end of message.",
            self.aborted.get(),
        );
        counter(
            "signatures_added_total",
            "DKIM-Signature fields added.",
            self.signatures_added.get(),
        );
        counter(
            "unsigned_total",
            "Outbound messages left unsigned.",
            self.unsigned.get(),
        );
        counter(
            "dns_errors_total",
            "Messages with a DNS failure (temperror).",
            self.dns_errors.get(),
        );
        counter(
            "rejected_total",
            "Messages refused (5xx).",
            self.rejected.get(),
        );
        counter(
            "tempfailed_total",
            "Messages answered with a temporary failure.",
            self.tempfailed.get(),
        );
        counter(
            "quarantined_total",
            "Messages quarantined.",
            self.quarantined.get(),
        );
        counter(
            "forged_authres_removed_total",
            "Forged Authentication-Results fields removed.",
            self.forged_removed.get(),
        );
        counter(
            "too_large_total",
            "Messages whose header section was over the limit.",
            self.too_large.get(),
        );
        counter(
            "leadspc_not_granted_total",
            "Negotiations without HDR_LEADSPC.",
            self.leadspc_not_granted.get(),
        );
        counter(
            "long_lines_total",
            "Signed messages with lines over 998 octets.",
            self.long_lines.get(),
        );
        counter(
            "eight_bit_bodies_total",
            "Signed messages with 8-bit bodies.",
            self.eight_bit_bodies.get(),
        );
        counter(
            "reloads_total",
            "Successful configuration reloads.",
            self.reloads.get(),
        );
        counter(
            "reload_failures_total",
            "Failed configuration reloads.",
            self.reload_failures.get(),
        );
        counter(
            "records_written_total",
            "DMARC evaluations written to the verdict store.",
            self.records_written.get(),
        );
        counter(
            "records_dropped_total",
            "DMARC evaluations dropped (queue full or store down).",
            self.records_dropped.get(),
        );
        counter(
            "progress_replies_total",
            "Progress replies sent while a message waited.",
            self.progress_replies.get(),
        );
        counter(
            "arc_sealed_total",
            "Messages ARC-sealed.",
            self.arc_sealed.get(),
        );
        counter(
            "arc_not_sealed_total",
            "Messages [arc_seal] applied to that were not sealed.",
            self.arc_not_sealed.get(),
        );
        let _ = writeln!(
            out,
            "# HELP mailstamp_milter_message_bytes_peak The most bytes one message held."
        );
        let _ = writeln!(out, "# TYPE mailstamp_milter_message_bytes_peak gauge");
        let _ = writeln!(
            out,
            "mailstamp_milter_message_bytes_peak {}",
            self.message_bytes_peak.get()
        );
        let _ = writeln!(
            out,
            "# HELP mailstamp_milter_connections_open MTA connections open."
        );
        let _ = writeln!(out, "# TYPE mailstamp_milter_connections_open gauge");
        let _ = writeln!(
            out,
            "mailstamp_milter_connections_open {}",
            self.connections_open.get()
        );
        let _ = writeln!(
            out,
            "# HELP mailstamp_milter_verdicts_total Results per method."
        );
        let _ = writeln!(out, "# TYPE mailstamp_milter_verdicts_total counter");
        for (method, v) in [
            ("spf", &self.spf),
            ("dkim", &self.dkim),
            ("dmarc", &self.dmarc),
        ] {
            for r in RESULTS {
                let _ = writeln!(
                    out,
                    "mailstamp_milter_verdicts_total{{method=\"{method}\",result=\"{r}\"}} {}",
                    v.get(r)
                );
            }
        }
        let h = &self.latency;
        let _ = writeln!(
            out,
            "# HELP mailstamp_milter_latency_seconds Time from end of message to the reply."
        );
        let _ = writeln!(out, "# TYPE mailstamp_milter_latency_seconds histogram");
        for (b, bound) in h.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "mailstamp_milter_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "mailstamp_milter_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "mailstamp_milter_latency_seconds_sum {sum}");
        let _ = writeln!(out, "mailstamp_milter_latency_seconds_count {count}");
        out
    }
}

/// Serves `GET /metrics` (HTTP/1.0, one request per connection) until the listener fails.
/// Anything else gets 404; a client gets 5 seconds to send its request.
pub async fn serve(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let mut len = 0;
            let read = async {
                while len < buf.len() {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n")
                        || buf[..len].windows(2).any(|w| w == b"\n\n")
                    {
                        break;
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .is_err()
            {
                return;
            }
            let request = String::from_utf8_lossy(&buf[..len]);
            let first = request.lines().next().unwrap_or("");
            let mut parts = first.split_whitespace();
            let (method, path) = (parts.next(), parts.next());
            let response = if method == Some("GET") && path == Some("/metrics") {
                let body = metrics.render();
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n".to_owned()
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_counters_verdicts_and_histogram() {
        let m = Metrics::default();
        m.messages.inc();
        m.dmarc.count("fail");
        m.dmarc.count("nonsense");
        m.latency.observe(Duration::from_micros(1500));
        m.connections_open.inc();
        m.connections_open.dec();
        m.connections_open.dec();
        let text = m.render();
        assert!(text.contains("mailstamp_milter_messages_total 1\n"));
        assert!(
            text.contains("mailstamp_milter_verdicts_total{method=\"dmarc\",result=\"fail\"} 1\n")
        );
        assert!(text.contains("mailstamp_milter_latency_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("mailstamp_milter_latency_seconds_bucket{le=\"0.002\"} 1\n"));
        assert!(text.contains("mailstamp_milter_latency_seconds_count 1\n"));
        assert!(text.contains("mailstamp_milter_connections_open 0\n"));
    }
}
