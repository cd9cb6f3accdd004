//! Discovery: finds the source's topics and groups, creates them on the target, and starts one
//! copier per source queue.

use std::sync::Arc;

use ferromq_client::ClientError;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::names::{
    AUTO_CREATE_TOPIC, DLQ_PREFIX, RETRY_PREFIX, SCHEDULE_TOPIC, TIMER_TOPIC,
};

use super::{Mirror, Problems};
use crate::copier;
use crate::remote::Brokers;
use crate::state::{QueueKey, QueueState};

/// Topics that belong to the cluster itself, never mirrored.
const SYSTEM_TOPICS: [&str; 6] = [
    AUTO_CREATE_TOPIC,
    SCHEDULE_TOPIC,
    TIMER_TOPIC,
    "OFFSET_MOVED_EVENT",
    "SELF_TEST_TOPIC",
    "BenchmarkTest",
];
/// Apache RocketMQ's request-reply topic of a cluster: `<cluster>_REPLY_TOPIC`.
const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// Prefixes of groups that belong to tools and the cluster itself.
const SYSTEM_GROUP_PREFIXES: [&str; 7] = [
    "CID_RMQ_SYS_",
    "RMQ_SYS_",
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "__MONITOR_CONSUMER",
    "SELF_TEST_",
    "CID_ONSAPI_",
];

/// Why a discovery pass failed (the next pass tries again).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryError {
    /// The source's name servers did not list its brokers.
    #[error("source name server: {0}")]
    SourceNamesrv(#[source] ClientError),
    /// The target's name servers did not list its brokers.
    #[error("target name server: {0}")]
    TargetNamesrv(#[source] ClientError),
    /// Some source brokers could not be mirrored; the others were.
    #[error("{0}")]
    Brokers(Problems<BrokerProblem>),
}

/// Why one source broker could not be mirrored in a discovery pass.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BrokerProblem {
    /// Queues are mirrored to the target broker of the same name, and there is none.
    #[error(
        "the target has no broker named {broker}: queues are mirrored broker by broker, so name \
         the target's brokers like the source's"
    )]
    NoTargetBroker { broker: String },
    /// Reading the broker or writing its counterpart failed.
    #[error("broker {broker}: {error}")]
    Broker {
        broker: String,
        #[source]
        error: BrokerError,
    },
}

