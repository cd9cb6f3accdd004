//! `ferromq bench produce`: `--inflight` tasks, each looping send → await, spread over
//! `--producers` clients and round-robin over every writable queue.
//!
//! The hot loop clones a prebuilt request per queue (its header map and the shared body
//! `Bytes`), refreshes the born timestamp in place, and sends it with `invoke_raw`: the response
//! is only checked for its code, never parsed further.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::{requests, MqClient};
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::message::{encode_batch_body, prop, BatchItem};
use ferromq_protocol::RemotingCommand;
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::ProduceArgs;
use crate::driver::{drive, Budget, ErrorLog, Output, Stop};
use crate::route::{self, QueueTarget};
use crate::stats::{Collector, Recorder, Summary};
use crate::BenchError;

const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Pause after a failed request, so that a broker refusing everything is not hammered in a loop.
const ERROR_PAUSE: Duration = Duration::from_millis(5);
/// Hex digits of the per-message part of a UNIQ_KEY (after a 16-digit per-task prefix).
const UNIQ_COUNTER_DIGITS: usize = 16;

/// The message every request carries, and how to make more of it.
struct Payload {
    body: Bytes,
    /// Properties of every message; with `--uniq-key`, ends with a UNIQ_KEY whose value is
    /// rewritten per message.
    props: String,
    batch: usize,
    uniq_key: bool,
}

impl Payload {
    fn new(args: &ProduceArgs) -> Self {
        let mut props = String::new();
        props.push_str(prop::WAIT);
        props.push_str("\u{1}true\u{2}");
        if let Some(tag) = &args.tag {
            props.push_str(prop::TAGS);
            props.push('\u{1}');
            props.push_str(tag);
            props.push('\u{2}');
        }
        if args.uniq_key {
            props.push_str(prop::UNIQ_KEY);
            props.push('\u{1}');
            props.push_str(&"0".repeat(16 + UNIQ_COUNTER_DIGITS));
            props.push('\u{2}');
        }
        Self {
            body: make_body(args.size as usize),
            props,
            batch: args.batch as usize,
            uniq_key: args.uniq_key,
        }
    }

    fn items(&self, n: usize) -> Vec<BatchItem> {
        (0..n)
            .map(|_| BatchItem {
                flag: 0,
                body: self.body.clone(),
                properties: self.props.clone(),
            })
            .collect()
    }

    /// The request for queue 0 of `topic`; [`QueueTemplate`]s copy it per queue.
    fn request(&self, group: &str, topic: &str) -> RemotingCommand {
        if self.batch > 1 {
            requests::send_batch(group, topic, 0, &self.items(self.batch))
        } else {
            requests::send_v2(group, topic, 0, self.body.clone(), &self.props)
        }
    }
}

/// Printable, mildly varied bytes (a body of one repeated byte would flatter compression).
fn make_body(size: usize) -> Bytes {
    let mut x: u32 = 0x9E37_79B9;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b'a' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// A prebuilt request for one queue.
struct QueueTemplate {
    addr: String,
    cmd: RemotingCommand,
}

/// Writes `v` as `out.len()` lowercase hex digits (the low ones).
fn write_hex(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = b"0123456789abcdef"[(v & 0xF) as usize];
        v >>= 4;
    }
}

/// Makes the UNIQ_KEY values of one task: a per-task prefix and a counter.
struct UniqKeys {
    prefix: [u8; 16],
    next: u64,
}

impl UniqKeys {
    fn new(task: usize) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut prefix = [0u8; 16];
        write_hex(
            &mut prefix[..8],
            u64::from(std::process::id()) ^ (nanos >> 20),
        );
        write_hex(&mut prefix[8..], (task as u64) << 20 ^ (nanos & 0xF_FFFF));
        Self { prefix, next: 0 }
    }

    /// Overwrites the last UNIQ_KEY value in `props` (which ends `…UNIQ_KEY\x01<32 hex>\x02`).
    fn stamp(&mut self, props: &mut String) {
        let mut key = [0u8; 16 + UNIQ_COUNTER_DIGITS];
        key[..16].copy_from_slice(&self.prefix);
        write_hex(&mut key[16..], self.next);
        self.next += 1;
        let end = props.len() - 1;
        // Hex digits are ASCII, so this is valid UTF-8 and a char boundary.
        props.replace_range(
            end - key.len()..end,
            std::str::from_utf8(&key).unwrap_or_default(),
        );
    }
}

/// Everything the tasks share.
struct Shared {
    payload: Payload,
    queues: Vec<QueueTemplate>,
    group: String,
    topic: String,
    stop: Stop,
    budget: Budget,
    errors: ErrorLog,
}

