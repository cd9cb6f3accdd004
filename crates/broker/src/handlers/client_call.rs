//! Requests the broker forwards to one live consumer: GET_CONSUMER_RUNNING_INFO (307, what
//! mqadmin `consumerStatus` shows: the client's subscriptions, process queues and thread pool)
//! and CONSUME_MESSAGE_DIRECTLY (309, mqadmin `consumeMessage` / `queryMsgById -g -d`: run one
//! stored message through the client's listener). Only the client knows these answers, so the
//! broker relays the request on the client's own connection and returns the client's response
//! unchanged, as upstream does.

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::Connection;
use ferromq_protocol::message::decode_offset_msg_id;
use ferromq_protocol::{Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::Broker;

/// How long the broker waits for the client (upstream: 5 s). The request that asked is served on
/// its own task, so a slow client holds nothing else up.
const CLIENT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// GET_CONSUMER_RUNNING_INFO: forwarded as is (`consumerGroup`, `clientId`, `jstackEnable`).
pub async fn running_info(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
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
    let (conn, client_id) = consumer_connection(b, req)?;
    let mut forward = RemotingCommand::request(req.code).with_body(record);
    forward.ext_fields = req.ext_fields.clone();
    let forward = forward.with_ext("brokerName", b.cfg.broker_name.as_str());
    call(&conn, &client_id, forward).await
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
