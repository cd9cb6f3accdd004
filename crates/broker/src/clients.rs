//! [`ClientManager`]: which client connections belong to which consumer and producer groups,
//! with their subscriptions, and the NOTIFY_CONSUMER_IDS_CHANGED fan-out on membership change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use ferromq_net::Connection;
use ferromq_protocol::body::{ConsumerData, SubscriptionData};
use ferromq_protocol::codes::request;
use ferromq_protocol::RemotingCommand;
use parking_lot::RwLock;
use tracing::debug;

/// One consumer process of a group, on one connection.
#[derive(Debug, Clone)]
pub struct ConsumerChannel {
    pub conn: Connection,
    pub client_id: String,
    pub last_update: Instant,
}

/// What the broker knows of an online consumer group.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupInfo {
    pub channels: BTreeMap<u64, ConsumerChannel>,
    pub consume_type: String,
    pub message_model: String,
    pub consume_from_where: String,
    pub subscriptions: HashMap<String, SubscriptionData>,
}

impl ConsumerGroupInfo {
    /// Client ids, sorted, one per channel (what GET_CONSUMER_LIST_BY_GROUP returns).
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Folds one member's heartbeat subscriptions into its group's table, as upstream does: a topic's
/// subscription is replaced only by a newer one (higher `subVersion`; the same version only when
/// the content differs, for clients that do not version), and topics the member no longer
/// subscribes to are dropped. Replacing on every heartbeat instead would let two members that
/// subscribed at different moments take turns refusing each other's pulls with
/// SUBSCRIPTION_NOT_LATEST, and the newer member stalls until its next heartbeat.
fn merge_subscriptions(
    table: &mut HashMap<String, SubscriptionData>,
    incoming: &[SubscriptionData],
) {
    let mut topics = HashSet::with_capacity(incoming.len());
    for s in incoming {
        let mut s = s.clone();
        s.fill_tags();
        topics.insert(s.topic.clone());
        let replace = match table.get(&s.topic) {
            None => true,
            Some(old) => {
                s.sub_version > old.sub_version || (s.sub_version == old.sub_version && s != *old)
            }
        };
        if replace {
            table.insert(s.topic.clone(), s);
        }
    }
    table.retain(|topic, _| topics.contains(topic));
}

/// A producer group's connections: connection id → (connection, client id, last heartbeat).
type ProducerChannels = BTreeMap<u64, (Connection, String, Instant)>;

#[derive(Default)]
pub struct ClientManager {
    consumers: RwLock<HashMap<String, ConsumerGroupInfo>>,
    producers: RwLock<HashMap<String, ProducerChannels>>,
}

impl ClientManager {
    /// Registers a consumer heartbeat. Returns whether the group's membership changed.
    pub fn register_consumer(
        &self,
        conn: &Connection,
        client_id: &str,
        data: &ConsumerData,
        without_sub: bool,
    ) -> bool {
        let now = Instant::now();
        let mut groups = self.consumers.write();
        let info = groups.entry(data.group_name.clone()).or_default();
        info.consume_type = data.consume_type.clone();
        info.message_model = data.message_model.clone();
        info.consume_from_where = data.consume_from_where.clone();
        if !without_sub {
            merge_subscriptions(&mut info.subscriptions, &data.subscription_data_set);
        }
        let fresh = !info.channels.contains_key(&conn.id());
        info.channels.insert(
            conn.id(),
            ConsumerChannel {
                conn: conn.clone(),
                client_id: client_id.to_string(),
                last_update: now,
            },
        );
        fresh
    }

    /// Removes one connection from a consumer group. Returns whether it was a member.
    pub fn unregister_consumer(&self, group: &str, conn_id: u64) -> bool {
        let mut groups = self.consumers.write();
        let Some(info) = groups.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&conn_id).is_some();
        if info.channels.is_empty() {
            groups.remove(group);
        }
        removed
    }

    pub fn register_producer(&self, group: &str, conn: &Connection, client_id: &str) {
        self.producers
            .write()
            .entry(group.to_string())
            .or_default()
            .insert(
                conn.id(),
                (conn.clone(), client_id.to_string(), Instant::now()),
            );
    }

