//! Server-side rebalancing: QUERY_ASSIGNMENT (400), asked by 5.x Remoting consumers with
//! `clientRebalance=false`, and SET_MESSAGE_REQUEST_MODE (401, mqadmin `setConsumeMode`), which
//! says whether a group pulls its assigned queues or pops shared ones. Queues are the whole
//! cluster's (from the name server), as the client takes the answer as its full assignment.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::{
    self, MessageQueue, MessageQueueAssignment, MessageRequestMode, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use ferromq_protocol::codes::perm;
use ferromq_protocol::{names, Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::route_lookup::{topic_route, RouteAnswer};
use crate::Broker;

/// QUERY_ASSIGNMENT: the queues `clientId` reads, and how.
pub async fn query_assignment(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let q: QueryAssignmentRequestBody =
        body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    names::validate_group(&q.consumer_group).map_err(Refusal::InvalidParameter)?;
    let setting = b
        .request_modes
        .get(&q.topic, &q.consumer_group)
        // Retry topics are always pulled (upstream); the rest default to pulling too.
        .filter(|_| !q.topic.starts_with(names::RETRY_PREFIX))
        .unwrap_or_default();
    let all = cluster_queues(b, &q.topic).await;
    let mine = if q.message_model == "BROADCASTING" {
        all
    } else {
        let mut cids = b
            .clients
            .group(&q.consumer_group)
            .map(|g| g.client_ids())
            .unwrap_or_default();
        cids.sort();
        let strategy = Strategy::from_name(&q.strategy_name)?;
        match setting.mode {
            MessageRequestMode::Pop => allocate_for_pop(
                strategy,
                &q.client_id,
                &all,
                &cids,
                setting.pop_share_queue_num,
            ),
            MessageRequestMode::Pull => strategy.allocate(&q.client_id, &all, &cids),
        }
    };
    let answer = QueryAssignmentResponseBody {
        message_queue_assignments: mine
            .into_iter()
            .map(|mq| MessageQueueAssignment {
                message_queue: mq,
                mode: setting.mode,
                attachments: Default::default(),
            })
            .collect(),
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&answer)))
}

/// SET_MESSAGE_REQUEST_MODE: stored on disk before the answer.
pub async fn set_message_request_mode(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let s: SetMessageRequestModeRequestBody =
        body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    if s.topic.starts_with(names::RETRY_PREFIX) {
        return Err(Refusal::NoPermission {
            message: "retry topic is not allowed to set mode".into(),
            forbidden_type: None,
        }
        .into());
    }
    if b.topics.get(&s.topic).is_none() {
        return Err(Refusal::TopicNotExist(format!("topic[{}] not exist", s.topic)).into());
    }
    b.groups.find_or_create(&s.consumer_group)?;
    b.request_modes
        .set(s)
        .await
        .map_err(|e| Refusal::SystemError(e.to_string()))?;
    Ok(RemotingCommand::success())
}

/// Every readable queue of `topic` in the cluster, sorted as upstream sorts them; this
/// broker's own when no name server answers.
async fn cluster_queues(b: &Broker, topic: &str) -> Vec<MessageQueue> {
    let mut out = BTreeSet::new();
    match topic_route(
        &b.cfg.namesrv_addrs(),
        (b.namesrv_tls.as_ref(), b.inner_credentials.as_ref()),
        topic,
    )
    .await
    {
        RouteAnswer::Found(route) => {
            for qd in route.queue_datas {
                if qd.perm & perm::READ == 0 {
                    continue;
                }
                for q in 0..qd.read_queue_nums.max(0) {
                    out.insert(MessageQueue::new(topic, &qd.broker_name, q));
                }
            }
        }
        RouteAnswer::Unknown => {}
        RouteAnswer::Unreachable => {
            if let Some(cfg) = b.topics.get(topic) {
                for q in 0..cfg.read_queue_nums.max(0) {
                    out.insert(MessageQueue::new(topic, &b.cfg.broker_name, q));
                }
            }
        }
    }
    // Upstream orders queues by topic, broker name, then queue id.
    let mut v: Vec<MessageQueue> = out.into_iter().collect();
    v.sort_by(|a, b| {
        (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id))
    });
    v
}

/// The allocation strategies clients name (`AllocateMessageQueueStrategy.getName()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `AVG`: consecutive blocks.
    Averagely,
    /// `AVG_BY_CIRCLE`: round robin.
    ByCircle,
}

