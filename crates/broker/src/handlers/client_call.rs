//! Requests the broker forwards to one live consumer: GET_CONSUMER_RUNNING_INFO (307, what
//! mqadmin `consumerStatus` shows: the client's subscriptions, process queues and thread pool)
//! and CONSUME_MESSAGE_DIRECTLY (309, mqadmin `consumeMessage` / `queryMsgById -g -d`: run one
//! stored message through the client's listener). Only the client knows these answers, so the
//! broker relays the request on the client's own connection and returns the client's response
//! unchanged, as upstream does. A 5.x gRPC consumer is asked over its Telemetry stream
//! ([`crate::remote_consumers`]) and its answer put in upstream's shapes, as its proxy does.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::Connection;
use ferromq_protocol::message::decode_offset_msg_id;
use ferromq_protocol::{Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::remote_consumers::{Pending, RemoteConsumers};
use crate::Broker;

/// How long the broker waits for the client (upstream: 5 s). The request that asked is served on
/// its own task, so a slow client holds nothing else up.
const CLIENT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// GET_CONSUMER_RUNNING_INFO: forwarded as is (`consumerGroup`, `clientId`, `jstackEnable`).
/// A gRPC consumer answers with its thread stacks only (what upstream's proxy reports too).
pub async fn running_info(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    if let Some((remote, client_id)) = remote_consumer(b, req)? {
        let stacks = within(remote.thread_stacks(&client_id), &client_id).await?;
        let group = req.req_str("consumerGroup")?;
        let members = b.grpc_clients.members(group);
        let consume_type = members
            .iter()
            .find(|m| m.client_id == client_id)
            .map_or("CONSUME_ACTIVELY", |m| m.consume_type());
        let info = serde_json::json!({
            "properties": {"PROP_CONSUME_TYPE": consume_type},
            "subscriptionSet": [],
            "mqTable": {},
            "statusTable": {},
            "jstack": stacks,
        });
        return Ok(RemotingCommand::success().with_body(info.to_string().into_bytes()));
    }
    let (conn, client_id) = consumer_connection(b, req)?;
    let mut forward = RemotingCommand::request(req.code);
    forward.ext_fields = req.ext_fields.clone();
    call(&conn, &client_id, forward).await
}

/// CONSUME_MESSAGE_DIRECTLY: the message named by its offset msgId is attached as the request
/// body (a stored record, as the client decodes pulled messages) and the request forwarded.
pub async fn consume_directly(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let msg_id = req.req_str("msgId")?;
    let (_, offset) = decode_offset_msg_id(msg_id).ok_or_else(|| {
        Refusal::InvalidParameter(format!("msgId {msg_id} is not an offset message id"))
    })?;
    let record = b.store.read_record(offset).ok_or_else(|| {
        Refusal::SystemError(format!("can not find message by the offset, {offset}"))
    })?;
    if let Some((remote, client_id)) = remote_consumer(b, req)? {
        let (msg, _) = ferromq_protocol::message::decode_record(&record).map_err(|e| {
            Refusal::SystemError(format!("the stored message does not decode: {e}"))
        })?;
        let started = std::time::Instant::now();
        let verified = within(remote.verify(&client_id, &msg), &client_id).await?;
        let result = serde_json::json!({
            "order": false,
            "autoCommit": true,
            "consumeResult": verified.cm_result(),
            "remark": "from gRPC client",
            "spentTimeMills": started.elapsed().as_millis() as i64,
        });
        return Ok(RemotingCommand::success().with_body(result.to_string().into_bytes()));
    }
    let (conn, client_id) = consumer_connection(b, req)?;
    let mut forward = RemotingCommand::request(req.code).with_body(record);
    forward.ext_fields = req.ext_fields.clone();
    let forward = forward.with_ext("brokerName", b.cfg.broker_name.as_str());
    call(&conn, &client_id, forward).await
}

/// A consumer reached over gRPC, and its client id.
type RemoteConsumer = (Arc<dyn RemoteConsumers>, String);

/// The gRPC consumer `clientId` of `consumerGroup`, when it is one.
fn remote_consumer(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<Option<RemoteConsumer>, Refusal> {
    let group = req.req_str("consumerGroup")?;
    let client_id = req.req_str("clientId")?;
    Ok(b.remote_consumers
        .get()
        .filter(|r| r.reaches(group, client_id))
        .map(|r| (r.clone(), client_id.to_string())))
}

/// A gRPC client's answer, within the time a Remoting client gets.
async fn within<T>(answer: Pending<T>, client_id: &str) -> Result<T, Refusal> {
    match tokio::time::timeout(CLIENT_CALL_TIMEOUT, answer).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Refusal::SystemError(format!(
            "consumer <{client_id}> did not answer: {e}"
        ))),
        Err(_) => Err(Refusal::SystemError(format!(
            "consumer <{client_id}> did not answer within {CLIENT_CALL_TIMEOUT:?}"
        ))),
    }
}

/// The connection of `clientId` in `consumerGroup`, or upstream's "not online" answer.
fn consumer_connection(
    b: &Arc<Broker>,
    req: &RemotingCommand,
) -> Result<(Connection, String), Refusal> {
    let group = req.req_str("consumerGroup")?;
    let client_id = req.req_str("clientId")?;
    let channel = b.clients.group(group).and_then(|info| {
        info.channels
            .into_values()
            .find(|c| c.client_id == client_id)
    });
    match channel {
        Some(c) => Ok((c.conn, c.client_id)),
        None => Err(Refusal::SystemError(format!(
            "The Consumer <{client_id}> not online"
        ))),
    }
}

async fn call(conn: &Connection, client_id: &str, forward: RemotingCommand) -> Reply {
    let code = forward.code;
    match conn.request(forward, CLIENT_CALL_TIMEOUT).await {
        Ok(resp) => Ok(resp),
        Err(e) => Err(Refusal::SystemError(format!(
            "invoke consumer <{client_id}> request {code} failed: {e}"
        ))
        .into()),
    }
}
