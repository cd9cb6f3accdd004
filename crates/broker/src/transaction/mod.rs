//! Transactional messages (upstream's `TransactionalMessageService`):
//! - here: [`Transactions`], storing half messages (`prepare`) and resolving them
//!   (`resolve`: commit re-stores the message in its real topic, rollback drops it; either
//!   way an op record makes the resolution durable);
//! - [`state`]: the bounded pending set and its claim rules (resolve once, never twice);
//! - [`check`]: the background scan that asks producers about old half messages
//!   (CHECK_TRANSACTION_STATE), discards those asked too often, and writes checkpoints;
//! - [`recovery`]: the checkpoint and the replay of the half and op queues at start-up;
//! - `record`: the half, committed and op records and the check-back request.
//!
//! Every step that stores a record runs in its own task: a client that disconnects mid-request
//! cannot leave a message committed but still pending (which a later check-back would commit
//! again).

pub mod check;
pub mod recovery;
pub mod state;

pub(crate) mod record;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ferromq_protocol::message::{decode_record, find_property, DecodedMessage};
use ferromq_protocol::transaction::{self as tx, EndTransactionHeader, TxOutcome};
use ferromq_protocol::Refusal;
use ferromq_store::{MessageStore, StoreError};
use parking_lot::Mutex;
use tokio::sync::RwLock;

use crate::error::ReplyError;
use crate::handlers::{store_messages, Outgoing, Stored};
use crate::Broker;
use state::{ClaimError, State};

/// The transaction service of one broker.
pub struct Transactions {
    state: Mutex<State>,
    /// Held shared by every step that stores a transaction record and then updates the state,
    /// and exclusively by the checkpoint, so that a checkpoint never sees a record stored but
    /// not yet counted (see `recovery`). Only transactional requests take it.
    gate: RwLock<()>,
    checkpoint_path: PathBuf,
    /// Producers reached another way than a Remoting connection (the gRPC endpoint's).
    remote: OnceLock<Arc<dyn RemoteProducers>>,
}

/// Producers that are not Remoting connections (5.x gRPC clients, asked over their Telemetry
/// stream) and can be asked about a half message of their group.
pub trait RemoteProducers: Send + Sync {
    /// Whether a producer of `group` is connected.
    fn online(&self, group: &str) -> bool;
    /// Asks one producer of `group` (rotating with `checks`) to resolve `half`.
    ///
    /// # Errors
    /// Why nobody took the question (none online, its queue full).
    fn ask(&self, group: &str, half: &DecodedMessage, checks: u32) -> Result<(), String>;
}

impl Transactions {
    /// Rebuilds the pending set from the checkpoint in `config_dir` and the store.
    pub fn open(store: &MessageStore, config_dir: PathBuf, timeout_ms: u64) -> Self {
        let checkpoint_path = config_dir.join("transactions.json");
        let timeout = i64::try_from(timeout_ms).unwrap_or(i64::MAX);
        let state = recovery::recover(store, &checkpoint_path, timeout);
        Self {
            state: Mutex::new(state),
            gate: RwLock::new(()),
            checkpoint_path,
            remote: OnceLock::new(),
        }
    }

    /// Lets the check-back ask `remote`'s producers too (set once, by the gRPC endpoint).
    pub fn set_remote_producers(&self, remote: Arc<dyn RemoteProducers>) {
        let _ = self.remote.set(remote);
    }

    pub(crate) fn remote_producers(&self, group: &str) -> Option<&Arc<dyn RemoteProducers>> {
        self.remote.get().filter(|r| r.online(group))
    }

    /// Half messages waiting for a decision.
    pub fn pending_count(&self) -> usize {
        self.state.lock().pending.len()
    }
}

