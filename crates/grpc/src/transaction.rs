//! Transactional messages over gRPC: a TRANSACTION message is stored as a half message
//! (`ferromq_broker::transaction`), its send answers a transaction id, EndTransaction commits or
//! rolls it back, and the broker's check-back asks a producer of the topic over its Telemetry
//! stream (RecoverOrphanedTransactionCommand), which answers with EndTransaction.
//!
//! 5.x producers have no producer group; a half message's group is its topic's
//! ([`group_of`]), so any producer publishing the topic may be asked about it.

use std::collections::HashMap;
use std::sync::Arc;

use ferromq_broker::transaction::{end, RemoteProducers};
use ferromq_broker::Broker;
use ferromq_protocol::grpc::{
    telemetry_command, Code, EndTransactionRequest, EndTransactionResponse,
    RecoverOrphanedTransactionCommand, Status, TelemetryCommand, TransactionResolution,
    TransactionSource,
};
use ferromq_protocol::message::{prop, DecodedMessage};
use ferromq_protocol::transaction::{EndTransactionHeader, TxOutcome};
use parking_lot::Mutex;

use crate::convert::message_v2;
use crate::status::{from_refusal, ok, status};
use crate::telemetry::CommandSender;

/// Half messages sent over gRPC belong to the group `FERRO_GRPC_TX_<topic>`.
const GROUP_PREFIX: &str = "FERRO_GRPC_TX_";
const ID_PREFIX: &str = "fmqtx1";
/// At most this many producer streams are remembered (one per connected producer).
const MAX_PRODUCERS: usize = 10_000;

/// The producer group of a transactional message sent over gRPC to `topic`.
pub fn group_of(topic: &str) -> String {
    format!("{GROUP_PREFIX}{topic}")
}

/// The transaction id a send answers: where its half message is (half-queue offset and
/// commit-log offset), which EndTransaction needs to find it.
pub fn transaction_id(queue_offset: i64, commit_log_offset: i64) -> String {
    format!("{ID_PREFIX}-{queue_offset:x}-{commit_log_offset:x}")
}

fn parse_transaction_id(id: &str) -> Option<(i64, i64)> {
    let mut parts = id.split('-');
    if parts.next() != Some(ID_PREFIX) {
        return None;
    }
    let mut num = || i64::from_str_radix(parts.next()?, 16).ok();
    let (q, p) = (num()?, num()?);
    parts.next().is_none().then_some((q, p))
}

/// EndTransaction: commit or roll back the half message the transaction id names.
pub async fn end_transaction(
    b: &Arc<Broker>,
    req: EndTransactionRequest,
) -> EndTransactionResponse {
    let answer = |s: Status| EndTransactionResponse { status: Some(s) };
    let topic = req.topic.map(|t| t.name).unwrap_or_default();
    let Some((queue_offset, commit_log_offset)) = parse_transaction_id(&req.transaction_id) else {
        return answer(status(
            Code::InvalidTransactionId,
            format!(
                "{:?} is not a transaction id this broker issued",
                req.transaction_id
            ),
        ));
    };
    let outcome = match TransactionResolution::try_from(req.resolution) {
        Ok(TransactionResolution::Commit) => TxOutcome::Commit,
        Ok(TransactionResolution::Rollback) => TxOutcome::Rollback,
        _ => {
            return answer(status(
                Code::BadRequest,
                "resolution must be COMMIT or ROLLBACK",
            ))
        }
    };
    let h = EndTransactionHeader {
        producer_group: group_of(&topic),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: outcome.code(),
        from_transaction_check: req.source == TransactionSource::SourceServerCheck as i32,
        msg_id: Some(req.message_id),
        transaction_id: Some(req.transaction_id),
    };
    match end(b, h).await {
        Ok(()) => answer(ok()),
        Err(r) => answer(from_refusal(&r)),
    }
}

/// The producers connected over Telemetry and the topics they publish: whom the broker's
/// check-back asks about a half message.
#[derive(Default)]
pub struct GrpcProducers {
    streams: Mutex<HashMap<u64, (Vec<String>, CommandSender)>>,
}

impl GrpcProducers {
    /// Remembers stream `id` of a producer publishing `topics` (its settings, again on change).
    pub fn publishing(&self, id: u64, topics: Vec<String>, out: CommandSender) {
        let mut s = self.streams.lock();
        if s.len() < MAX_PRODUCERS || s.contains_key(&id) {
            s.insert(id, (topics, out));
        }
    }

    /// Forgets stream `id` (closed).
    pub fn closed(&self, id: u64) {
        self.streams.lock().remove(&id);
    }

    fn publishers(&self, group: &str) -> Vec<CommandSender> {
        let Some(topic) = group.strip_prefix(GROUP_PREFIX) else {
            return Vec::new();
        };
        let mut out: Vec<(u64, CommandSender)> = self
            .streams
            .lock()
            .iter()
            .filter(|(_, (topics, tx))| !tx.is_closed() && topics.iter().any(|t| t == topic))
            .map(|(id, (_, tx))| (*id, tx.clone()))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out.into_iter().map(|(_, tx)| tx).collect()
    }
}

impl RemoteProducers for GrpcProducers {
    fn online(&self, group: &str) -> bool {
        !self.publishers(group).is_empty()
    }

    fn ask(&self, group: &str, half: &DecodedMessage, checks: u32) -> Result<(), String> {
        let to = self.publishers(group);
        if to.is_empty() {
            return Err(format!("no producer of {group} is connected"));
        }
        let props = half.properties_map();
        let mut message = message_v2(half, None);
        if let Some(t) = message.topic.as_mut() {
            t.name = props.get(prop::REAL_TOPIC).cloned().unwrap_or_default();
        }
        let cmd = TelemetryCommand {
            status: Some(ok()),
            command: Some(
                telemetry_command::Command::RecoverOrphanedTransactionCommand(
                    RecoverOrphanedTransactionCommand {
                        message: Some(message),
                        transaction_id: transaction_id(half.queue_offset, half.physical_offset),
                    },
                ),
            ),
        };
        to[checks as usize % to.len()]
            .try_send(Ok(cmd))
            .map_err(|e| format!("the producer's stream did not take the question: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_round_trip_and_reject_others() {
        let id = transaction_id(7, 123_456);
        assert_eq!(parse_transaction_id(&id), Some((7, 123_456)));
        for bad in ["", "fmqtx1-1", "fmqtx1-1-2-3", "x-1-2", "fmqtx1-zz-1"] {
            assert_eq!(parse_transaction_id(bad), None, "{bad}");
        }
    }
}
