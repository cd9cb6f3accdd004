//! [`GrpcClients`]: the 5.x gRPC consumers seen per group (by heartbeat, settings or receive),
//! so a live POP group shows its members in `offsets describe` and mqadmin consumerConnection.
//! Kept apart from [`crate::clients::ClientManager`]: Remoting rebalancing must never hand
//! queues to a gRPC client, which pops from every queue instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

/// Members kept over all groups; beyond it new ones are not listed (they still consume).
const MAX_MEMBERS: usize = 100_000;
/// Topics remembered per member.
const MAX_TOPICS_PER_MEMBER: usize = 64;
/// Longest client id kept (the 5.x clients' ids are a few dozen characters).
const MAX_CLIENT_ID: usize = 256;

/// One gRPC client of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcMember {
    pub client_id: String,
    pub addr: SocketAddr,
    /// `x-mq-language` as the client sent it (`PYTHON`, `JAVA`, `GOLANG`, `HTTP` for Node.js).
    pub language: String,
    pub topics: BTreeSet<String>,
    pub last_seen: Instant,
    /// A PushConsumer (else a SimpleConsumer), once its heartbeat or settings said which.
    pub push: Option<bool>,
}

impl GrpcMember {
    /// The consume type upstream's proxy registers for a gRPC consumer: CONSUME_PASSIVELY for a
    /// PushConsumer, CONSUME_ACTIVELY for a SimpleConsumer. mqadmin relies on it (`queryMsgById
    /// -d` asks only push consumers to verify a message).
    pub fn consume_type(&self) -> &'static str {
        if self.push == Some(true) {
            "CONSUME_PASSIVELY"
        } else {
            "CONSUME_ACTIVELY"
        }
    }
}

/// A group's consume type from its gRPC members: push when any member pushes.
pub fn consume_type_of(members: &[GrpcMember]) -> &'static str {
    if members.iter().any(|m| m.push == Some(true)) {
        "CONSUME_PASSIVELY"
    } else {
        "CONSUME_ACTIVELY"
    }
}

/// Who a request came from, as its gRPC metadata says.
#[derive(Debug, Clone)]
pub struct GrpcPeer {
    pub client_id: String,
    pub addr: SocketAddr,
    pub language: String,
}

#[derive(Default)]
pub struct GrpcClients {
    groups: RwLock<Members>,
}

/// Members by group and client id, and how many there are (checked on every receive).
#[derive(Default)]
struct Members {
    by_group: HashMap<String, BTreeMap<String, GrpcMember>>,
    count: usize,
}

impl GrpcClients {
    /// Records that `peer` consumes for `group` (and `topic`, and whether it is a push
    /// consumer, when known).
    pub fn seen(&self, group: &str, peer: &GrpcPeer, topic: Option<&str>, push: Option<bool>) {
        // Only names a group or topic may have: what is kept per member stays small.
        if peer.client_id.is_empty()
            || peer.client_id.len() > MAX_CLIENT_ID
            || ferromq_protocol::names::validate_group(group).is_err()
        {
            return;
        }
        let topic = topic.filter(|t| ferromq_protocol::names::validate_topic(t).is_ok());
        let now = Instant::now();
        let mut guard = self.groups.write();
        let all = &mut *guard;
        let known = all
            .by_group
            .get(group)
            .is_some_and(|m| m.contains_key(&peer.client_id));
        if !known {
            if all.count >= MAX_MEMBERS {
                return;
            }
            all.count += 1;
        }
        let m = all
            .by_group
            .entry(group.to_string())
            .or_default()
            .entry(peer.client_id.clone())
            .or_insert_with(|| GrpcMember {
                client_id: peer.client_id.clone(),
                addr: peer.addr,
                language: peer.language.clone(),
                topics: BTreeSet::new(),
                last_seen: now,
                push: None,
            });
        m.last_seen = now;
        m.addr = peer.addr;
        if push.is_some() {
            m.push = push;
        }
        if let Some(t) = topic {
            if m.topics.len() < MAX_TOPICS_PER_MEMBER {
                m.topics.insert(t.to_string());
            }
        }
    }

    /// The client said goodbye (NotifyClientTermination).
    pub fn gone(&self, group: &str, client_id: &str) {
        let mut all = self.groups.write();
        let Some(members) = all.by_group.get_mut(group) else {
            return;
        };
        if members.remove(client_id).is_some() {
            let empty = members.is_empty();
            all.count -= 1;
            if empty {
                all.by_group.remove(group);
            }
        }
    }

    /// Drops members silent for `timeout`.
    pub fn expire(&self, now: Instant, timeout: Duration) {
        let mut all = self.groups.write();
        for members in all.by_group.values_mut() {
            members.retain(|_, m| now.duration_since(m.last_seen) < timeout);
        }
        all.by_group.retain(|_, m| !m.is_empty());
        all.count = all.by_group.values().map(BTreeMap::len).sum();
    }

    pub fn members(&self, group: &str) -> Vec<GrpcMember> {
        self.groups
            .read()
            .by_group
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn is_online(&self, group: &str) -> bool {
        self.groups.read().by_group.contains_key(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> GrpcPeer {
        GrpcPeer {
            client_id: id.into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            language: "PYTHON".into(),
        }
    }

    #[test]
    fn members_come_and_go() {
        let c = GrpcClients::default();
        c.seen("g", &peer("a"), Some("T"), Some(false));
        c.seen("g", &peer("b"), None, None);
        c.seen("", &peer("x"), None, None);
        assert_eq!(c.members("g").len(), 2);
        assert_eq!(c.members("g")[0].topics.len(), 1);
        assert_eq!(consume_type_of(&c.members("g")), "CONSUME_ACTIVELY");
        // A receive says nothing about the kind; a heartbeat of a push consumer does.
        c.seen("g", &peer("b"), Some("T"), None);
        assert_eq!(c.members("g")[1].push, None);
        c.seen("g", &peer("b"), None, Some(true));
        assert_eq!(c.members("g")[1].consume_type(), "CONSUME_PASSIVELY");
        assert_eq!(consume_type_of(&c.members("g")), "CONSUME_PASSIVELY");
        // Names no group or topic may have are not kept.
        c.seen(&"g".repeat(100_000), &peer("c"), None, None);
        c.seen("g", &peer("a"), Some(&"t".repeat(100_000)), None);
        c.seen("g", &peer(&"c".repeat(1000)), None, None);
        assert_eq!(c.members("g").len(), 2);
        assert_eq!(c.members("g")[0].topics.len(), 1);
        c.gone("g", "a");
        assert_eq!(c.members("g").len(), 1);
        c.expire(
            Instant::now() + Duration::from_secs(200),
            Duration::from_secs(120),
        );
        assert!(!c.is_online("g"));
    }
}