/// Stores a half message (bound for `msg.topic`/`msg.queue_id`) in the half topic and adds it
/// to the pending set. The result names the half record, with the *real* queue id (what the
/// send response reports, as upstream's does).
///
/// # Errors
/// SYSTEM_BUSY when `transaction-max-pending` messages are pending; the store's error.
pub(crate) async fn prepare(
    b: &Arc<Broker>,
    msg: Outgoing,
    producer_group: &str,
) -> Result<Stored, ReplyError> {
    let real_queue = msg.queue_id;
    let half = record::half(msg, producer_group);
    let group = match find_property(&half.properties, tx::prop::PGROUP) {
        Some(g) if !g.is_empty() => g.to_string(),
        // Nobody could be asked about it, nor resolve it (END_TRANSACTION names the group).
        _ => {
            return Err(Refusal::InvalidParameter(
                "a transactional message needs a producer group (producerGroup or PGROUP)".into(),
            )
            .into())
        }
    };
    let timeout = i64::try_from(b.cfg.transaction_timeout_ms).unwrap_or(i64::MAX);
    let first_wait_ms = recovery::first_wait_ms(&half.properties, timeout);
    let max = b.cfg.transaction_max_pending;
    if !b.transactions.state.lock().reserve(max) {
        return Err(Refusal::SystemBusy {
            limit: "transaction-max-pending",
            message: format!(
                "[TRANSACTION] {max} half messages are waiting for a commit or rollback \
                 (transaction-max-pending); try again later"
            ),
        }
        .into());
    }
    let b2 = b.clone();
    let task = tokio::spawn(async move {
        let tx = &b2.transactions;
        let _gate = tx.gate.read().await;
        let result = store_messages(&b2, vec![half]).await;
        let first = result.as_ref().ok().and_then(|stored| stored.first());
        tx.state.lock().settle_reserved(first.map(|s| {
            let pending = state::Pending {
                phys: s.put.physical_offset,
                store_ts: s.put.store_timestamp,
                group,
                checks: 0,
                last_check_ms: 0,
                first_wait_ms,
            };
            (s.put.queue_offset, pending)
        }));
        result
    });
    let stored = task
        .await
        .map_err(|e| Refusal::SystemError(format!("storing the half message failed: {e}")))??;
    let mut first = stored
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::SystemError("store returned no result".into()))?;
    first.queue_id = real_queue;
    Ok(first)
}

/// END_TRANSACTION for front ends other than Remoting (the gRPC EndTransaction).
///
/// # Errors
/// As END_TRANSACTION is refused.
pub async fn end(b: &Arc<Broker>, h: EndTransactionHeader) -> Result<(), Refusal> {
    resolve(b, h).await.map_err(|e| e.0)
}

/// Applies a producer's decision about one half message. UNKNOW changes nothing (a check-back
/// will ask again). Commit stores the message in its real topic together with the op record
/// (one append); rollback stores only the op record.
///
/// # Errors
/// SYSTEM_ERROR naming what does not match (upstream's remarks where upstream has one): no half
/// message at that offset, already resolved, another resolution in progress, wrong producer
/// group or commit-log offset; INVALID_PARAMETER for a `commitOrRollback` that is not 0, 8 or 12;
/// the store's error (the message then stays pending).
pub(crate) async fn resolve(b: &Arc<Broker>, h: EndTransactionHeader) -> Result<(), ReplyError> {
    let outcome = match TxOutcome::from_code(h.commit_or_rollback) {
        Some(TxOutcome::Unknown) => return Ok(()),
        Some(o) => o,
        None => {
            return Err(Refusal::InvalidParameter(format!(
                "commitOrRollback {} is not 0 (unknown), 8 (commit) or 12 (rollback)",
                h.commit_or_rollback
            ))
            .into())
        }
    };
    let b2 = b.clone();
    tokio::spawn(async move { resolve_claimed(&b2, &h, outcome).await })
        .await
        .map_err(|e| Refusal::SystemError(format!("ending the transaction failed: {e}")))?
}