/// What failed while discovering one source broker and its target counterpart.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BrokerError {
    #[error("source topics: {0}")]
    SourceTopics(#[source] ClientError),
    #[error("source groups: {0}")]
    SourceGroups(#[source] ClientError),
    #[error("target topics: {0}")]
    TargetTopics(#[source] ClientError),
    #[error("creating group {group} on the target: {error}")]
    CreateGroup {
        group: String,
        #[source]
        error: ClientError,
    },
    #[error("creating topic {topic} on the target: {error}")]
    CreateTopic {
        topic: String,
        #[source]
        error: ClientError,
    },
}

impl Mirror {
    fn wanted_topic(&self, topic: &str, source: &Brokers) -> bool {
        if let Some(g) = topic
            .strip_prefix(RETRY_PREFIX)
            .or_else(|| topic.strip_prefix(DLQ_PREFIX))
        {
            return self.wanted_group(g);
        }
        !(SYSTEM_TOPICS.contains(&topic)
            || topic.starts_with("rmq_sys_")
            || topic.starts_with("RMQ_SYS_")
            || source.addrs.contains_key(topic)
            || source.clusters.contains(topic)
            || topic
                .strip_suffix(REPLY_TOPIC_SUFFIX)
                .is_some_and(|c| source.clusters.contains(c)))
            && self.cfg.topics.is_match(topic)
    }

    pub(crate) fn wanted_group(&self, group: &str) -> bool {
        group != self.cfg.pull_group
            && !SYSTEM_GROUP_PREFIXES.iter().any(|p| group.starts_with(p))
            && self.cfg.groups.is_match(group)
    }

    pub(super) async fn discovery_loop(self: Arc<Self>) {
        loop {
            match self.discover().await {
                Ok(()) => {
                    self.rt.lock().errors.remove("discovery");
                }
                Err(e) => {
                    tracing::warn!("discovery: {e}");
                    self.metrics.add_error("discovery");
                    self.rt.lock().errors.insert("discovery", e.to_string());
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.discovery_interval) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    async fn discover(self: &Arc<Self>) -> Result<(), DiscoveryError> {
        let sources = self
            .source
            .brokers()
            .await
            .map_err(DiscoveryError::SourceNamesrv)?;
        let targets = self
            .target
            .brokers()
            .await
            .map_err(DiscoveryError::TargetNamesrv)?;
        {
            let mut rt = self.rt.lock();
            rt.source_brokers = sources.addrs.clone();
            rt.target_brokers = targets.addrs.clone();
        }
        let mut problems = Problems::new();
        for (name, src_addr) in &sources.addrs {
            let Some(tgt_addr) = targets.addrs.get(name) else {
                problems.push(BrokerProblem::NoTargetBroker {
                    broker: name.clone(),
                });
                continue;
            };
            if let Err(error) = self
                .discover_broker(name, src_addr, tgt_addr, &sources)
                .await
            {
                problems.push(BrokerProblem::Broker {
                    broker: name.clone(),
                    error,
                });
            }
        }
        problems.into_result().map_err(DiscoveryError::Brokers)
    }

    async fn discover_broker(
        self: &Arc<Self>,
        name: &str,
        src_addr: &str,
        tgt_addr: &str,
        sources: &Brokers,
    ) -> Result<(), BrokerError> {
        let src_topics = self
            .source
            .topic_configs(src_addr)
            .await
            .map_err(BrokerError::SourceTopics)?;
        let src_groups = self
            .source
            .group_configs(src_addr)
            .await
            .map_err(BrokerError::SourceGroups)?;
        let tgt_topics = self
            .target
            .topic_configs(tgt_addr)
            .await
            .map_err(BrokerError::TargetTopics)?;
        for (group, cfg) in src_groups {
            if !self.wanted_group(&group) {
                continue;
            }
            let k = (tgt_addr.to_string(), group.clone());
            if self.rt.lock().groups_copied.get(&k) == Some(&cfg) {
                continue;
            }
            self.target
                .create_group(tgt_addr, &group, &cfg)
                .await
                .map_err(|error| BrokerError::CreateGroup {
                    group: group.clone(),
                    error,
                })?;
            self.rt.lock().groups_copied.insert(k, cfg);
        }
        for (topic, cfg) in src_topics {
            if !self.wanted_topic(&topic, sources) {
                continue;
            }
            match tgt_topics.get(&topic) {
                None => {
                    let mut c = TopicConfig::new(&topic, cfg.read_queue_nums);
                    c.write_queue_nums = cfg.write_queue_nums;
                    c.perm = cfg.perm;
                    c.order = cfg.order;
                    c.attributes = cfg.attributes.clone();
                    self.target
                        .create_topic(tgt_addr, &c)
                        .await
                        .map_err(|error| BrokerError::CreateTopic {
                            topic: topic.clone(),
                            error,
                        })?;
                    tracing::info!(%topic, broker = name, queues = cfg.queue_count(),
                        "topic created on the target");
                }
                Some(t)
                    if t.read_queue_nums != cfg.read_queue_nums
                        || t.write_queue_nums != cfg.write_queue_nums =>
                {
                    let msg = format!(
                        "not mirrored: {topic} has {}/{} read/write queues on source broker \
                         {name} but {}/{} on the target; make them equal (ferromq admin \
                         updateTopic) or delete the target topic",
                        cfg.read_queue_nums,
                        cfg.write_queue_nums,
                        t.read_queue_nums,
                        t.write_queue_nums
                    );
                    let mut rt = self.rt.lock();
                    if rt.topic_errors.get(&topic) != Some(&msg) {
                        tracing::error!("{msg}");
                    }
                    rt.topic_errors.insert(topic.clone(), msg);
                    continue;
                }
                Some(_) => {}
            }
            self.rt.lock().topic_errors.remove(&topic);
            for q in 0..cfg.queue_count() {
                let key = QueueKey {
                    topic: topic.clone(),
                    broker: name.to_string(),
                    queue_id: q,
                };
                self.state
                    .lock()
                    .queues
                    .entry(key.clone())
                    .or_insert_with(|| QueueState::new(name));
                if self.rt.lock().running.insert(key.clone()) {
                    let m = self.clone();
                    let (s, t) = (src_addr.to_string(), tgt_addr.to_string());
                    tokio::spawn(async move {
                        copier::run(m.clone(), key.clone(), s, t).await;
                        m.rt.lock().running.remove(&key);
                    });
                }
            }
        }
        Ok(())
    }
}
