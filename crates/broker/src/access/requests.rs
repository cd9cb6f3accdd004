//! What each request code touches, for authorization: upstream's mapping (the hard-coded
//! switch and the `@RocketMQAction` annotations of its request headers) for the codes ferromq
//! serves, and ferromq's own codes. Offset changes other than consuming (resets, clones, imports,
//! deletes, undos) need `ResetOffset` on the group, and on the source group of a clone.
//! A code listed nowhere needs `Update` on the cluster, so an unmapped code never runs unchecked.

use ferromq_auth::{Action, Request, Resource};
use ferromq_protocol::body::progress::{
    CloneRequest, DeleteRequest, DescribeRequest, ExportRequest, HistoryRequest, ImportRequest,
    ResetRequest,
};
use ferromq_protocol::body::{self, HeartbeatData, LockBatchBody};
use ferromq_protocol::body::{BatchAckMessageRequestBody, SetMessageRequestModeRequestBody};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde::de::DeserializeOwned;

use Action::{Create, Delete, Get, List, Pub, ResetOffset, Sub, Update};

const RETRY: &str = "%RETRY%";

/// The requests `req` makes, or why it cannot be read (refused: an unreadable request must not
/// pass unchecked).
pub fn of(cluster: &str, req: &RemotingCommand) -> Result<Vec<Request>, String> {
    let ext = |k: &str| req.ext(k).filter(|v| !v.is_empty());
    let topic = |k: &str, actions: &[Action]| -> Vec<Request> {
        ext(k).map_or_else(Vec::new, |t| vec![topic_or_retry(t, actions)])
    };
    let group = |k: &str, actions: &[Action]| -> Vec<Request> {
        ext(k).map_or_else(Vec::new, |g| {
            vec![Request::new(Resource::group(g), actions)]
        })
    };
    let cluster_req = |actions: &[Action]| vec![Request::new(Resource::cluster(cluster), actions)];
    let both = |g: &str, t: &str, actions: &[Action]| {
        let mut v = group(g, actions);
        if !ext(t).is_some_and(|t| t.starts_with(RETRY)) {
            v.extend(topic(t, actions));
        }
        v
    };
    Ok(match req.code {
        rq::SEND_MESSAGE => send(ext("topic"), ext("producerGroup").or(ext("group"))),
        rq::SEND_MESSAGE_V2 | rq::SEND_BATCH_MESSAGE => send(ext("b"), ext("a")),
        rq::RECALL_MESSAGE | rq::END_TRANSACTION | rq::CHECK_TRANSACTION_STATE => {
            topic("topic", &[Pub])
        }
        rq::CONSUMER_SEND_MSG_BACK => group("group", &[Sub]),
        rq::PULL_MESSAGE | rq::LITE_PULL_MESSAGE => both("consumerGroup", "topic", &[Sub]),
        rq::POP_MESSAGE | rq::ACK_MESSAGE | rq::CHANGE_MESSAGE_INVISIBLETIME => {
            both("consumerGroup", "topic", &[Sub])
        }
        rq::QUERY_ASSIGNMENT => both("consumerGroup", "topic", &[Sub]),
        rq::BATCH_ACK_MESSAGE => batch_ack(req)?,
        rq::SET_MESSAGE_REQUEST_MODE => request_mode(req)?,
        rq::QUERY_MESSAGE => topic("topic", &[Sub, Get]),
        rq::HEART_BEAT => heartbeat(req)?,
        rq::UNREGISTER_CLIENT => group("consumerGroup", &[Sub]),
        rq::GET_CONSUMER_LIST_BY_GROUP => group("consumerGroup", &[Sub, Get]),
        rq::QUERY_CONSUMER_OFFSET => both("consumerGroup", "topic", &[Sub, Get]),
        // A consumer's own commits; the broker also keeps them within what the group pulled
        // unless the user may reset (`access::commit_guard`).
        rq::UPDATE_CONSUMER_OFFSET => both("consumerGroup", "topic", &[Sub, Update]),
        rq::LOCK_BATCH_MQ | rq::UNLOCK_BATCH_MQ => lock(req)?,
        rq::CHECK_CLIENT_CONFIG => group("group", &[Sub]),
        rq::GET_ROUTEINFO_BY_TOPIC => match ext("topic") {
            Some(t) if t.starts_with(RETRY) => vec![Request::new(Resource::group(t), &[Sub, Get])],
            _ => topic("topic", &[Pub, Sub, Get]),
        },
        // Topics and groups
        rq::UPDATE_AND_CREATE_TOPIC => topic("topic", &[Create]),
        rq::DELETE_TOPIC_IN_BROKER => topic("topic", &[Delete]),
        rq::GET_TOPIC_CONFIG
        | rq::GET_TOPIC_STATS_INFO
        | rq::SEARCH_OFFSET_BY_TIMESTAMP
        | rq::GET_MAX_OFFSET
        | rq::GET_MIN_OFFSET
        | rq::GET_EARLIEST_MSG_STORETIME
        | rq::VIEW_MESSAGE_BY_ID
        | rq::QUERY_TOPIC_CONSUME_BY_WHO => topic("topic", &[Get]),
        rq::GET_ALL_TOPIC_CONFIG | rq::GET_TOPIC_NAME_LIST => {
            vec![Request::new(
                Resource::AllOf(ferromq_auth::model::ResourceType::Topic),
                &[Get, List],
            )]
        }
        rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
            vec![Request::new(
                Resource::AllOf(ferromq_auth::model::ResourceType::Group),
                &[Get, List],
            )]
        }
        rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            let g: serde_json::Value = parse(req)?;
            let name = g["groupName"].as_str().unwrap_or_default();
            vec![Request::new(Resource::group(name), &[Create, Update])]
        }
        rq::GET_SUBSCRIPTIONGROUP_CONFIG => group("group", &[Get]),
        rq::DELETE_SUBSCRIPTIONGROUP => group("groupName", &[Delete]),
        rq::GET_CONSUMER_CONNECTION_LIST | rq::GET_CONSUMER_RUNNING_INFO => {
            group("consumerGroup", &[Get])
        }
        rq::CONSUME_MESSAGE_DIRECTLY => both("consumerGroup", "topic", &[Sub]),
        rq::GET_CONSUME_STATS => both("consumerGroup", "topic", &[Get]),
        rq::QUERY_CONSUME_TIME_SPAN => both("group", "topic", &[Get]),
        // Consumer progress changed by an operator
        rq::INVOKE_BROKER_TO_RESET_OFFSET => both("group", "topic", &[ResetOffset]),
        rq::CLONE_GROUP_OFFSET => {
            let mut v = group("srcGroup", &[ResetOffset]);
            v.extend(group("destGroup", &[ResetOffset]));
            v
        }
        rq::FERRO_CAPABILITIES => vec![],
        rq::FERRO_RESET_OFFSETS => {
            let r: ResetRequest = parse(req)?;
            groups(r.groups.iter(), &[ResetOffset])
        }
        rq::FERRO_CLONE_OFFSETS => {
            let r: CloneRequest = parse(req)?;
            groups([&r.from, &r.to].into_iter(), &[ResetOffset])
        }
        rq::FERRO_DELETE_OFFSETS => {
            let r: DeleteRequest = parse(req)?;
            groups(std::iter::once(&r.group), &[ResetOffset])
        }
        rq::FERRO_IMPORT_OFFSETS => {
            let r: ImportRequest = parse(req)?;
            if r.rocketmq_json.is_some() {
                // A whole broker's file: every group in it.
                cluster_req(&[ResetOffset])
            } else {
                groups(r.records.iter().map(|x| &x.group), &[ResetOffset])
            }
        }
        // An undo names a change, not a group: it is an operator's, on the cluster.
        rq::FERRO_UNDO => cluster_req(&[ResetOffset]),
        rq::FERRO_DESCRIBE_GROUP => {
            let r: DescribeRequest = parse(req)?;
            groups(std::iter::once(&r.group), &[Get])
        }
        rq::FERRO_HISTORY => {
            let r: HistoryRequest = parse(req)?;
            match &r.group {
                Some(g) => groups(std::iter::once(g), &[Get]),
                None => cluster_req(&[Get]),
            }
        }
        rq::FERRO_EXPORT_OFFSETS => {
            let r: ExportRequest = if req.body.is_empty() {
                ExportRequest::default()
            } else {
                parse(req)?
            };
            match &r.groups {
                Some(gs) => groups(gs.iter(), &[Get]),
                None => cluster_req(&[Get]),
            }
        }
        rq::FERRO_INTENTS => match ext("group") {
            Some(g) => vec![Request::new(Resource::group(g), &[Get])],
            None => cluster_req(&[Get]),
        },
        // Name server: the cluster view is open to every user (upstream checks nothing there);
        // changing routes and KV config is an operator's (or a broker's) update of the cluster.
        rq::GET_BROKER_CLUSTER_INFO => vec![],
        rq::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
            vec![Request::new(
                Resource::AllOf(ferromq_auth::model::ResourceType::Topic),
                &[Get, List],
            )]
        }
        rq::GET_KV_CONFIG => cluster_req(&[Get]),
        // A broker joining or leaving, a topic's routes deleted: an update of the cluster named.
        rq::REGISTER_BROKER | rq::UNREGISTER_BROKER | rq::DELETE_TOPIC_IN_NAMESRV => {
            let named = ext("clusterName").unwrap_or(cluster);
            vec![Request::new(Resource::cluster(named), &[Update])]
        }
        // Cluster-wide reads
        rq::GET_BROKER_CONFIG
        | rq::GET_BROKER_RUNTIME_INFO
        | rq::GET_PRODUCER_CONNECTION_LIST
        | rq::GET_BROKER_CONSUME_STATS
        | rq::GET_ALL_CONSUMER_OFFSET
        | rq::GET_ALL_DELAY_OFFSET
        | rq::QUERY_DATA_VERSION
        | rq::GET_TOPICS_BY_CLUSTER => cluster_req(&[Get]),
        rq::AUTH_GET_USER | rq::AUTH_LIST_USER | rq::AUTH_GET_ACL | rq::AUTH_LIST_ACL => {
            cluster_req(&[Get])
        }
        // Everything else (broker config, user and ACL changes, mirror writes): the cluster.
        _ => cluster_req(&[Update]),
    })
}

