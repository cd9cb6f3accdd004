//! Administration: GET_BROKER_RUNTIME_INFO (28), GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204). The broker's settings (25, 26) are in
//! [`super::broker_config`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ferromq_net::Connection;
use ferromq_protocol::body::{
    self, ClientConnection, KvTable, ProducerConnection, SubscriptionData,
};
use ferromq_protocol::message::{pos, store_timestamp_pos};
use ferromq_protocol::{Refusal, RemotingCommand};
use serde::Serialize;

use crate::dispatch::Reply;
use crate::stats::format_rates;
use crate::Broker;

pub fn runtime_info(b: &Arc<Broker>) -> Reply {
    let mut t = BTreeMap::new();
    let s = &b.stats;
    let put = s.msg_put_total.load(Ordering::Relaxed).to_string();
    let get = s.msg_get_total.load(Ordering::Relaxed).to_string();
    t.insert(
        "brokerVersionDesc".into(),
        format!("ferromq {}", env!("CARGO_PKG_VERSION")),
    );
    t.insert(
        "brokerVersion".into(),
        ferromq_protocol::command::FERROMQ_VERSION.to_string(),
    );
    t.insert("brokerActive".into(), "true".into());
    t.insert("msgPutTotalTodayNow".into(), put.clone());
    t.insert("msgPutTotalTodayMorning".into(), "0".into());
    t.insert("msgPutTotalYesterdayMorning".into(), "0".into());
    t.insert("msgGetTotalTodayNow".into(), get);
    t.insert("msgGetTotalTodayMorning".into(), "0".into());
    t.insert("msgGetTotalYesterdayMorning".into(), "0".into());
    t.insert(
        "putBytesTotal".into(),
        s.put_bytes_total.load(Ordering::Relaxed).to_string(),
    );
    t.insert(
        "commitLogMinOffset".into(),
        b.store.commit_log_min_offset().to_string(),
    );
    t.insert(
        "commitLogMaxOffset".into(),
        b.store.commit_log_max_offset().to_string(),
    );
    t.insert("flushedOffset".into(), b.store.flushed_offset().to_string());
    t.insert("bootTimestamp".into(), b.boot_time_ms.to_string());
    t.insert(
        "startAcceptSendRequestTimeStamp".into(),
        b.boot_time_ms.to_string(),
    );
    t.insert("dispatchBehindBytes".into(), "0".into());
    t.insert("pageCacheLockTimeMills".into(), "0".into());
    t.insert("offsetEntries".into(), b.offsets.entry_count().to_string());
    let st = b.store.stats();
    t.insert("commitLogFsyncs".into(), st.log_fsyncs.to_string());
    // Sync flush mode: fewer than the POP changes answered shows the journal's group commit.
    t.insert("popJournalFsyncs".into(), b.pop.journal_syncs().to_string());
    t.insert("storePuts".into(), st.puts.to_string());
    let rates = s.rates(Instant::now());
    t.insert("putTps".into(), format_rates(&rates.put));
    // Upstream's spelling.
    t.insert("getTransferedTps".into(), format_rates(&rates.get));
    // ferromq has no request thread pools: each request runs on its own task as soon as it is
    // read, so nothing waits in a queue. The one bound on waiting requests is per connection:
    // after `max-inflight-per-connection` requests in progress the broker stops reading it.
    let capacity = b.cfg.max_inflight_per_connection.to_string();
    for pool in ["send", "pull"] {
        t.insert(format!("{pool}ThreadPoolQueueSize"), "0".into());
        t.insert(format!("{pool}ThreadPoolQueueCapacity"), capacity.clone());
        t.insert(
            format!("{pool}ThreadPoolQueueHeadWaitTimeMills"),
            "0".into(),
        );
    }
    t.insert(
        "earliestMessageTimeStamp".into(),
        earliest_store_time(b).to_string(),
    );
    t.insert(
        "commitLogDiskRatio".into(),
        disk_used_ratio(&b.store.config().root).to_string(),
    );
    Ok(RemotingCommand::success().with_body(body::to_vec(&KvTable { table: t })))
}

