//! [`RouteInfoManager`]: which brokers exist, which clusters they belong to, and which queues
//! each broker holds for each topic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig, TopicRouteData,
};
use ferromq_protocol::names::AUTO_CREATE_TOPIC;
use parking_lot::RwLock;
use tracing::info;

/// Upstream's default broker expiry.
pub const DEFAULT_BROKER_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    conn_id: Option<u64>,
    broker_name: String,
    cluster: String,
    broker_id: i64,
}

#[derive(Default)]
struct Tables {
    /// topic → broker name → queues
    topic_queues: HashMap<String, BTreeMap<String, QueueData>>,
    /// broker name → addresses by id
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker address → liveness
    live: HashMap<String, LiveBroker>,
}

/// One REGISTER_BROKER call, decoded.
#[derive(Debug, Clone)]
pub struct Registration {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: i64,
    pub timeout: Duration,
    pub data_version: DataVersion,
    /// The broker's topics; `None` when the registration carried none (an empty body): the
    /// broker's routes are then left as they are and only its liveness is refreshed.
    pub topics: Option<Vec<TopicConfig>>,
    /// `topics` is the broker's whole table (a ferromq broker says so): topics missing from it
    /// leave the broker's routes. Otherwise they are only added and updated, as upstream does
    /// (see `REGISTER_COMPLETE_TABLE_EXT`).
    pub complete: bool,
    pub conn_id: Option<u64>,
}

/// The registry. Every method takes the lock briefly; none awaits.
pub struct RouteInfoManager {
    tables: RwLock<Tables>,
    auto_create_routes: bool,
    auto_create_queue_nums: i32,
}

impl RouteInfoManager {
    pub fn new(auto_create_routes: bool, auto_create_queue_nums: i32) -> Self {
        Self {
            tables: RwLock::new(Tables::default()),
            auto_create_routes,
            auto_create_queue_nums,
        }
    }

