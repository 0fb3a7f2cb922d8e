//! A milter-protocol load generator: N concurrent MTA connections, each sending M messages to a
//! milter over TCP, as Postfix would (negotiation, connect, HELO, then MAIL ... end of message
//! per message), measuring messages per second and the time from end of message to the final
//! reply (the latency the milter adds).

use mailstamp_milter::{
    Actions, Command, ConnectInfo, Family, FrameDecoder, Modification, OptNeg, ProtocolFlags, Reply,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// What to send.
#[derive(Debug, Clone)]
pub struct Load {
    /// Concurrent connections.
    pub connections: usize,
    /// Messages per connection.
    pub messages: usize,
    /// The client address the MTA reports (internal: signing; external: verification).
    pub client_ip: String,
    /// MAIL FROM.
    pub mail_from: String,
    /// Header fields (name, value without the leading space).
    pub headers: Vec<(String, String)>,
    /// The body (CRLF line endings).
    pub body: Vec<u8>,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Messages answered.
    pub messages: usize,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// Median end-of-message latency.
    pub p50: Duration,
    /// 99th percentile end-of-message latency.
    pub p99: Duration,
    /// Final replies other than continue/accept (reject, tempfail, reply codes).
    pub refused: usize,
    /// Header modifications received (signatures or Authentication-Results added).
    pub modifications: usize,
}

impl LoadReport {
    /// Messages per second.
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

async fn reply(stream: &mut TcpStream, d: &mut FrameDecoder) -> std::io::Result<Reply> {
    let mut buf = [0u8; 4096];
    loop {
        match d.poll_reply() {
            Ok(Some(r)) => return Ok(r),
            Ok(None) => {}
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        d.feed(&buf[..n]);
    }
}

async fn send(stream: &mut TcpStream, c: Command) -> std::io::Result<()> {
    let bytes = c
        .to_bytes()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    stream.write_all(&bytes).await
}

// SMFIP_* protocol flags (the milter protocol's public description; `mailstamp_milter::flags`).
const NO_HELO: u32 = 0x2;
const NR_HDR: u32 = 0x80;
const NR_CONN: u32 = 0x1000;
const NR_HELO: u32 = 0x2000;
const NR_MAIL: u32 = 0x4000;
const NR_RCPT: u32 = 0x8000;
const NR_EOH: u32 = 0x4_0000;
const NR_BODY: u32 = 0x8_0000;

/// The protocol flags the milter chose in negotiation.
#[derive(Clone, Copy)]
struct Steps(u32);

impl Steps {
    /// True unless the milter asked the MTA to skip this step.
    fn sends(self, no_flag: u32) -> bool {
        self.0 & no_flag == 0
    }

    /// Reads the step's reply unless the milter asked not to answer it.
    async fn answer(
        self,
        s: &mut TcpStream,
        d: &mut FrameDecoder,
        no_reply_flag: u32,
    ) -> std::io::Result<()> {
        if self.0 & no_reply_flag == 0 {
            reply(s, d).await?;
        }
        Ok(())
    }
}

async fn one_connection(
    addr: SocketAddr,
    load: &Load,
) -> std::io::Result<(Vec<Duration>, usize, usize)> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut d = FrameDecoder::new();
    send(
        &mut s,
        Command::OptNeg(OptNeg {
            version: 6,
            actions: Actions::from_bits_retain(0x1ff),
            protocol: ProtocolFlags::from_bits_retain(0x1f_ffff),
        }),
    )
    .await?;
    // The steps the milter asked to skip (SMFIP_NO*) are not sent, and those it asked not to
    // answer (SMFIP_NR_*) are not waited for: OpenDKIM, for one, answers every header field.
    let protocol = match reply(&mut s, &mut d).await? {
        Reply::OptNeg { optneg, .. } => optneg.protocol.bits(),
        other => {
            return Err(std::io::Error::other(format!(
                "expected the option negotiation reply, got {other:?}"
            )));
        }
    };
    let steps = Steps(protocol);
    send(
        &mut s,
        Command::Connect(ConnectInfo {
            hostname: b"client.example".to_vec(),
            family: Family::Inet,
            port: 40000,
            address: load.client_ip.as_bytes().to_vec(),
        }),
    )
    .await?;
    steps.answer(&mut s, &mut d, NR_CONN).await?;
    if steps.sends(NO_HELO) {
        send(&mut s, Command::Helo(b"client.example".to_vec())).await?;
        steps.answer(&mut s, &mut d, NR_HELO).await?;
    }
    let (mut latencies, mut refused, mut mods) = (Vec::new(), 0, 0);
    for i in 0..load.messages {
        send(
            &mut s,
            Command::Macros {
                stage: b'M',
                pairs: vec![(b"i".to_vec(), format!("Q{i}").into_bytes())],
            },
        )
        .await?;
        send(
            &mut s,
            Command::Mail {
                sender: format!("<{}>", load.mail_from).into_bytes(),
                args: vec![],
            },
        )
        .await?;
        steps.answer(&mut s, &mut d, NR_MAIL).await?;
        send(
            &mut s,
            Command::Rcpt {
                recipient: b"<rcpt@example.net>".to_vec(),
                args: vec![],
            },
        )
        .await?;
        steps.answer(&mut s, &mut d, NR_RCPT).await?;
        for (n, v) in &load.headers {
            send(
                &mut s,
                Command::Header {
                    name: n.as_bytes().to_vec(),
                    value: format!(" {v}").into_bytes(),
                },
            )
            .await?;
            steps.answer(&mut s, &mut d, NR_HDR).await?;
        }
        send(&mut s, Command::EndOfHeaders).await?;
        steps.answer(&mut s, &mut d, NR_EOH).await?;
        // In chunks of at most 64 KiB, as Postfix sends a body.
        for chunk in load.body.chunks(65535) {
            send(&mut s, Command::Body(chunk.to_vec())).await?;
            steps.answer(&mut s, &mut d, NR_BODY).await?;
        }
        let t0 = Instant::now();
        send(&mut s, Command::EndOfMessage(Vec::new())).await?;
        loop {
            match reply(&mut s, &mut d).await? {
                Reply::Modify(
                    Modification::InsertHeader { .. }
                    | Modification::AddHeader { .. }
                    | Modification::ChangeHeader { .. },
                ) => mods += 1,
                Reply::Modify(_) | Reply::Progress => {}
                Reply::Continue | Reply::Accept => break,
                _ => {
                    refused += 1;
                    break;
                }
            }
        }
        latencies.push(t0.elapsed());
    }
    send(&mut s, Command::Quit).await?;
    Ok((latencies, refused, mods))
}

/// Runs the load against the milter at `addr`; an error ends the run (a milter that drops a
/// connection fails the measurement).
pub async fn run(addr: SocketAddr, load: Load) -> std::io::Result<LoadReport> {
    let load = std::sync::Arc::new(load);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..load.connections {
        let load = load.clone();
        tasks.spawn(async move { one_connection(addr, &load).await });
    }
    let (mut all, mut refused, mut mods) = (Vec::new(), 0, 0);
    while let Some(r) = tasks.join_next().await {
        let (l, r, m) = r.map_err(|e| std::io::Error::other(e.to_string()))??;
        all.extend(l);
        refused += r;
        mods += m;
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: usize| {
        all.get((all.len() * p / 100).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(LoadReport {
        messages: all.len(),
        elapsed,
        p50: pct(50),
        p99: pct(99),
        refused,
        modifications: mods,
    })
}
