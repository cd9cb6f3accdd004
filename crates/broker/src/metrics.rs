//! Prometheus metrics of the broker, on `--metrics-port` (`/metrics`), through
//! `prometheus-client`.
//!
//! Counters on the request path are lock-free atomics (a `Family` lookup takes a read lock on
//! a map keyed by topic, never held across an await). Figures that are state rather than events
//! — store size, per-group lag, connections, held pulls — are read when Prometheus scrapes, so
//! they cost nothing between scrapes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::Broker;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupTopicLabel {
    pub group: String,
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: String,
}

/// Every metric the broker exports.
pub struct BrokerMetrics {
    registry: Registry,
    messages_in: Family<TopicLabel, Counter>,
    bytes_in: Family<TopicLabel, Counter>,
    messages_out: Family<TopicLabel, Counter>,
    bytes_out: Family<TopicLabel, Counter>,
    limits_hit: Family<LimitLabel, Counter>,
    lag_messages: Family<GroupTopicLabel, Gauge>,
    lag_seconds: Family<GroupTopicLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    store_bytes: Gauge,
    offset_entries: Gauge,
    topics: Gauge,
    groups: Gauge,
    /// Open connections, kept by the connection hooks.
    pub connections: Gauge,
    /// Long polls being held right now.
    pub held_pulls: Gauge,
    held_pull_bytes: Gauge,
    fsync_seconds: Histogram,
    /// Running total of what the held pulls keep in memory (their parsed headers).
    held_bytes: AtomicI64,
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ferromq");
        let m = Self {
            messages_in: Family::default(),
            bytes_in: Family::default(),
            messages_out: Family::default(),
            bytes_out: Family::default(),
            limits_hit: Family::default(),
            lag_messages: Family::default(),
            lag_seconds: Family::default(),
            store_bytes: Gauge::default(),
            offset_entries: Gauge::default(),
            topics: Gauge::default(),
            groups: Gauge::default(),
            connections: Gauge::default(),
            held_pulls: Gauge::default(),
            held_pull_bytes: Gauge::default(),
            // 50 µs … ~3.3 s
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 17)),
            held_bytes: AtomicI64::new(0),
            registry: Registry::default(),
        };
        registry.register(
            "messages_in",
            "Messages stored, by topic",
            m.messages_in.clone(),
        );
        registry.register(
            "bytes_in",
            "Message bytes stored, by topic",
            m.bytes_in.clone(),
        );
        registry.register(
            "messages_out",
            "Messages returned to pulls, by topic",
            m.messages_out.clone(),
        );
        registry.register(
            "bytes_out",
            "Message bytes returned to pulls, by topic",
            m.bytes_out.clone(),
        );
        registry.register(
            "limit_hits",
            "Requests or connections refused because a configured limit was reached",
            m.limits_hit.clone(),
        );
        registry.register(
            "group_lag_messages",
            "Messages between a group's committed offset and the end of each topic",
            m.lag_messages.clone(),
        );
        registry.register(
            "group_lag_seconds",
            "Age of the oldest message a group has not consumed, by topic",
            m.lag_seconds.clone(),
        );
        registry.register(
            "store_bytes",
            "Commit-log bytes on disk",
            m.store_bytes.clone(),
        );
        registry.register(
            "offset_entries",
            "Entries (group, topic, queue) in the offset table",
            m.offset_entries.clone(),
        );
        registry.register("topics", "Topics on this broker", m.topics.clone());
        registry.register(
            "groups",
            "Subscription groups on this broker",
            m.groups.clone(),
        );
        registry.register(
            "connections",
            "Client connections open now",
            m.connections.clone(),
        );
        registry.register(
            "held_pulls",
            "Long polls being held now",
            m.held_pulls.clone(),
        );
        registry.register(
            "held_pull_bytes",
            "Memory kept by the long polls held now",
            m.held_pull_bytes.clone(),
        );
        registry.register(
            "fsync_seconds",
            "Duration of commit-log fsyncs",
            m.fsync_seconds.clone(),
        );
        Self { registry, ..m }
    }

    pub fn add_in(&self, topic: &str, msgs: u64, bytes: u64) {
        let l = TopicLabel {
            topic: topic.to_string(),
        };
        self.messages_in.get_or_create(&l).inc_by(msgs);
        self.bytes_in.get_or_create(&l).inc_by(bytes);
    }

    pub fn add_out(&self, topic: &str, msgs: u64, bytes: u64) {
        let l = TopicLabel {
            topic: topic.to_string(),
        };
        self.messages_out.get_or_create(&l).inc_by(msgs);
        self.bytes_out.get_or_create(&l).inc_by(bytes);
    }

    /// Counts a limit that refused something; `limit` is the setting's name.
    pub fn limit_hit(&self, limit: &str) {
        self.limits_hit
            .get_or_create(&LimitLabel {
                limit: limit.to_string(),
            })
            .inc();
    }

    /// How many times `limit` refused something so far.
    pub fn limit_hits(&self, limit: &str) -> u64 {
        self.limits_hit
            .get_or_create(&LimitLabel {
                limit: limit.to_string(),
            })
            .get()
    }

    /// A held pull starts (`bytes` it keeps) or ends (negative).
    pub fn held_pull(&self, delta: i64, bytes: i64) {
        self.held_pulls.inc_by(delta);
        let total = self.held_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.held_pull_bytes.set(total);
    }

    pub fn observe_fsync(&self, seconds: f64) {
        self.fsync_seconds.observe(seconds);
    }

    /// Reads the state figures and renders the Prometheus text exposition.
    pub fn render(&self, b: &Arc<Broker>) -> String {
        self.store_bytes
            .set(b.store.commit_log_max_offset() - b.store.commit_log_min_offset());
        self.offset_entries.set(b.offsets.entry_count() as i64);
        self.topics.set(b.topics.len() as i64);
        self.groups.set(b.groups.len() as i64);
        for secs in b.store.take_fsync_samples() {
            self.observe_fsync(secs);
        }
        self.lag_messages.clear();
        self.lag_seconds.clear();
        for l in crate::progress::lag::all_group_lags(b) {
            let label = GroupTopicLabel {
                group: l.group,
                topic: l.topic,
            };
            self.lag_messages.get_or_create(&label).set(l.messages);
            self.lag_seconds
                .get_or_create(&label)
                .set(l.oldest_ms as f64 / 1000.0);
        }
        ferromq_metrics::encode(&self.registry)
    }
}

/// Serves `/metrics` on `addr` until the broker shuts down; returns the bound address.
pub async fn serve(b: Arc<Broker>, addr: std::net::SocketAddr) -> Option<std::net::SocketAddr> {
    let stop = b.shutdown.clone();
    ferromq_metrics::serve(addr, move || b.metrics.render(&b), stop).await
}