    /// Registers (or refreshes) a broker and, for a master, replaces its topic queues when its
    /// data version changed or on first registration.
    pub fn register(&self, reg: Registration, now: Instant) {
        let mut t = self.tables.write();
        t.clusters
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let data = t
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                broker_name: reg.broker_name.clone(),
                cluster: reg.cluster.clone(),
                ..BrokerData::default()
            });
        data.cluster = reg.cluster.clone();
        // The same address under another id is replaced (a slave promoted, a restart with a new id).
        data.broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id.to_string());
        data.broker_addrs
            .insert(reg.broker_id.to_string(), reg.broker_addr.clone());
        let first = !t.live.contains_key(&reg.broker_addr);
        let changed = t
            .live
            .get(&reg.broker_addr)
            .is_none_or(|l| l.data_version != reg.data_version);
        let topics = match &reg.topics {
            Some(t) if reg.broker_id == 0 && (first || changed) => Some(t),
            _ => None,
        };
        if let Some(topics) = topics {
            if reg.complete {
                let names: BTreeSet<&str> = topics.iter().map(|c| c.topic_name.as_str()).collect();
                // Topics this broker no longer has lose its queues.
                for (topic, queues) in t.topic_queues.iter_mut() {
                    if !names.contains(topic.as_str()) {
                        queues.remove(&reg.broker_name);
                    }
                }
            }
            for cfg in topics {
                t.topic_queues
                    .entry(cfg.topic_name.clone())
                    .or_default()
                    .insert(
                        reg.broker_name.clone(),
                        QueueData {
                            broker_name: reg.broker_name.clone(),
                            read_queue_nums: cfg.read_queue_nums,
                            write_queue_nums: cfg.write_queue_nums,
                            perm: cfg.perm,
                            topic_sys_flag: cfg.topic_sys_flag,
                        },
                    );
            }
            t.topic_queues.retain(|_, q| !q.is_empty());
        }
        if first {
            info!(broker = %reg.broker_name, addr = %reg.broker_addr, cluster = %reg.cluster, "broker registered");
        }
        // Without topics the registration says nothing about the broker's data version: keep
        // the one of its last full registration, so the next full one is compared with it.
        let data_version = match (&reg.topics, t.live.get(&reg.broker_addr)) {
            (None, Some(l)) => l.data_version.clone(),
            (None, None) => DataVersion::default(),
            (Some(_), _) => reg.data_version,
        };
        t.live.insert(
            reg.broker_addr.clone(),
            LiveBroker {
                last_update: now,
                timeout: reg.timeout,
                data_version,
                conn_id: reg.conn_id,
                broker_name: reg.broker_name,
                cluster: reg.cluster,
                broker_id: reg.broker_id,
            },
        );
    }

    /// Refreshes a broker's liveness; false if it is not registered.
    pub fn touch(&self, broker_addr: &str, now: Instant) -> bool {
        match self.tables.write().live.get_mut(broker_addr) {
            Some(l) => {
                l.last_update = now;
                true
            }
            None => false,
        }
    }

    /// The data version last registered by a broker.
    pub fn data_version(&self, broker_addr: &str) -> Option<DataVersion> {
        self.tables
            .read()
            .live
            .get(broker_addr)
            .map(|l| l.data_version.clone())
    }

    /// Removes a broker address and, when it was the last address of its name, its queues.
    pub fn unregister(&self, broker_addr: &str) {
        let mut t = self.tables.write();
        remove_broker(&mut t, broker_addr);
    }

    /// Drops brokers whose last heartbeat is older than their timeout.
    pub fn expire_dead_brokers(&self, now: Instant) {
        let mut t = self.tables.write();
        let dead: Vec<String> = t
            .live
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_update) > l.timeout)
            .map(|(a, _)| a.clone())
            .collect();
        for addr in dead {
            info!(%addr, "broker expired: no registration within its timeout");
            remove_broker(&mut t, &addr);
        }
    }

    /// Drops brokers that registered over the connection that just closed.
    pub fn connection_closed(&self, conn_id: u64) {
        let mut t = self.tables.write();
        let gone: Vec<String> = t
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == Some(conn_id))
            .map(|(a, _)| a.clone())
            .collect();
        for addr in gone {
            info!(%addr, "broker connection closed");
            remove_broker(&mut t, &addr);
        }
    }

    /// The route of `topic`. Unknown topics get the `TBW102` template's brokers when
    /// auto-created routes are enabled and a broker allows auto-creation. A retry or DLQ topic
    /// keeps the template's brokers beside those that registered it: every broker creates it on
    /// a consumer's heartbeat but registers it on its own schedule (an Apache broker within
    /// 30 s), and a route that shrank from the template to the first registrant made clients
    /// drop and re-add queues (the Go client then loses the other queues' unsent offsets).
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let t = self.tables.read();
        let system = topic.starts_with(ferromq_protocol::names::RETRY_PREFIX)
            || topic.starts_with(ferromq_protocol::names::DLQ_PREFIX);
        let registered = t.topic_queues.get(topic).filter(|q| !q.is_empty());
        let template = if self.auto_create_routes && (system || registered.is_none()) {
            t.topic_queues.get(AUTO_CREATE_TOPIC)
        } else {
            None
        };
        let mut queues: BTreeMap<&str, QueueData> = BTreeMap::new();
        for (name, q) in template.into_iter().flatten() {
            let mut q = q.clone();
            // Retry and DLQ topics are created by the broker with one queue (the default
            // retryQueueNums); announce that, not the producer template's count.
            let n = if system {
                1
            } else {
                self.auto_create_queue_nums.min(q.write_queue_nums).max(1)
            };
            q.read_queue_nums = n;
            q.write_queue_nums = n;
            q.perm = ferromq_protocol::codes::perm::READ_WRITE;
            q.topic_sys_flag = 0;
            queues.insert(name, q);
        }
        // What a broker registered wins over the template.
        for (name, q) in registered.into_iter().flatten() {
            queues.insert(name, q.clone());
        }
        let mut route = TopicRouteData::default();
        for (name, q) in queues {
            let Some(broker) = t.brokers.get(name) else {
                continue;
            };
            if broker.broker_addrs.is_empty() {
                continue;
            }
            route.queue_datas.push(q);
            route.broker_datas.push(broker.clone());
        }
        (!route.broker_datas.is_empty()).then_some(route)
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.tables.read();
        ClusterInfo {
            broker_addr_table: t.brokers.clone(),
            cluster_addr_table: t.clusters.clone(),
        }
    }

    pub fn topics(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tables.read().topic_queues.keys().cloned().collect();
        v.sort();
        v
    }

    /// Topics with a queue on any broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> Vec<String> {
        let t = self.tables.read();
        let Some(names) = t.clusters.get(cluster) else {
            return Vec::new();
        };
        let mut v: Vec<String> = t
            .topic_queues
            .iter()
            .filter(|(_, q)| q.keys().any(|b| names.contains(b)))
            .map(|(topic, _)| topic.clone())
            .collect();
        v.sort();
        v
    }

    /// Removes a topic's queues (from the brokers of `cluster` only, when given).
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) {
        let mut t = self.tables.write();
        let names = cluster.and_then(|c| t.clusters.get(c).cloned());
        if let Some(queues) = t.topic_queues.get_mut(topic) {
            match names {
                Some(names) => queues.retain(|b, _| !names.contains(b)),
                None => queues.clear(),
            }
            if queues.is_empty() {
                t.topic_queues.remove(topic);
            }
        }
    }

    /// Broker id of a live address (tests and diagnostics).
    /// Brokers registered and alive.
    pub fn live_brokers(&self) -> usize {
        self.tables.read().live.len()
    }

    pub fn is_live(&self, broker_addr: &str) -> bool {
        self.tables.read().live.contains_key(broker_addr)
    }

    /// Cluster and broker name of a live address.
    pub fn broker_of(&self, broker_addr: &str) -> Option<(String, String, i64)> {
        self.tables
            .read()
            .live
            .get(broker_addr)
            .map(|l| (l.cluster.clone(), l.broker_name.clone(), l.broker_id))
    }
}

