//! The broker's one dispatch table: every request code it serves, and the handler for it.
//! Codes not listed answer REQUEST_CODE_NOT_SUPPORTED.

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::{Refusal, RemotingCommand};

use crate::access;
use crate::error::{count_limit, ReplyError};
use crate::handlers::{
    admin, assignment, auth_admin, broker_config, client, client_call, consume_stats, group,
    mirror, offset, pop, progress, pull, query, retry, send, topic, track, transaction,
};
use crate::Broker;

/// What a handler returns: the response, or why the request was refused (answered with the
/// refusal's code and remark, [`Refusal::to_response`]).
pub type Reply = Result<RemotingCommand, ReplyError>;

pub async fn dispatch(
    b: &Arc<Broker>,
    conn: Connection,
    mut req: RemotingCommand,
) -> Option<RemotingCommand> {
    // Every request at TRACE (`RUST_LOG=ferromq_broker::dispatch=trace`): the order in which a
    // client's requests arrived is what explains most client-side surprises.
    tracing::trace!(code = req.code, opaque = req.opaque, peer = %conn.remote_addr(), ext = ?req.ext_fields, "request");
    // Who sent it and whether they may, before anything else (off unless configured).
    if let Err(r) = access::check(&b.cfg, &b.access, conn.remote_addr().ip(), &mut req) {
        tracing::debug!(code = req.code, peer = %conn.remote_addr(), "refused: {r}");
        return Some(r.to_response());
    }
    let reply: Reply = match req.code {
        // Producing
        rq::SEND_MESSAGE => send::send(b, &conn, &req, false).await,
        rq::SEND_MESSAGE_V2 => send::send(b, &conn, &req, true).await,
        rq::SEND_BATCH_MESSAGE => send::send_batch(b, &conn, &req).await,
        rq::CONSUMER_SEND_MSG_BACK => retry::send_back(b, &conn, &req).await,
        rq::END_TRANSACTION => transaction::end_transaction(b, &conn, &req).await,
        rq::RECALL_MESSAGE => send::recall(b, &req).await,
        // Consuming
        rq::PULL_MESSAGE | rq::LITE_PULL_MESSAGE => pull::pull(b, &conn, req).await,
        rq::QUERY_CONSUMER_OFFSET => offset::query(b, &req).await,
        rq::UPDATE_CONSUMER_OFFSET => offset::update(b, &req).await,
        rq::GET_ALL_CONSUMER_OFFSET => offset::get_all(b),
        // POP over Remoting (5.x Java client in POP mode) and server-side assignment
        rq::POP_MESSAGE => pop::pop_message(b, &req).await,
        rq::ACK_MESSAGE => pop::ack_message(b, &req).await,
        rq::BATCH_ACK_MESSAGE => pop::batch_ack(b, &req).await,
        rq::CHANGE_MESSAGE_INVISIBLETIME => pop::change_invisible_time(b, &req).await,
        rq::QUERY_ASSIGNMENT => assignment::query_assignment(b, &req).await,
        rq::SET_MESSAGE_REQUEST_MODE => assignment::set_message_request_mode(b, &req).await,
        // Consumer progress
        rq::INVOKE_BROKER_TO_RESET_OFFSET => progress::invoke_reset(b, &conn, &req).await,
        rq::CLONE_GROUP_OFFSET => progress::clone_group(b, &conn, &req).await,
        rq::GET_CONSUME_STATS => consume_stats::group_stats(b, &req),
        rq::GET_BROKER_CONSUME_STATS => consume_stats::broker_stats(b, &req),
        // ferromq's own codes (docs/protocol.md)
        rq::FERRO_CAPABILITIES => progress::capabilities(),
        rq::FERRO_RESET_OFFSETS => progress::reset_offsets(b, &conn, &req).await,
        rq::FERRO_DESCRIBE_GROUP => progress::describe_group(b, &req),
        rq::FERRO_HISTORY => progress::history(b, &req),
        rq::FERRO_UNDO => progress::undo(b, &conn, &req).await,
        rq::FERRO_INTENTS => progress::intents(b, &req),
        rq::FERRO_CLONE_OFFSETS => progress::clone_offsets(b, &conn, &req).await,
        rq::FERRO_DELETE_OFFSETS => progress::delete_offsets(b, &conn, &req).await,
        rq::FERRO_IMPORT_OFFSETS => progress::import_offsets(b, &conn, &req).await,
        rq::FERRO_EXPORT_OFFSETS => progress::export_offsets(b, &req),
        rq::FERRO_MIRROR_APPEND => mirror::append(b, &req).await,
        rq::FERRO_SYNC_OFFSETS => mirror::sync_offsets(b, &req).await,
        // Queue positions and messages
        rq::GET_MAX_OFFSET => query::max_offset(b, &req),
        rq::GET_MIN_OFFSET => query::min_offset(b, &req),
        rq::SEARCH_OFFSET_BY_TIMESTAMP => query::search_by_time(b, &req),
        rq::GET_EARLIEST_MSG_STORETIME => query::earliest_store_time(b, &req),
        rq::VIEW_MESSAGE_BY_ID => query::view_by_offset(b, &req),
        rq::QUERY_MESSAGE => query::query_message(b, &req),
        // Client membership
        rq::HEART_BEAT => client::heartbeat(b, &conn, &req),
        rq::UNREGISTER_CLIENT => client::unregister(b, &conn, &req),
        rq::GET_CONSUMER_LIST_BY_GROUP => client::consumer_list(b, &req),
        rq::LOCK_BATCH_MQ => client::lock(b, &req),
        rq::UNLOCK_BATCH_MQ => client::unlock(b, &req),
        rq::CHECK_CLIENT_CONFIG => client::check_config(b, &req),
        // Topics
        rq::UPDATE_AND_CREATE_TOPIC => topic::create(b, &req).await,
        rq::DELETE_TOPIC_IN_BROKER => topic::delete(b, &req).await,
        rq::GET_ALL_TOPIC_CONFIG => topic::get_all(b),
        rq::GET_TOPIC_CONFIG => topic::get_one(b, &req),
        rq::GET_TOPIC_STATS_INFO => topic::stats(b, &req),
        // Subscription groups
        rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => group::create(b, &req).await,
        rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => group::get_all(b),
        rq::GET_SUBSCRIPTIONGROUP_CONFIG => group::get_one(b, &req),
        rq::DELETE_SUBSCRIPTIONGROUP => group::delete(b, &conn, &req).await,
        // Administration
        rq::GET_BROKER_RUNTIME_INFO => admin::runtime_info(b),
        rq::GET_CONSUMER_CONNECTION_LIST => admin::consumer_connections(b, &req),
        rq::GET_CONSUMER_RUNNING_INFO => client_call::running_info(b, &req).await,
        rq::CONSUME_MESSAGE_DIRECTLY => client_call::consume_directly(b, &req).await,
        rq::GET_PRODUCER_CONNECTION_LIST => admin::producer_connections(b, &req),
        rq::QUERY_TOPIC_CONSUME_BY_WHO => track::consume_by_who(b, &req),
        rq::QUERY_CONSUME_TIME_SPAN => track::consume_time_span(b, &req),
        rq::GET_BROKER_CONFIG => broker_config::get(b),
        rq::UPDATE_BROKER_CONFIG => broker_config::update(b, &req).await,
        // Users and ACLs
        rq::AUTH_CREATE_USER => auth_admin::create_user(b, &req),
        rq::AUTH_UPDATE_USER => auth_admin::update_user(b, &req),
        rq::AUTH_DELETE_USER => auth_admin::delete_user(b, &req),
        rq::AUTH_GET_USER => auth_admin::get_user(b, &req),
        rq::AUTH_LIST_USER => auth_admin::list_users(b, &req),
        rq::AUTH_CREATE_ACL | rq::AUTH_UPDATE_ACL => auth_admin::put_acl(b, &req),
        rq::AUTH_DELETE_ACL => auth_admin::delete_acl(b, &req),
        rq::AUTH_GET_ACL => auth_admin::get_acl(b, &req),
        rq::AUTH_LIST_ACL => auth_admin::list_acls(b, &req),
        other => Err(Refusal::RequestCodeNotSupported { code: other }.into()),
    };
    Some(reply.unwrap_or_else(|ReplyError(r)| {
        count_limit(b, &r);
        r.to_response()
    }))
}