    pub fn unregister_producer(&self, group: &str, conn_id: u64) {
        let mut p = self.producers.write();
        if let Some(m) = p.get_mut(group) {
            m.remove(&conn_id);
            if m.is_empty() {
                p.remove(group);
            }
        }
    }

    /// The connections and client ids of a producer group registered by heartbeat, in
    /// connection order; empty when the group has none.
    pub fn producers(&self, group: &str) -> Vec<(Connection, String)> {
        self.producers
            .read()
            .get(group)
            .map(|m| {
                m.values()
                    .map(|(conn, id, _)| (conn.clone(), id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops a closed connection everywhere; returns the consumer groups it left.
    pub fn connection_closed(&self, conn_id: u64) -> Vec<String> {
        let changed = self.remove_consumer_channels(|id, _| id == conn_id);
        let mut p = self.producers.write();
        p.values_mut().for_each(|m| {
            m.remove(&conn_id);
        });
        p.retain(|_, m| !m.is_empty());
        changed
    }

    /// Drops consumers and producers without a heartbeat for `timeout`; returns changed groups.
    pub fn expire(&self, now: Instant, timeout: Duration) -> Vec<String> {
        let changed = self.remove_consumer_channels(|_, c| {
            now.saturating_duration_since(c.last_update) > timeout
        });
        let mut p = self.producers.write();
        p.values_mut()
            .for_each(|m| m.retain(|_, (_, _, t)| now.saturating_duration_since(*t) <= timeout));
        p.retain(|_, m| !m.is_empty());
        changed
    }

    fn remove_consumer_channels(
        &self,
        doomed: impl Fn(u64, &ConsumerChannel) -> bool,
    ) -> Vec<String> {
        let mut groups = self.consumers.write();
        let mut changed = Vec::new();
        for (name, info) in groups.iter_mut() {
            let before = info.channels.len();
            info.channels.retain(|id, c| !doomed(*id, c));
            if info.channels.len() != before {
                changed.push(name.clone());
            }
        }
        groups.retain(|_, info| !info.channels.is_empty());
        changed
    }

    pub fn group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.consumers.read().get(group).cloned()
    }

    pub fn is_online(&self, group: &str) -> bool {
        self.consumers.read().contains_key(group)
    }

    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.consumers
            .read()
            .get(group)
            .and_then(|g| g.subscriptions.get(topic).cloned())
    }

    pub fn consumer_groups(&self) -> Vec<String> {
        self.consumers.read().keys().cloned().collect()
    }

    /// Tells every member of `group` to rebalance now. Clients that stopped reading lose the
    /// notice rather than stall the broker; they rebalance on their own timer anyway.
    pub fn notify_ids_changed(&self, group: &str) {
        let Some(info) = self.group(group) else {
            return;
        };
        for ch in info.channels.values() {
            let cmd = RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED)
                .with_ext("consumerGroup", group);
            if let Err(e) = ch.conn.try_oneway(cmd) {
                debug!(client = %ch.client_id, "consumer-ids-changed notice not sent: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(topic: &str, expr: &str, version: i64) -> SubscriptionData {
        SubscriptionData::from_expression(topic, expr, version)
    }

    #[test]
    fn an_older_members_heartbeat_keeps_the_newer_subscription() {
        let mut table = HashMap::new();
        merge_subscriptions(&mut table, &[sub("T", "*", 200)]);
        merge_subscriptions(&mut table, &[sub("T", "*", 100)]);
        assert_eq!(table["T"].sub_version, 200);
        merge_subscriptions(&mut table, &[sub("T", "A || B", 300)]);
        assert_eq!(table["T"].sub_version, 300);
        assert_eq!(table["T"].sub_string, "A || B");
    }

    #[test]
    fn unversioned_changes_apply_and_dropped_topics_go() {
        let mut table = HashMap::new();
        merge_subscriptions(&mut table, &[sub("T", "*", 0), sub("U", "*", 0)]);
        merge_subscriptions(&mut table, &[sub("T", "A", 0)]);
        assert_eq!(table["T"].sub_string, "A");
        assert!(!table.contains_key("U"));
    }
}