fn remove_broker(t: &mut Tables, addr: &str) {
    let Some(live) = t.live.remove(addr) else {
        return;
    };
    let mut name_gone = false;
    if let Some(data) = t.brokers.get_mut(&live.broker_name) {
        data.broker_addrs.retain(|_, a| a != addr);
        name_gone = data.broker_addrs.is_empty();
    }
    if name_gone {
        t.brokers.remove(&live.broker_name);
        if let Some(names) = t.clusters.get_mut(&live.cluster) {
            names.remove(&live.broker_name);
            if names.is_empty() {
                t.clusters.remove(&live.cluster);
            }
        }
    }
    if name_gone || live.broker_id == 0 {
        for queues in t.topic_queues.values_mut() {
            queues.remove(&live.broker_name);
        }
        t.topic_queues.retain(|_, q| !q.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(name: &str, addr: &str, topics: &[(&str, i32)], counter: i64) -> Registration {
        Registration {
            cluster: "C".into(),
            broker_name: name.into(),
            broker_addr: addr.into(),
            broker_id: 0,
            timeout: DEFAULT_BROKER_TIMEOUT,
            data_version: DataVersion {
                counter,
                ..DataVersion::default()
            },
            topics: Some(
                topics
                    .iter()
                    .map(|(t, n)| TopicConfig::new(t, *n))
                    .collect(),
            ),
            complete: true,
            conn_id: Some(7),
        }
    }

    #[test]
    fn a_registration_without_topics_keeps_the_routes() {
        let m = RouteInfoManager::new(false, 4);
        let t0 = Instant::now();
        m.register(reg("a", "1.1.1.1:1", &[("T", 4)], 1), t0);
        let mut bare = reg("a", "1.1.1.1:1", &[], 2);
        bare.topics = None;
        m.register(bare, t0);
        assert!(
            m.route("T").is_some(),
            "routes survive an empty registration"
        );
        // The next full registration with the same version as before changes nothing...
        m.register(reg("a", "1.1.1.1:1", &[("T", 4)], 1), t0);
        assert!(m.route("T").is_some());
        // ...and one with a new version replaces the topics as usual.
        m.register(reg("a", "1.1.1.1:1", &[("U", 4)], 3), t0);
        assert!(m.route("T").is_none());
        assert!(m.route("U").is_some());
    }

    #[test]
    fn an_apache_registration_adds_topics_and_removes_none() {
        // An Apache broker registers each topic it creates with a table of that topic alone.
        let m = RouteInfoManager::new(false, 4);
        let now = Instant::now();
        let apache = |topics: &[(&str, i32)], counter| Registration {
            complete: false,
            ..reg("a", "x:1", topics, counter)
        };
        m.register(apache(&[("T", 4)], 1), now);
        m.register(apache(&[("U", 4)], 2), now);
        assert!(m.route("T").is_some());
        assert!(m.route("U").is_some());
        m.register(apache(&[("T", 8)], 3), now);
        assert_eq!(m.route("T").unwrap().queue_datas[0].write_queue_nums, 8);
        assert!(m.route("U").is_some());
    }

    #[test]
    fn a_retry_route_keeps_the_template_brokers_once_one_registers_it() {
        let m = RouteInfoManager::new(true, 4);
        let now = Instant::now();
        m.register(reg("a", "1.1.1.1:1", &[("TBW102", 8)], 1), now);
        m.register(reg("b", "2.2.2.2:1", &[("TBW102", 8)], 1), now);
        let names = |r: TopicRouteData| -> Vec<String> {
            r.queue_datas.into_iter().map(|q| q.broker_name).collect()
        };
        assert_eq!(names(m.route("%RETRY%G").unwrap()), ["a", "b"]);
        // Broker a creates and registers it (with 2 queues); b has not yet.
        m.register(
            reg("a", "1.1.1.1:1", &[("TBW102", 8), ("%RETRY%G", 2)], 2),
            now,
        );
        let r = m.route("%RETRY%G").unwrap();
        assert_eq!(
            r.queue_datas[0].write_queue_nums, 2,
            "the registration wins"
        );
        assert_eq!(
            r.queue_datas[1].write_queue_nums, 1,
            "the template's one queue"
        );
        assert_eq!(names(r), ["a", "b"], "the route does not shrink");
        // An ordinary topic's route is what brokers registered, once one has.
        m.register(reg("a", "1.1.1.1:1", &[("TBW102", 8), ("T", 2)], 3), now);
        assert_eq!(names(m.route("T").unwrap()), ["a"]);
    }

    #[test]
    fn routes_span_brokers_and_expire() {
        let m = RouteInfoManager::new(true, 4);
        let t0 = Instant::now();
        m.register(reg("a", "1.1.1.1:1", &[("T", 4), ("TBW102", 8)], 1), t0);
        m.register(reg("b", "2.2.2.2:1", &[("T", 2)], 1), t0);
        let r = m.route("T").unwrap();
        assert_eq!(r.broker_datas.len(), 2);
        assert_eq!(
            r.queue_datas
                .iter()
                .map(|q| q.write_queue_nums)
                .sum::<i32>(),
            6
        );
        // Unknown topic: templated from TBW102, only on broker a, with 4 queues.
        let auto = m.route("New").unwrap();
        assert_eq!(auto.queue_datas.len(), 1);
        assert_eq!(auto.queue_datas[0].write_queue_nums, 4);
        assert_eq!(
            m.route("%RETRY%g").unwrap().queue_datas[0].read_queue_nums,
            1
        );
        // b goes silent past its timeout.
        m.touch("1.1.1.1:1", t0 + Duration::from_secs(100));
        m.expire_dead_brokers(t0 + Duration::from_secs(121));
        assert_eq!(m.route("T").unwrap().broker_datas.len(), 1);
        assert!(!m.cluster_info().broker_addr_table.contains_key("b"));
    }

    #[test]
    fn reregistration_with_new_version_replaces_topics() {
        let m = RouteInfoManager::new(false, 4);
        let now = Instant::now();
        m.register(reg("a", "x:1", &[("T", 4)], 1), now);
        m.register(reg("a", "x:1", &[("U", 4)], 2), now);
        assert!(m.route("T").is_none());
        assert!(m.route("U").is_some());
        assert!(m.route("Unknown").is_none(), "auto routes are off");
        m.connection_closed(7);
        assert!(m.route("U").is_none());
    }
}