impl Strategy {
    fn from_name(name: &str) -> Result<Self, Refusal> {
        match name {
            "" | "AVG" => Ok(Strategy::Averagely),
            "AVG_BY_CIRCLE" => Ok(Strategy::ByCircle),
            other => Err(Refusal::InvalidParameter(format!(
                "allocation strategy {other:?} is not served; use AVG or AVG_BY_CIRCLE"
            ))),
        }
    }

    /// `client`'s share of `all` among `cids` (sorted); none when it is not a member.
    pub fn allocate(
        self,
        client: &str,
        all: &[MessageQueue],
        cids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = cids.iter().position(|c| c == client) else {
            return Vec::new();
        };
        let (n, c) = (all.len(), cids.len());
        match self {
            Strategy::Averagely => {
                let rem = n % c;
                let size = if n <= c {
                    1
                } else if rem > 0 && index < rem {
                    n / c + 1
                } else {
                    n / c
                };
                let start = if rem > 0 && index < rem {
                    index * size
                } else {
                    index * size + rem
                };
                let take = size.min(n.saturating_sub(start));
                (0..take).map(|i| all[(start + i) % n].clone()).collect()
            }
            Strategy::ByCircle => all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % c == index)
                .map(|(_, mq)| mq.clone())
                .collect(),
        }
    }
}

/// POP mode: with no sharing limit (or one covering the group), every client pops every
/// broker's queues (queue id -1); else its own share plus that of the next `share` clients.
pub fn allocate_for_pop(
    strategy: Strategy,
    client: &str,
    all: &[MessageQueue],
    cids: &[String],
    share: i32,
) -> Vec<MessageQueue> {
    if share <= 0 || share as usize >= cids.len().saturating_sub(1) {
        let brokers: BTreeSet<(&str, &str)> = all
            .iter()
            .map(|mq| (mq.topic.as_str(), mq.broker_name.as_str()))
            .collect();
        return brokers
            .into_iter()
            .map(|(t, bn)| MessageQueue::new(t, bn, -1))
            .collect();
    }
    let Some(mut index) = cids.iter().position(|c| c == client) else {
        return Vec::new();
    };
    if cids.len() > all.len() {
        // More clients than queues: each still gets one to pop.
        return all
            .get(index % all.len().max(1))
            .cloned()
            .into_iter()
            .collect();
    }
    let mut out = strategy.allocate(client, all, cids);
    for _ in 0..share {
        index = (index + 1) % cids.len();
        out.extend(strategy.allocate(&cids[index], all, cids));
    }
    out.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|q| MessageQueue::new("T", "b", q)).collect()
    }

    fn ids(v: &[MessageQueue]) -> Vec<i32> {
        v.iter().map(|m| m.queue_id).collect()
    }

    #[test]
    fn averagely_gives_consecutive_blocks_like_upstream() {
        let all = queues(8);
        let cids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = Strategy::Averagely;
        assert_eq!(ids(&s.allocate("a", &all, &cids)), [0, 1, 2]);
        assert_eq!(ids(&s.allocate("b", &all, &cids)), [3, 4, 5]);
        assert_eq!(ids(&s.allocate("c", &all, &cids)), [6, 7]);
        assert!(s.allocate("stranger", &all, &cids).is_empty());
        // More clients than queues: the first ones get one each.
        let many: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        assert_eq!(ids(&s.allocate("c1", &queues(2), &many)), [1]);
        assert!(s.allocate("c5", &queues(2), &many).is_empty());
    }

    #[test]
    fn by_circle_deals_round_robin() {
        let cids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            ids(&Strategy::ByCircle.allocate("b", &queues(8), &cids)),
            [1, 4, 7]
        );
    }

    #[test]
    fn pop_shares_every_queue_unless_limited() {
        let mut all = queues(4);
        all.push(MessageQueue::new("T", "other", 0));
        let cids: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let every = allocate_for_pop(Strategy::Averagely, "a", &all, &cids, 0);
        assert_eq!(
            every,
            [
                MessageQueue::new("T", "b", -1),
                MessageQueue::new("T", "other", -1)
            ]
        );
        // Share 1 of 4 clients: its own queue and the next client's.
        let shared = allocate_for_pop(Strategy::Averagely, "b", &all[..4], &cids, 1);
        assert_eq!(ids(&shared), [1, 2]);
    }
}
