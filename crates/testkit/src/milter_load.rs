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
    reply(&mut s, &mut d).await?;
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
    reply(&mut s, &mut d).await?;
    send(&mut s, Command::Helo(b"client.example".to_vec())).await?;
    reply(&mut s, &mut d).await?;
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
        reply(&mut s, &mut d).await?;
        send(
            &mut s,
            Command::Rcpt {
                recipient: b"<rcpt@example.net>".to_vec(),
                args: vec![],
            },
        )
        .await?;
        reply(&mut s, &mut d).await?;
        for (n, v) in &load.headers {
            send(
                &mut s,
                Command::Header {
                    name: n.as_bytes().to_vec(),
                    value: format!(" {v}").into_bytes(),
                },
            )
            .await?;
        }
        send(&mut s, Command::EndOfHeaders).await?;
        reply(&mut s, &mut d).await?;
        send(&mut s, Command::Body(load.body.clone())).await?;
        reply(&mut s, &mut d).await?;
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
