//! `ferromq bench consume`: one task per readable queue of every broker, each pulling in
//! sequence and following `nextBeginOffset` whatever the response code.
//!
//! By default a pull response is only walked to count its records and body bytes (the broker
//! is what is measured); `--decode` decodes every message as a client application would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::requests::{self, Pull};
use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::codes::{request as rq, response as rs, sys_flag};
use ferromq_protocol::message::{decode_records, pos};
use ferromq_protocol::RemotingCommand;
use serde_json::json;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::args::{ConsumeArgs, StartFrom};
use crate::driver::{drive, Budget, ErrorLog, Output, Stop};
use crate::route::{self, QueueTarget};
use crate::stats::{Collector, Recorder, Summary};
use crate::BenchError;

const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Long-polling wait of a pull when not `--until-caught-up` (capped at half the timeout).
const SUSPEND: Duration = Duration::from_millis(1000);
/// Pause after a failed pull.
const ERROR_PAUSE: Duration = Duration::from_millis(100);
/// With `--until-caught-up`, a queue whose pulls fail this many times in a row is given up.
const MAX_CONSECUTIVE_ERRORS: u32 = 20;

/// Counts the records of a pull body and their body bytes without decoding them.
///
/// # Errors
/// A record whose lengths run past the buffer.
pub(crate) fn count_records(buf: &[u8]) -> Result<(u64, u64), String> {
    let (mut msgs, mut bytes, mut at) = (0u64, 0u64, 0usize);
    let read_i32 = |p: usize| -> Option<i32> {
        buf.get(p..p + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    while at < buf.len() {
        let total = read_i32(at).ok_or("truncated record size")?;
        let total = usize::try_from(total).map_err(|_| "negative record size")?;
        if total < pos::BORN_HOST || at + total > buf.len() {
            return Err(format!("record size {total} out of range at byte {at}"));
        }
        let flags = read_i32(at + pos::SYS_FLAG).ok_or("truncated sysFlag")?;
        let born = if flags & sys_flag::BORNHOST_V6 != 0 {
            20
        } else {
            8
        };
        let store = if flags & sys_flag::STOREHOST_V6 != 0 {
            20
        } else {
            8
        };
        // bornHost, storeTimestamp, storeHost, reconsumeTimes, preparedTransactionOffset.
        let body_len_at = at + pos::BORN_HOST + born + 8 + store + 4 + 8;
        if body_len_at + 4 > at + total {
            return Err(format!("record at byte {at} too short for its body length"));
        }
        let body_len = read_i32(body_len_at).ok_or("truncated body length")?;
        let body_len = usize::try_from(body_len).map_err(|_| "negative body length")?;
        if body_len_at + 4 + body_len > at + total {
            return Err(format!(
                "body of the record at byte {at} runs past the record"
            ));
        }
        msgs += 1;
        bytes += body_len as u64;
        at += total;
    }
    Ok((msgs, bytes))
}

fn decode_count(body: &Bytes, full: bool) -> Result<(u64, u64), String> {
    if full {
        let msgs = decode_records(body).map_err(|e| e.to_string())?;
        Ok((
            msgs.len() as u64,
            msgs.iter().map(|m| m.body.len() as u64).sum(),
        ))
    } else {
        count_records(body)
    }
}

/// Everything the queue tasks share.
struct Shared {
    client: MqClient,
    group: String,
    topic: String,
    max_msgs: i32,
    suspend_ms: i64,
    until_caught_up: bool,
    decode: bool,
    commit: bool,
    stop: Stop,
    budget: Budget,
    errors: ErrorLog,
}

fn opt_offset(r: &RemotingCommand, key: &'static str) -> Option<i64> {
    r.opt_i64(key).ok().flatten()
}

/// What a queue task does after one response.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    /// Pull again after a short pause (nothing there yet).
    Wait,
    Done,
}

/// Moves `offset` to the response's `nextBeginOffset` (whatever the code) and says what next.
fn follow(r: &RemotingCommand, offset: &mut i64, until_caught_up: bool) -> Next {
    if let Some(next) = opt_offset(r, "nextBeginOffset") {
        *offset = next;
    }
    let max = opt_offset(r, "maxOffset");
    let caught_up = max.is_some_and(|m| *offset >= m);
    match r.code {
        rs::SUCCESS | rs::PULL_OFFSET_MOVED | rs::PULL_RETRY_IMMEDIATELY
            if until_caught_up && caught_up =>
        {
            Next::Done
        }
        rs::SUCCESS | rs::PULL_OFFSET_MOVED | rs::PULL_RETRY_IMMEDIATELY => Next::Continue,
        rs::PULL_NOT_FOUND if until_caught_up && (caught_up || max.is_none()) => Next::Done,
        rs::PULL_NOT_FOUND => Next::Wait,
        _ => Next::Continue,
    }
}

async fn queue_task(shared: Arc<Shared>, q: QueueTarget, start: i64, rec: Arc<Recorder>) {
    let mut offset = start;
    let mut consecutive_errors = 0u32;
    while !shared.stop.is_set() && !shared.budget.exhausted() {
        let cmd = requests::pull(&Pull {
            group: &shared.group,
            topic: &shared.topic,
            queue_id: q.queue_id,
            offset,
            max_msgs: shared.max_msgs,
            subscription: Some("*"),
            suspend_ms: shared.suspend_ms,
            commit_offset: None,
        });
        let t0 = Instant::now();
        let result = tokio::select! {
            biased;
            () = shared.stop.wait() => break,
            r = shared.client.remoting.invoke_raw(&q.addr, cmd) => r,
        };
        let latency = t0.elapsed();
        let failed = match result {
            Ok(r) => {
                let asked = offset;
                if r.code == rs::SUCCESS {
                    match decode_count(&r.body, shared.decode) {
                        Ok((msgs, bytes)) => {
                            rec.ok(msgs, bytes, latency);
                            shared.budget.claim(msgs);
                        }
                        Err(e) => {
                            rec.error();
                            shared.errors.report(format_args!(
                                "{} queue {}: bad pull body: {e}",
                                q.addr, q.queue_id
                            ));
                        }
                    }
                } else if !matches!(
                    r.code,
                    rs::PULL_NOT_FOUND | rs::PULL_OFFSET_MOVED | rs::PULL_RETRY_IMMEDIATELY
                ) {
                    rec.error();
                    shared.errors.report(format_args!(
                        "pull from {} queue {} at {asked} refused: code {} {}",
                        q.addr,
                        q.queue_id,
                        r.code,
                        r.remark.as_deref().unwrap_or("")
                    ));
                }
                let next = follow(&r, &mut offset, shared.until_caught_up);
                if r.code == rs::PULL_OFFSET_MOVED {
                    debug!(
                        queue = q.queue_id,
                        from = asked,
                        to = offset,
                        "offset moved"
                    );
                }
                match next {
                    Next::Done => break,
                    Next::Wait => tokio::time::sleep(Duration::from_millis(10)).await,
                    Next::Continue => {}
                }
                !matches!(
                    r.code,
                    rs::SUCCESS
                        | rs::PULL_NOT_FOUND
                        | rs::PULL_OFFSET_MOVED
                        | rs::PULL_RETRY_IMMEDIATELY
                )
            }
            Err(e) => {
                rec.error();
                shared.errors.report(format_args!(
                    "pull from {} queue {} failed: {e}",
                    q.addr, q.queue_id
                ));
                true
            }
        };
        if failed {
            consecutive_errors += 1;
            if shared.until_caught_up && consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                warn!(addr = %q.addr, queue = q.queue_id, "giving up on the queue after {consecutive_errors} failed pulls in a row");
                break;
            }
            tokio::time::sleep(ERROR_PAUSE).await;
        } else {
            consecutive_errors = 0;
        }
    }
    if shared.commit && offset != start {
        if let Err(e) = shared
            .client
            .update_offset(&q.addr, &shared.group, &shared.topic, q.queue_id, offset)
            .await
        {
            warn!(addr = %q.addr, queue = q.queue_id, offset, "cannot commit the offset: {e}");
        }
    }
}

