//! Telling online consumers about a reset at once: RESET_CONSUMER_CLIENT_OFFSET (220), oneway,
//! to every client of the group. The C++ client needs the array body (`ResetOffsetBodyForC`);
//! Java clients read the `MessageQueue`-keyed map. Clients that ignore 220 (ali-ons) learn of
//! the reset from their next pull (PULL_OFFSET_MOVED): a reset wakes held long polls, so that
//! happens at once too.
//!
//! 220 is sent only when the topic lives on this broker alone (asked of the name server). With
//! several brokers each would send its own notice for the same topic at the same moment, and the
//! Apache C++ client (rocketmq-client-cpp 1.2) then stalls waiting on a pull it considers
//! outstanding; it follows PULL_OFFSET_MOVED from every broker correctly.

use ferromq_protocol::body::{write_mq_map, MessageQueue};
use ferromq_protocol::codes::request;
use ferromq_protocol::{LanguageCode, RemotingCommand};
use serde::Serialize;

use crate::route_lookup::{topic_route, RouteAnswer};
use crate::Broker;

/// Whether the name servers route `topic` to one broker only (`None` when none answers).
async fn on_one_broker(
    namesrv: &[String],
    how: (Option<&ferromq_tls::ClientTls>, Option<&(String, String)>),
    topic: &str,
) -> Option<bool> {
    match topic_route(namesrv, how, topic).await {
        RouteAnswer::Found(route) => Some(route.broker_datas.len() <= 1),
        RouteAnswer::Unknown | RouteAnswer::Unreachable => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CppEntry<'a> {
    broker_name: &'a str,
    offset: i64,
    queue_id: i32,
    topic: &'a str,
}

pub fn reset_clients(b: &Broker, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    if offsets.is_empty() {
        return;
    }
    let Some(info) = b.clients.group(group) else {
        return;
    };
    let broker = b.cfg.broker_name.as_str();
    let java_body = {
        let entries: Vec<(MessageQueue, i64)> = offsets
            .iter()
            .map(|(q, o)| (MessageQueue::new(topic, broker, *q), *o))
            .collect();
        format!("{{\"offsetTable\":{}}}", write_mq_map(&entries))
    };
    let cpp_body = {
        let entries: Vec<CppEntry> = offsets
            .iter()
            .map(|(q, o)| CppEntry {
                broker_name: broker,
                offset: *o,
                queue_id: *q,
                topic,
            })
            .collect();
        format!(
            "{{\"offsetTable\":{}}}",
            serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())
        )
    };
    let mut notices = Vec::new();
    for ch in info.channels.values() {
        let (lang, _) = ch.conn.peer_info();
        let body = if lang == LanguageCode::CPP {
            cpp_body.clone()
        } else {
            java_body.clone()
        };
        let cmd = RemotingCommand::request(request::RESET_CONSUMER_CLIENT_OFFSET)
            .with_ext("topic", topic)
            .with_ext("group", group)
            .with_ext("timestamp", crate::topics::now_ms())
            .with_ext("isForce", true)
            .with_body(body.into_bytes());
        notices.push((ch.conn.clone(), ch.client_id.clone(), cmd));
    }
    let namesrv = b.cfg.namesrv_addrs();
    let tls = b.namesrv_tls.clone();
    let creds = b.inner_credentials.clone();
    let topic = topic.to_string();
    tokio::spawn(async move {
        if on_one_broker(&namesrv, (tls.as_ref(), creds.as_ref()), &topic).await != Some(true) {
            tracing::debug!(%topic, "topic on several brokers (or route unknown): clients follow PULL_OFFSET_MOVED");
            return;
        }
        for (conn, client, cmd) in notices {
            if let Err(e) = conn.try_oneway(cmd) {
                tracing::debug!(%client, "reset notice not sent: {e}");
            }
        }
    });
}