async fn resolve_claimed(
    b: &Broker,
    h: &EndTransactionHeader,
    outcome: TxOutcome,
) -> Result<(), ReplyError> {
    let tx = &b.transactions;
    let _gate = tx.gate.read().await;
    let offset = h.tran_state_table_offset;
    let claimed = tx.state.lock().claim(offset, Some(h.commit_log_offset));
    let pending = match claimed {
        Ok(p) => p,
        Err(ClaimError::NotPending) => return Err(not_pending(b, h).into()),
        Err(ClaimError::Busy) => {
            return Err(Refusal::SystemError(format!(
                "the half message at offset {offset} is being resolved by another request"
            ))
            .into())
        }
        Err(ClaimError::WrongCommitLogOffset { actual }) => {
            if let Err(r) = foreign_record(b, h) {
                return Err(r.into());
            }
            return Err(Refusal::SystemError(format!(
                "The commit log offset wrong: the half message at offset {offset} is at commit \
                 log offset {actual}, not {}",
                h.commit_log_offset
            ))
            .into());
        }
    };
    if pending.group != h.producer_group {
        tx.state.lock().release(offset, false);
        return Err(Refusal::SystemError(format!(
            "The producer group wrong: the half message at offset {offset} belongs to {}",
            pending.group
        ))
        .into());
    }
    let mut records = Vec::with_capacity(2);
    if outcome == TxOutcome::Commit {
        match read_half(b, offset, pending.phys).and_then(|m| {
            let (topic, queue) = record::destination(&m).ok_or_else(|| {
                Refusal::SystemError(format!(
                    "the half message at offset {offset} names no REAL_TOPIC/REAL_QID"
                ))
            })?;
            Ok(record::committed(&m, topic, queue))
        }) {
            Ok(out) => records.push(out),
            Err(e) => {
                tx.state.lock().release(offset, false);
                return Err(e.into());
            }
        }
    }
    records.push(record::op(offset, b.store_host));
    let result = store_messages(b, records).await;
    // A flush timeout means written but not yet synced: resolved all the same, or a check-back
    // would commit the message a second time.
    let stored = matches!(result, Ok(_) | Err(StoreError::FlushTimeout(_)));
    tx.state.lock().release(offset, stored);
    result.map(|_| ()).map_err(Into::into)
}

/// The half record at `phys`, checked to be the one at half-queue `offset`.
fn read_half(b: &Broker, offset: i64, phys: i64) -> Result<DecodedMessage, Refusal> {
    let missing = || {
        Refusal::SystemError(format!(
            "Find prepared transaction message failed: the half message at offset {offset} \
             (commit log offset {phys}) is no longer in the store"
        ))
    };
    let raw = b.store.read_record(phys).ok_or_else(missing)?;
    let (m, _) = decode_record(&raw).map_err(|_| missing())?;
    if m.topic != tx::HALF_TOPIC || m.queue_offset != offset {
        return Err(missing());
    }
    Ok(m)
}

/// The refusal for an END_TRANSACTION whose commit-log offset names no record or a record that
/// is not a half message; the half message otherwise.
fn foreign_record(b: &Broker, h: &EndTransactionHeader) -> Result<DecodedMessage, Refusal> {
    let phys = h.commit_log_offset;
    let found = b
        .store
        .read_record(phys)
        .and_then(|raw| decode_record(&raw).ok().map(|(m, _)| m));
    match found {
        None => Err(Refusal::SystemError(format!(
            "Find prepared transaction message failed: no message at commit log offset {phys}"
        ))),
        Some(m) if m.topic != tx::HALF_TOPIC => Err(Refusal::SystemError(format!(
            "the message at commit log offset {phys} is not a half message (topic {})",
            m.topic
        ))),
        Some(m) => Ok(m),
    }
}

/// Why an END_TRANSACTION names nothing pending, in the client's terms.
fn not_pending(b: &Broker, h: &EndTransactionHeader) -> Refusal {
    match foreign_record(b, h) {
        Err(r) => r,
        Ok(m) if m.queue_offset != h.tran_state_table_offset => Refusal::SystemError(format!(
            "The transaction state table offset wrong: the half message at commit log offset \
             {} is at offset {}, not {}",
            h.commit_log_offset, m.queue_offset, h.tran_state_table_offset
        )),
        Ok(m) => Refusal::SystemError(format!(
            "the half message at offset {} is already resolved (committed, rolled back or \
             discarded)",
            m.queue_offset
        )),
    }
}

/// Records a half message as resolved without delivering it (check limit reached, or its
/// record is gone). Returns whether it was recorded.
pub(crate) async fn discard(b: &Broker, offset: i64, phys: i64, why: &str) -> bool {
    let tx = &b.transactions;
    let _gate = tx.gate.read().await;
    if tx.state.lock().claim(offset, Some(phys)).is_err() {
        return false;
    }
    let result = store_messages(b, vec![record::op(offset, b.store_host)]).await;
    let stored = matches!(result, Ok(_) | Err(StoreError::FlushTimeout(_)));
    tx.state.lock().release(offset, stored);
    if stored {
        tracing::warn!(
            offset,
            phys,
            "half message discarded, never delivered: {why}"
        );
    } else if let Err(e) = result {
        tracing::warn!(offset, "discarding a half message failed, will retry: {e}");
    }
    stored
}