/// Where a queue starts. An earliest offset the broker will not tell is 0: the first pull
/// then answers PULL_OFFSET_MOVED with the right one.
async fn start_offset(
    client: &MqClient,
    topic: &str,
    group: &str,
    from: StartFrom,
    q: &QueueTarget,
) -> Result<i64, ClientError> {
    let earliest = || async {
        match client
            .remoting
            .invoke(
                &q.addr,
                requests::topic_queue(rq::GET_MIN_OFFSET, topic, q.queue_id),
            )
            .await
        {
            Ok(r) => opt_offset(&r, "offset").unwrap_or(0),
            Err(e) => {
                debug!(addr = %q.addr, queue = q.queue_id, "GET_MIN_OFFSET failed ({e}); starting at 0");
                0
            }
        }
    };
    Ok(match from {
        StartFrom::Earliest => earliest().await,
        StartFrom::Latest => client.max_offset(&q.addr, topic, q.queue_id).await?,
        StartFrom::Committed => match client
            .query_offset(&q.addr, group, topic, q.queue_id)
            .await?
        {
            Some(o) if o >= 0 => o,
            _ => earliest().await,
        },
    })
}

pub(crate) async fn run(args: ConsumeArgs) -> Result<Summary, BenchError> {
    let c = &args.common;
    let out = Output {
        json: c.json,
        quiet: false,
    };
    let client = c.client()?;
    let Some(route) = route::route_if_any(&client, &c.topic).await? else {
        return Err(BenchError::Route(format!(
            "topic {} has no route; produce to it first",
            c.topic
        )));
    };
    let targets = route::readable_queues(&route);
    if targets.is_empty() {
        return Err(BenchError::Route(format!(
            "topic {} has no readable queue on a master broker",
            c.topic
        )));
    }
    let mut starts = Vec::with_capacity(targets.len());
    for q in &targets {
        let start = start_offset(&client, &c.topic, &args.group, args.from, q)
            .await
            .map_err(|source| BenchError::Cluster {
                context: format!(
                    "cannot find the {} offset of queue {} on {}",
                    args.from.name(),
                    q.queue_id,
                    q.addr
                ),
                source,
            })?;
        starts.push(start);
    }

    let limit = c
        .duration
        .or(if c.count.is_none() && !args.until_caught_up {
            Some(DEFAULT_DURATION)
        } else {
            None
        });
    let suspend_ms = if args.until_caught_up {
        0
    } else {
        SUSPEND.min(c.timeout / 2).as_millis() as i64
    };
    let shared = Arc::new(Shared {
        client,
        group: args.group.clone(),
        topic: c.topic.clone(),
        max_msgs: args.batch as i32,
        suspend_ms,
        until_caught_up: args.until_caught_up,
        decode: args.decode,
        commit: !args.no_commit,
        stop: Stop::default(),
        budget: Budget::new(c.count),
        errors: ErrorLog::default(),
    });
    let until = match (limit, c.count, args.until_caught_up) {
        (_, Some(n), _) => format!("{n} messages"),
        (Some(d), None, true) => format!("caught up, at most {d:?}"),
        (Some(d), None, false) => format!("{d:?}"),
        (None, None, _) => "caught up".into(),
    };
    out.note(&format!(
        "consume {} as {} from {}: {}; {} per pull, {}, until {until}",
        shared.topic,
        shared.group,
        args.from.name(),
        route::describe(&targets),
        args.batch,
        if args.until_caught_up {
            "no long polling".to_string()
        } else {
            format!("long polling {suspend_ms} ms")
        },
    ));

    let recorders: Vec<Arc<Recorder>> = targets
        .iter()
        .map(|_| Arc::new(Recorder::default()))
        .collect();
    let mut collector = Collector::new(recorders.clone(), Instant::now());
    let mut tasks = JoinSet::new();
    for ((q, start), rec) in targets.iter().cloned().zip(starts).zip(recorders) {
        tasks.spawn(queue_task(shared.clone(), q, start, rec));
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
    shared.client.remoting.close();
    let brokers: std::collections::BTreeSet<&str> =
        targets.iter().map(|t| t.addr.as_str()).collect();
    let params = json!({
        "group": args.group,
        "batch": args.batch,
        "from": args.from.name(),
        "until_caught_up": args.until_caught_up,
        "decode": args.decode,
        "queues": targets.len(),
        "brokers": brokers.len(),
        "duration_limit_secs": limit.map(|d| d.as_secs_f64()),
        "count_limit": c.count,
    });
    Ok(collector.summary("consume", &c.topic, elapsed, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::message::{encode_record, NewMessage};

    fn record(body: &[u8], born: &str, store: &str, props: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(
            &NewMessage {
                topic: "BenchTopic".into(),
                queue_id: 1,
                flag: 0,
                sys_flag: 0,
                born_timestamp: 1,
                born_host: born.parse().unwrap(),
                store_host: store.parse().unwrap(),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: Bytes::copy_from_slice(body),
                properties: props.into(),
            },
            &mut out,
        )
        .unwrap();
        out
    }

    #[test]
    fn counting_matches_decoding() {
        let mut buf = record(b"hello", "127.0.0.1:1", "127.0.0.1:2", "TAGS\u{1}a\u{2}");
        buf.extend(record(&[7u8; 1000], "[::1]:1", "127.0.0.1:2", ""));
        buf.extend(record(b"", "127.0.0.1:1", "[fe80::1]:2", "K\u{1}V\u{2}"));
        buf.extend(record(&[1u8; 33], "[::1]:1", "[::1]:2", ""));
        let bytes = Bytes::from(buf.clone());
        assert_eq!(count_records(&buf), Ok((4, 5 + 1000 + 33)));
        assert_eq!(decode_count(&bytes, true), Ok((4, 1038)));
        assert_eq!(decode_count(&bytes, false), Ok((4, 1038)));
        assert_eq!(count_records(&[]), Ok((0, 0)));
    }

    #[test]
    fn counting_refuses_truncated_bodies() {
        let buf = record(b"hello", "127.0.0.1:1", "127.0.0.1:2", "");
        for cut in [1, 3, 10, buf.len() - 1] {
            assert!(count_records(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[0..4].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(count_records(&bad).is_err());
        let mut bad = buf.clone();
        let n = bad.len();
        bad[0..4].copy_from_slice(&((n + 1) as i32).to_be_bytes());
        assert!(count_records(&bad).is_err());
    }

    fn response(code: i32, next: Option<i64>, max: Option<i64>) -> RemotingCommand {
        let mut r = RemotingCommand::response(code, None);
        if let Some(n) = next {
            r.put_ext("nextBeginOffset", n);
        }
        if let Some(m) = max {
            r.put_ext("maxOffset", m);
        }
        r
    }

    #[test]
    fn offsets_follow_every_code() {
        let mut off = 0;
        assert_eq!(
            follow(&response(rs::SUCCESS, Some(32), Some(100)), &mut off, false),
            Next::Continue
        );
        assert_eq!(off, 32);
        assert_eq!(
            follow(
                &response(rs::PULL_OFFSET_MOVED, Some(50), Some(100)),
                &mut off,
                false
            ),
            Next::Continue
        );
        assert_eq!(off, 50);
        assert_eq!(
            follow(
                &response(rs::PULL_NOT_FOUND, Some(100), Some(100)),
                &mut off,
                false
            ),
            Next::Wait
        );
        assert_eq!(off, 100);
        // A refusal without offsets keeps the offset.
        assert_eq!(
            follow(&response(rs::SYSTEM_ERROR, None, None), &mut off, false),
            Next::Continue
        );
        assert_eq!(off, 100);
    }

    #[test]
    fn until_caught_up_stops_at_the_max_offset() {
        let mut off = 0;
        assert_eq!(
            follow(&response(rs::SUCCESS, Some(32), Some(64)), &mut off, true),
            Next::Continue
        );
        assert_eq!(
            follow(&response(rs::SUCCESS, Some(64), Some(64)), &mut off, true),
            Next::Done
        );
        let mut off = 0;
        assert_eq!(
            follow(
                &response(rs::PULL_OFFSET_MOVED, Some(10), Some(10)),
                &mut off,
                true
            ),
            Next::Done
        );
        let mut off = 0;
        assert_eq!(
            follow(
                &response(rs::PULL_NOT_FOUND, Some(0), Some(0)),
                &mut off,
                true
            ),
            Next::Done
        );
        // Not found below the max (the queue is still being built): try again.
        let mut off = 0;
        assert_eq!(
            follow(
                &response(rs::PULL_NOT_FOUND, Some(5), Some(9)),
                &mut off,
                true
            ),
            Next::Wait
        );
    }
}