fn parse<T: DeserializeOwned>(req: &RemotingCommand) -> Result<T, String> {
    body::parse(&req.body).map_err(|e| format!("cannot read the request body to authorize it: {e}"))
}

fn topic_or_retry(t: &str, actions: &[Action]) -> Request {
    if t.starts_with(RETRY) {
        Request::new(Resource::group(t), &[Sub])
    } else {
        Request::new(Resource::topic(t), actions)
    }
}

fn groups<'a>(names: impl Iterator<Item = &'a String>, actions: &[Action]) -> Vec<Request> {
    names
        .map(|g| Request::new(Resource::group(g), actions))
        .collect()
}

/// A send to a retry topic is a consumer's redelivery (Sub on its group); any other is Pub.
fn send(topic: Option<&str>, group: Option<&str>) -> Vec<Request> {
    match topic {
        Some(t) if t.starts_with(RETRY) => {
            vec![Request::new(Resource::group(group.unwrap_or(t)), &[Sub])]
        }
        Some(t) => vec![Request::new(Resource::topic(t), &[Pub])],
        None => vec![],
    }
}

fn heartbeat(req: &RemotingCommand) -> Result<Vec<Request>, String> {
    let hb: HeartbeatData = parse(req)?;
    let mut v = Vec::new();
    for c in &hb.consumer_data_set {
        v.push(Request::new(Resource::group(&c.group_name), &[Sub]));
        for s in &c.subscription_data_set {
            if !s.topic.starts_with(RETRY) {
                v.push(Request::new(Resource::topic(&s.topic), &[Sub]));
            }
        }
    }
    Ok(v)
}

fn lock(req: &RemotingCommand) -> Result<Vec<Request>, String> {
    let l: LockBatchBody = parse(req)?;
    let mut v = vec![Request::new(Resource::group(&l.consumer_group), &[Sub])];
    for mq in &l.mq_set {
        if !mq.topic.starts_with(RETRY) {
            v.push(Request::new(Resource::topic(&mq.topic), &[Sub]));
        }
    }
    Ok(v)
}

fn batch_ack(req: &RemotingCommand) -> Result<Vec<Request>, String> {
    let b: BatchAckMessageRequestBody = parse(req)?;
    let mut out = Vec::new();
    for ack in &b.acks {
        out.push(Request::new(Resource::group(&ack.consumer_group), &[Sub]));
        if !ack.topic.starts_with(RETRY) {
            out.push(Request::new(Resource::topic(&ack.topic), &[Sub]));
        }
    }
    Ok(out)
}

fn request_mode(req: &RemotingCommand) -> Result<Vec<Request>, String> {
    let m: SetMessageRequestModeRequestBody = parse(req)?;
    Ok(vec![
        Request::new(Resource::group(&m.consumer_group), &[Update]),
        Request::new(Resource::topic(&m.topic), &[Update]),
    ])
}
