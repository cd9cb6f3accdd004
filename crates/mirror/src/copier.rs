//! Copies one source queue to the same queue id on the target, in order, and records where
//! every message landed. Exactly once across restarts: the target itself says what is already
//! there (copies carry their source position), and appends are conditional on the target
//! queue's next offset, so a stale view is refused instead of duplicated.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromq_client::requests::Pull;
use ferromq_client::ClientError;
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::message::{decode_record, find_property, prop};
use ferromq_protocol::ProtocolError;
use tokio_util::sync::CancellationToken;

use crate::map::{MapError, QueueMap};
use crate::remote::Appended;
use crate::runner::Mirror;
use crate::state::QueueKey;

/// Appends are split so that one request stays well under the 16 MiB frame limit.
const MAX_APPEND_BYTES: usize = 4 << 20;
/// How long a pull waits on the source for new messages.
const LONG_POLL_MS: i64 = 1000;

/// Exponential backoff between failed attempts.
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub fn new() -> Self {
        Self(Duration::from_millis(100))
    }
    pub fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
    pub async fn wait(&mut self, stop: &CancellationToken) {
        tokio::select! {
            _ = tokio::time::sleep(self.0) => {}
            _ = stop.cancelled() => {}
        }
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

/// One message of a pull answer: its source offset, its bytes, and whether to copy it.
struct Pulled {
    offset: i64,
    raw: Bytes,
    copy: bool,
    /// Not copied because it is a copy of a target message: that message's target offset.
    alias: Option<i64>,
}

/// Why a queue could not be brought up to date with the target (the copier retries).
#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    /// A request to the source or the target failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The target queue is shorter than what the map says was copied to it.
    #[error(
        "the target queue ends at {target_max}, before what this mirror copied ({copied}): the \
         target lost data or the state dir belongs to another target"
    )]
    TargetBehind { target_max: i64, copied: i64 },
    /// Reading back the target queue was answered with an error code.
    #[error("reading the target queue at {offset}: code {code}")]
    ReadTarget { offset: i64, code: i32 },
    /// The target sent a record that does not decode.
    #[error(transparent)]
    Record(#[from] ProtocolError),
    /// What the target holds does not fit the map.
    #[error(transparent)]
    Map(#[from] MapError),
}

/// Why a copier stopped for good.
enum Stop {
    Cancelled,
    Refused(String),
}

pub(crate) async fn run(m: Arc<Mirror>, key: QueueKey, src_addr: String, tgt_addr: String) {
    let stop = m.stop.clone();
    let mut backoff = Backoff::new();
    loop {
        if stop.is_cancelled() {
            return;
        }
        match reconcile(&m, &key, &src_addr, &tgt_addr).await {
            Ok(()) => break,
            Err(e) => {
                m.queue_error(&key, Some(format!("reconciling with the target: {e}")));
                backoff.wait(&stop).await;
            }
        }
    }
    backoff.reset();
    match copy_loop(&m, &key, &src_addr, &tgt_addr, &mut backoff).await {
        Stop::Cancelled => {}
        Stop::Refused(reason) => {
            tracing::error!(topic = %key.topic, broker = %key.broker, queue = key.queue_id,
                "queue stopped: {reason}");
            m.queue_error(&key, Some(format!("stopped: {reason}")));
            m.metrics.add_error("refused");
        }
    }
}

/// Brings the queue's map up to date with the target: messages copied there but not yet in
/// the map (the mirror stopped before saving) are added; foreign messages move the target
/// position on. A queue seen for the first time starts at the source's first message.
async fn reconcile(m: &Mirror, key: &QueueKey, src: &str, tgt: &str) -> Result<(), ReconcileError> {
    let target_max = m.target.max_offset(tgt, &key.topic, key.queue_id).await?;
    let mut map = m.map_of(key).unwrap_or_default();
    let mut pos = match map.tgt_next() {
        Some(t) if t > target_max => {
            return Err(ReconcileError::TargetBehind {
                target_max,
                copied: t,
            })
        }
        Some(t) => t,
        None => m.target.min_offset(tgt, &key.topic, key.queue_id).await?,
    };
    while pos < target_max {
        let r = m.target.pull_raw(tgt, &pull(m, key, pos, 256, 0)).await?;
        if r.code != rs::SUCCESS {
            if r.next_begin_offset > pos {
                pos = r.next_begin_offset;
                continue;
            }
            return Err(ReconcileError::ReadTarget {
                offset: pos,
                code: r.code,
            });
        }
        let mut rest = r.body.clone();
        while !rest.is_empty() {
            let (msg, used) = decode_record(&rest)?;
            rest = rest.slice(used..);
            let ours = find_property(&msg.properties, prop::MIRROR_SOURCE)
                .and_then(parse_source)
                .filter(|(b, q, _)| *b == key.broker && *q == key.queue_id)
                .map(|(_, _, o)| o);
            match ours {
                Some(src_off) if map.src_next().is_none_or(|n| src_off >= n) => {
                    if map.src_next().is_none() || map.tgt_next().is_none() {
                        map = QueueMap::starting_at(src_off, msg.queue_offset);
                    }
                    map.record_run(src_off, msg.queue_offset, 1)?;
                }
                _ => {
                    if map.tgt_next().is_some_and(|t| t <= msg.queue_offset) {
                        map.advance_target(msg.queue_offset + 1)?;
                    }
                }
            }
            pos = msg.queue_offset + 1;
        }
    }
    if map.src_next().is_none() || map.tgt_next().is_none() {
        let start = m.source.min_offset(src, &key.topic, key.queue_id).await?;
        map = QueueMap::starting_at(start, target_max);
    } else if map.tgt_next().is_some_and(|t| t < target_max) {
        map.advance_target(target_max)?;
    }
    m.set_map(key, map);
    m.queue_error(key, None);
    Ok(())
}

/// A pull of every message (`*`) that commits nothing.
fn pull<'a>(m: &'a Mirror, key: &'a QueueKey, offset: i64, max: i32, suspend_ms: i64) -> Pull<'a> {
    Pull {
        group: &m.cfg.pull_group,
        topic: &key.topic,
        queue_id: key.queue_id,
        offset,
        max_msgs: max,
        subscription: Some("*"),
        suspend_ms,
        commit_offset: None,
    }
}

/// `<broker>|<queueId>|<offset>`.
pub(crate) fn parse_source(s: &str) -> Option<(&str, i32, i64)> {
    let mut it = s.rsplitn(3, '|');
    let off = it.next()?.parse().ok()?;
    let q = it.next()?.parse().ok()?;
    let b = it.next()?;
    Some((b, q, off))
}

async fn copy_loop(
    m: &Mirror,
    key: &QueueKey,
    src: &str,
    tgt: &str,
    backoff: &mut Backoff,
) -> Stop {
    let stop = &m.stop;
    loop {
        if stop.is_cancelled() || m.drained(key) {
            return Stop::Cancelled;
        }
        let Some(map) = m.map_of(key) else {
            return Stop::Cancelled;
        };
        let (Some(next), Some(tgt_next)) = (map.src_next(), map.tgt_next()) else {
            return Stop::Cancelled;
        };
        let request = pull(m, key, next, m.cfg.batch, LONG_POLL_MS);
        let pulled = tokio::select! {
            r = m.source.pull_raw(src, &request) => r,
            _ = stop.cancelled() => return Stop::Cancelled,
        };
        let r = match pulled {
            Ok(r) => r,
            Err(e) => {
                m.queue_error(key, Some(format!("source: {e}")));
                m.metrics.add_error("source");
                backoff.wait(stop).await;
                continue;
            }
        };
        if r.max_offset >= 0 {
            m.set_source_max(key, r.max_offset);
        }
        match r.code {
            rs::SUCCESS => {}
            rs::PULL_NOT_FOUND => {
                m.queue_error(key, None);
                continue;
            }
            _ if r.next_begin_offset > next => {
                // The source no longer has [next, nextBegin) (retention): nothing to copy.
                let _ = m.update_map(key, |map| map.skip(r.next_begin_offset));
                continue;
            }
            code => {
                let why = if r.max_offset >= 0 && r.max_offset < next {
                    format!(
                        "the source queue ends at {}, before what was already copied ({next}): \
                         the source lost data",
                        r.max_offset
                    )
                } else {
                    format!("pull answered code {code} at offset {next}")
                };
                m.queue_error(key, Some(why));
                backoff.wait(stop).await;
                continue;
            }
        }
        let msgs = match split(&r.body, &m.cfg.target_label, key) {
            Ok(v) => v,
            Err(e) => {
                m.queue_error(key, Some(format!("source sent a bad record: {e}")));
                backoff.wait(stop).await;
                continue;
            }
        };
        match append(m, key, tgt, next, tgt_next, &msgs).await {
            Ok(None) => {
                backoff.reset();
                m.queue_error(key, None);
            }
            Ok(Some(stop)) => return stop,
            Err(e @ AppendError::Moved { .. }) => {
                // Someone else wrote to the target queue, or a copy sent before a restart
                // landed late: find out what is there, then go on from the new position.
                tracing::warn!(topic = %key.topic, queue = key.queue_id, "{e}; reconciling");
                if let Err(e) = reconcile(m, key, src, tgt).await {
                    m.queue_error(key, Some(format!("reconciling with the target: {e}")));
                    backoff.wait(stop).await;
                }
            }
            Err(e) => {
                m.queue_error(key, Some(e.to_string()));
                m.metrics.add_error("target");
                backoff.wait(stop).await;
            }
        }
    }
}

/// Splits a pull body into messages; those whose origin is the target cluster are not copied.
fn split(body: &Bytes, target_label: &str, key: &QueueKey) -> Result<Vec<Pulled>, ProtocolError> {
    let mut out = Vec::new();
    let mut rest = body.clone();
    while !rest.is_empty() {
        let (msg, used) = decode_record(&rest)?;
        let copy = find_property(&msg.properties, prop::MIRROR_ORIGIN) != Some(target_label);
        let alias = if copy {
            None
        } else {
            find_property(&msg.properties, prop::MIRROR_SOURCE)
                .and_then(parse_source)
                .filter(|(b, q, _)| *b == key.broker && *q == key.queue_id)
                .map(|(_, _, o)| o)
        };
        out.push(Pulled {
            offset: msg.queue_offset,
            raw: rest.slice(..used),
            copy,
            alias,
        });
        rest = rest.slice(used..);
    }
    Ok(out)
}

/// Why an append did not go through.
#[derive(Debug, thiserror::Error)]
enum AppendError {
    /// The target queue is not where the map says.
    #[error("target queue at {actual}, expected {expected}")]
    Moved { actual: i64, expected: i64 },
    /// The target did not answer, or answered with an error.
    #[error("target: {0}")]
    Target(#[source] ClientError),
    /// The append result does not fit the map.
    #[error(transparent)]
    Map(#[from] MapError),
}

/// Appends the messages to copy (in chunks), records the runs, and skips the others.
/// `Ok(Some(stop))` when the queue must stop.
async fn append(
    m: &Mirror,
    key: &QueueKey,
    tgt: &str,
    mut next: i64,
    mut tgt_next: i64,
    msgs: &[Pulled],
) -> Result<Option<Stop>, AppendError> {
    let mut i = 0;
    while i < msgs.len() {
        // Leading messages not to copy, and any gap before the first: skipped.
        while i < msgs.len() && !msgs[i].copy {
            if let Some(tgt) = msgs[i].alias {
                m.add_alias(key, msgs[i].offset, tgt);
            }
            i += 1;
        }
        let upto = msgs
            .get(i)
            .map_or_else(|| msgs.last().map_or(next, |p| p.offset + 1), |p| p.offset);
        if upto > next {
            m.update_map(key, |map| map.skip(upto))?;
        }
        if i == msgs.len() {
            break;
        }
        // A run of consecutive messages to copy, up to MAX_APPEND_BYTES.
        let start = i;
        let mut bytes = 0;
        while i < msgs.len()
            && msgs[i].copy
            && msgs[i].offset == msgs[start].offset + (i - start) as i64
            && (i == start || bytes + msgs[i].raw.len() <= MAX_APPEND_BYTES)
        {
            bytes += msgs[i].raw.len();
            i += 1;
        }
        let run = &msgs[start..i];
        let result = append_run(m, key, tgt, tgt_next, run)
            .await
            .map_err(AppendError::Target)?;
        match result {
            Appended::Stored { first } => {
                let len = run.len() as i64;
                m.update_map(key, |map| map.record_run(run[0].offset, first, len))?;
                m.metrics.add_messages(len as u64, bytes as u64);
                next = run[0].offset + len;
                tgt_next = first + len;
            }
            Appended::Mismatch { actual } => {
                return Err(AppendError::Moved {
                    actual,
                    expected: tgt_next,
                });
            }
            Appended::Refused {
                source_offset,
                reason,
            } => {
                // Copy what comes before the refused message, then stop there.
                let ok = run.iter().take_while(|p| p.offset < source_offset).count();
                if ok > 0 {
                    if let Ok(Appended::Stored { first }) =
                        append_run(m, key, tgt, tgt_next, &run[..ok]).await
                    {
                        let _ = m
                            .update_map(key, |map| map.record_run(run[0].offset, first, ok as i64));
                    }
                }
                return Ok(Some(Stop::Refused(reason)));
            }
        }
    }
    Ok(None)
}

/// One FERRO_MIRROR_APPEND of consecutive messages, expected at `expected` on the target.
async fn append_run(
    m: &Mirror,
    key: &QueueKey,
    tgt: &str,
    expected: i64,
    run: &[Pulled],
) -> Result<Appended, ClientError> {
    let mut body = BytesMut::with_capacity(run.iter().map(|p| p.raw.len()).sum());
    for p in run {
        body.extend_from_slice(&p.raw);
    }
    m.target
        .append(
            tgt,
            &key.topic,
            key.queue_id,
            &key.broker,
            &m.cfg.source_label,
            expected,
            body.freeze(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_positions_parse() {
        assert_eq!(parse_source("broker-a|3|1200"), Some(("broker-a", 3, 1200)));
        assert_eq!(parse_source("b|x|1"), None);
        assert_eq!(parse_source("a|b|c|2|5"), Some(("a|b|c", 2, 5)));
        assert_eq!(parse_source("nope"), None);
    }
}