use ferromq_protocol::time::now_ms;

/// Rewrites the born timestamp (`g`) without reallocating.
fn refresh_born_timestamp(cmd: &mut RemotingCommand) {
    if let Some(v) = cmd.ext_fields.get_mut("g") {
        v.clear();
        let _ = write!(v, "{}", now_ms());
    }
}

async fn producer_task(
    shared: Arc<Shared>,
    client: Arc<MqClient>,
    rec: Arc<Recorder>,
    task: usize,
) {
    let p = &shared.payload;
    let body_len = p.body.len() as u64;
    let n = shared.queues.len();
    let mut next_queue = task % n;
    let mut uniq = p.uniq_key.then(|| UniqKeys::new(task));
    let mut items = if p.batch > 1 && p.uniq_key {
        p.items(p.batch)
    } else {
        Vec::new()
    };
    while !shared.stop.is_set() {
        let msgs = shared.budget.claim(p.batch as u64);
        if msgs == 0 {
            break;
        }
        let q = &shared.queues[next_queue];
        next_queue = if next_queue + 1 == n {
            0
        } else {
            next_queue + 1
        };
        let mut cmd = q.cmd.clone();
        refresh_born_timestamp(&mut cmd);
        if p.batch > 1 {
            if let Some(u) = uniq.as_mut() {
                for it in &mut items[..msgs as usize] {
                    u.stamp(&mut it.properties);
                }
                cmd.body = Bytes::from(encode_batch_body(&items[..msgs as usize]));
            } else if msgs < p.batch as u64 {
                // The last, partial batch of a --count run.
                cmd.body = Bytes::from(encode_batch_body(&p.items(msgs as usize)));
            }
        } else if let Some(u) = uniq.as_mut() {
            if let Some(props) = cmd.ext_fields.get_mut("i") {
                u.stamp(props);
            }
        }
        let start = Instant::now();
        let result = client.remoting.invoke_raw(&q.addr, cmd).await;
        let latency = start.elapsed();
        match result {
            Ok(r) if r.code == rs::SUCCESS => rec.ok(msgs, msgs * body_len, latency),
            Ok(r) => {
                rec.error();
                shared.errors.report(format_args!(
                    "send to {} queue {} refused: code {} {}",
                    q.addr,
                    q.cmd.ext("e").unwrap_or("?"),
                    r.code,
                    r.remark.as_deref().unwrap_or("")
                ));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
            Err(e) => {
                rec.error();
                shared
                    .errors
                    .report(format_args!("send to {} failed: {e}", q.addr));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

pub(crate) async fn run(args: ProduceArgs) -> Result<Summary, BenchError> {
    let c = &args.common;
    if args.inflight < args.producers {
        return Err(BenchError::Args(format!(
            "--inflight {} is less than --producers {}: every producer needs at least one request in flight",
            args.inflight, args.producers
        )));
    }
    let out = Output {
        json: c.json,
        quiet: false,
    };
    let clients: Vec<Arc<MqClient>> = (0..args.producers)
        .map(|_| c.client().map(Arc::new))
        .collect::<Result<_, _>>()?;
    let targets: Vec<QueueTarget> =
        route::produce_targets(&clients[0], &c.topic, args.create_topic_queues).await?;

    // Connect every producer to every broker before the clock starts.
    let addrs: BTreeSet<&str> = targets.iter().map(|t| t.addr.as_str()).collect();
    for client in &clients {
        for addr in &addrs {
            client
                .remoting
                .connection(addr)
                .await
                .map_err(|source| BenchError::Cluster {
                    context: format!("cannot connect to broker {addr}"),
                    source,
                })?;
        }
    }

    let payload = Payload::new(&args);
    let base = payload.request(&args.group, &c.topic);
    let queues = targets
        .iter()
        .map(|t| {
            let mut cmd = base.clone();
            cmd.put_ext("e", t.queue_id);
            QueueTemplate {
                addr: t.addr.clone(),
                cmd,
            }
        })
        .collect();
    let limit = c.duration.or(if c.count.is_none() {
        Some(DEFAULT_DURATION)
    } else {
        None
    });
    let shared = Arc::new(Shared {
        payload,
        queues,
        group: args.group.clone(),
        topic: c.topic.clone(),
        stop: Stop::default(),
        budget: Budget::new(c.count),
        errors: ErrorLog::default(),
    });

    let until = match (limit, c.count) {
        (_, Some(n)) => format!("{n} messages"),
        (Some(d), None) => format!("{d:?}"),
        (None, None) => "ever".into(),
    };
    out.note(&format!(
        "produce to {}: {}; {} B bodies, batch {}, {} in flight over {} producer{}, for {until}",
        shared.topic,
        route::describe(&targets),
        args.size,
        args.batch,
        args.inflight,
        args.producers,
        if args.producers == 1 { "" } else { "s" },
    ));
    tracing::debug!(group = %shared.group, "producer group");

    let recorders: Vec<Arc<Recorder>> = (0..args.inflight)
        .map(|_| Arc::new(Recorder::default()))
        .collect();
    let mut collector = Collector::new(recorders.clone(), Instant::now());
    let mut tasks = JoinSet::new();
    for (i, rec) in recorders.into_iter().enumerate() {
        let client = clients[i % clients.len()].clone();
        tasks.spawn(producer_task(shared.clone(), client, rec, i));
    }
    let grace = c.timeout + Duration::from_secs(1);
    let elapsed = drive(
        tasks,
        &mut collector,
        &shared.stop,
        limit,
        c.report_interval,
        grace,
        out,
    )
    .await;
    for client in &clients {
        client.remoting.close();
    }
    let params = json!({
        "size": args.size,
        "inflight": args.inflight,
        "producers": args.producers,
        "batch": args.batch,
        "queues": targets.len(),
        "brokers": addrs.len(),
        "duration_limit_secs": limit.map(|d| d.as_secs_f64()),
        "count_limit": c.count,
        "uniq_key": args.uniq_key,
    });
    Ok(collector.summary("produce", &c.topic, elapsed, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::codes::request as rq;
    use ferromq_protocol::message::{decode_batch_body, parse_properties};

    fn args(extra: &[&str]) -> ProduceArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            p: ProduceArgs,
        }
        let argv = ["x", "--namesrv", "h:1"]
            .iter()
            .chain(extra.iter())
            .copied();
        Cli::try_parse_from(argv).unwrap().p
    }

    #[test]
    fn single_requests_carry_the_body_and_properties() {
        let p = Payload::new(&args(&["--size", "100", "--tag", "TagA"]));
        assert_eq!(p.body.len(), 100);
        assert!(p.body.iter().all(u8::is_ascii_lowercase));
        let cmd = p.request("G", "T");
        assert_eq!(cmd.code, rq::SEND_MESSAGE_V2);
        assert_eq!(cmd.body, p.body);
        assert_eq!(
            (cmd.ext("a"), cmd.ext("b"), cmd.ext("e")),
            (Some("G"), Some("T"), Some("0"))
        );
        let props = parse_properties(cmd.ext("i").unwrap());
        assert_eq!(props.get("TAGS").map(String::as_str), Some("TagA"));
        assert_eq!(props.get("WAIT").map(String::as_str), Some("true"));
        assert!(!props.contains_key("UNIQ_KEY"));
    }

    #[test]
    fn batch_requests_hold_batch_messages() {
        let p = Payload::new(&args(&["--size", "10", "--batch", "5"]));
        let cmd = p.request("G", "T");
        assert_eq!(cmd.code, rq::SEND_BATCH_MESSAGE);
        let items = decode_batch_body(&cmd.body).unwrap();
        assert_eq!(items.len(), 5);
        assert!(items.iter().all(|i| i.body == p.body));
    }

    #[test]
    fn uniq_keys_are_unique_and_in_place() {
        let p = Payload::new(&args(&["--uniq-key", "--tag", "X"]));
        let mut u = UniqKeys::new(3);
        let mut keys = std::collections::HashSet::new();
        let mut props = p.props.clone();
        let cap = props.capacity();
        for _ in 0..1000 {
            u.stamp(&mut props);
            let parsed = parse_properties(&props);
            let key = parsed.get("UNIQ_KEY").unwrap().clone();
            assert_eq!(key.len(), 32);
            assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(parsed.get("TAGS").map(String::as_str), Some("X"));
            assert!(keys.insert(key));
        }
        assert_eq!(props.capacity(), cap);
    }

    #[test]
    fn born_timestamp_is_refreshed() {
        let mut cmd = Payload::new(&args(&[])).request("G", "T");
        cmd.put_ext("g", 0);
        refresh_born_timestamp(&mut cmd);
        let ts: i64 = cmd.ext("g").unwrap().parse().unwrap();
        assert!((ts - now_ms()).abs() < 60_000);
    }

    #[test]
    fn hex() {
        let mut b = [0u8; 4];
        write_hex(&mut b, 0xBEEF);
        assert_eq!(&b, b"beef");
        write_hex(&mut b, 0x1_0000_0001);
        assert_eq!(&b, b"0001");
    }
}
