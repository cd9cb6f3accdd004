//! QueryRoute and QueryAssignment: this broker's queues of a topic, at the address the client
//! reached us on.

use std::net::SocketAddr;

use ferromq_broker::Broker;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::perm;
use ferromq_protocol::grpc::{
    Address, AddressScheme, Assignment, Broker as V2Broker, Code, Endpoints, MessageQueue,
    MessageType, Permission, QueryAssignmentRequest, QueryAssignmentResponse, QueryRouteRequest,
    QueryRouteResponse, Resource,
};
use ferromq_protocol::names;

use crate::status::{from_refusal, ok, status};

/// The topic's config, created when auto-creation is on (as a Remoting route query does).
fn topic_config(b: &Broker, topic: &str) -> Result<TopicConfig, ferromq_protocol::grpc::Status> {
    names::validate_topic(topic).map_err(|e| status(Code::IllegalTopic, e))?;
    if let Some(cfg) = b.topics.get(topic) {
        return Ok(cfg);
    }
    if !b.cfg.auto_create_topic {
        return Err(status(
            Code::TopicNotFound,
            format!("topic {topic} does not exist (auto-creation is off; create it first)"),
        ));
    }
    b.topics
        .get_or_create(topic, b.cfg.default_topic_queue_nums, perm::READ_WRITE)
        .map_err(|e| from_refusal(&ferromq_broker::error::ReplyError::from(e).0))
}

fn permission(p: i32) -> Permission {
    match (p & perm::READ != 0, p & perm::WRITE != 0) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

/// The endpoints clients should use for this broker: the ones they reached us at, when given.
fn endpoints(requested: Option<&Endpoints>, bound: SocketAddr) -> Endpoints {
    match requested.filter(|e| !e.addresses.is_empty()) {
        Some(e) => e.clone(),
        None => Endpoints {
            scheme: if bound.is_ipv4() {
                AddressScheme::IPv4
            } else {
                AddressScheme::IPv6
            } as i32,
            addresses: vec![Address {
                host: bound.ip().to_string(),
                port: i32::from(bound.port()),
            }],
        },
    }
}

fn queue(topic: &Resource, id: i32, p: Permission, broker: &V2Broker) -> MessageQueue {
    MessageQueue {
        topic: Some(topic.clone()),
        id,
        permission: p as i32,
        broker: Some(broker.clone()),
        // Delay and transactional sends are not served over gRPC yet: saying so here lets
        // clients refuse them before sending.
        accept_message_types: vec![
            MessageType::Normal as i32,
            MessageType::Fifo as i32,
            MessageType::Delay as i32,
            MessageType::Transaction as i32,
        ],
    }
}

fn v2_broker(b: &Broker, requested: Option<&Endpoints>, bound: SocketAddr) -> V2Broker {
    V2Broker {
        name: b.cfg.broker_name.clone(),
        id: 0,
        endpoints: Some(endpoints(requested, bound)),
    }
}

pub fn query_route(b: &Broker, bound: SocketAddr, req: QueryRouteRequest) -> QueryRouteResponse {
    let topic = req.topic.unwrap_or_default();
    let cfg = match topic_config(b, &topic.name) {
        Ok(c) => c,
        Err(s) => {
            return QueryRouteResponse {
                status: Some(s),
                message_queues: vec![],
            }
        }
    };
    let broker = v2_broker(b, req.endpoints.as_ref(), bound);
    let queues = cfg.read_queue_nums.max(cfg.write_queue_nums).max(0);
    let message_queues = (0..queues)
        .map(|id| {
            let mut p = cfg.perm;
            if id >= cfg.read_queue_nums {
                p &= !perm::READ;
            }
            if id >= cfg.write_queue_nums {
                p &= !perm::WRITE;
            }
            queue(&topic, id, permission(p), &broker)
        })
        .collect();
    QueryRouteResponse {
        status: Some(ok()),
        message_queues,
    }
}

/// POP consumers get one assignment per broker (queue -1: the broker pops from every queue of
/// the topic), as upstream's proxy answers.
pub fn query_assignment(
    b: &Broker,
    bound: SocketAddr,
    req: QueryAssignmentRequest,
) -> QueryAssignmentResponse {
    let topic = req.topic.unwrap_or_default();
    let cfg = match topic_config(b, &topic.name) {
        Ok(c) => c,
        Err(s) => {
            return QueryAssignmentResponse {
                status: Some(s),
                assignments: vec![],
            }
        }
    };
    let assignments = if cfg.readable() && cfg.read_queue_nums > 0 {
        let broker = v2_broker(b, req.endpoints.as_ref(), bound);
        vec![Assignment {
            message_queue: Some(queue(&topic, -1, permission(cfg.perm), &broker)),
        }]
    } else {
        vec![]
    };
    QueryAssignmentResponse {
        status: Some(ok()),
        assignments,
    }
}
