//! Administration: GET_BROKER_RUNTIME_INFO (28), GET_CONSUMER_CONNECTION_LIST (203).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferromq_protocol::body::{self, KvTable, SubscriptionData};
use ferromq_protocol::{Refusal, RemotingCommand};
use serde::Serialize;

use crate::dispatch::Reply;
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
    t.insert("storePuts".into(), st.puts.to_string());
    Ok(RemotingCommand::success().with_body(body::to_vec(&KvTable { table: t })))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionInfo {
    client_addr: String,
    client_id: String,
    language: &'static str,
    version: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerConnection {
    connection_set: Vec<ConnectionInfo>,
    consume_from_where: String,
    consume_type: String,
    message_model: String,
    subscription_table: BTreeMap<String, SubscriptionData>,
}

pub fn consumer_connections(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    let info = b
        .clients
        .group(group)
        .ok_or_else(|| Refusal::ConsumerNotOnline {
            group: group.to_string(),
        })?;
    let body = ConsumerConnection {
        connection_set: info
            .channels
            .values()
            .map(|c| {
                let (lang, version) = c.conn.peer_info();
                ConnectionInfo {
                    client_addr: c.conn.remote_addr().to_string(),
                    client_id: c.client_id.clone(),
                    language: lang.name(),
                    version,
                }
            })
            .collect(),
        consume_from_where: info.consume_from_where.clone(),
        consume_type: info.consume_type.clone(),
        message_model: info.message_model.clone(),
        subscription_table: info.subscriptions.clone().into_iter().collect(),
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&body)))
}