/// Store time (ms) of the oldest message in the commit log; -1 when it holds none (as
/// upstream).
fn earliest_store_time(b: &Broker) -> i64 {
    let Some(rec) = b.store.read_record(b.store.commit_log_min_offset()) else {
        return -1;
    };
    let field = |at: usize, len: usize| rec.get(at..at + len);
    let Some(sys_flag) = field(pos::SYS_FLAG, 4).and_then(|f| f.try_into().ok()) else {
        return -1;
    };
    field(store_timestamp_pos(i32::from_be_bytes(sys_flag)), 8)
        .and_then(|f| f.try_into().ok())
        .map_or(-1, i64::from_be_bytes)
}

/// Used / total space of the file system holding `dir`, 0..1 (upstream's
/// `getDiskPartitionSpaceUsedPercent`: space not free, reserved blocks counted as used);
/// -1 when it cannot be read.
fn disk_used_ratio(dir: &Path) -> f64 {
    match rustix::fs::statvfs(dir) {
        Ok(st) if st.f_blocks > 0 => {
            let used = st.f_blocks.saturating_sub(st.f_bfree);
            used as f64 / st.f_blocks as f64
        }
        _ => -1.0,
    }
}

/// A connection as the connection lists show it.
fn client_connection(conn: &Connection, client_id: &str) -> ClientConnection {
    let (lang, version) = conn.peer_info();
    ClientConnection {
        client_addr: conn.remote_addr().to_string(),
        client_id: client_id.to_string(),
        language: lang.name().to_string(),
        version,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerConnection {
    connection_set: Vec<ClientConnection>,
    consume_from_where: String,
    consume_type: String,
    message_model: String,
    subscription_table: BTreeMap<String, SubscriptionData>,
}

pub fn consumer_connections(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    let grpc = b.grpc_clients.members(group);
    let body = match b.clients.group(group) {
        Some(info) => ConsumerConnection {
            connection_set: info
                .channels
                .values()
                .map(|c| client_connection(&c.conn, &c.client_id))
                .chain(grpc.iter().map(grpc_connection))
                .collect(),
            consume_from_where: info.consume_from_where.clone(),
            consume_type: info.consume_type.clone(),
            message_model: info.message_model.clone(),
            subscription_table: info.subscriptions.clone().into_iter().collect(),
        },
        // Only 5.x gRPC consumers, reported as upstream's proxy registers them: push
        // consumers CONSUME_PASSIVELY, simple consumers CONSUME_ACTIVELY.
        None if !grpc.is_empty() => ConsumerConnection {
            connection_set: grpc.iter().map(grpc_connection).collect(),
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            consume_type: crate::grpc_clients::consume_type_of(&grpc).into(),
            message_model: "CLUSTERING".into(),
            subscription_table: grpc
                .iter()
                .flat_map(|m| m.topics.iter())
                .map(|t| (t.clone(), SubscriptionData::from_expression(t, "*", 0)))
                .collect(),
        },
        None => {
            return Err(Refusal::ConsumerNotOnline {
                group: group.to_string(),
            }
            .into())
        }
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&body)))
}

fn grpc_connection(m: &crate::grpc_clients::GrpcMember) -> ClientConnection {
    ClientConnection {
        client_addr: m.addr.to_string(),
        client_id: m.client_id.clone(),
        language: m.language.clone(),
        // The 5.x clients send no Remoting version ordinal.
        version: 0,
    }
}

/// GET_PRODUCER_CONNECTION_LIST: the connections of a producer group registered by heartbeat
/// (dropped when the connection closes or after 120 s without a heartbeat).
pub fn producer_connections(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("producerGroup")?;
    let producers = b.clients.producers(group);
    if producers.is_empty() {
        return Err(Refusal::SystemError(format!("the producer group[{group}] not exist")).into());
    }
    let body = ProducerConnection {
        connection_set: producers
            .iter()
            .map(|(conn, id)| client_connection(conn, id))
            .collect(),
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&body)))
}
