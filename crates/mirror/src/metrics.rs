//! Mirror metrics, updated from many tasks and read two ways:
//!
//! - `/metrics`: a `prometheus-client` registry in the Prometheus text format (0.0.4). It holds
//!   raw counters, gauges and an offset-sync lag histogram; rates and quantiles are computed by
//!   Prometheus (`rate(ferromq_mirror_messages_total[1m])`, `histogram_quantile(...)`).
//! - [`MetricsSnapshot`]: a JSON copy for `status.json`, `/status` and `ferromq mirror status`,
//!   read by people, so it also carries messages/s and bytes/s over the last ~10 s (from counter
//!   samples the runner takes once a second with [`Metrics::tick`]) and offset-sync lag
//!   p50/p99/max over the last 30–60 s (from an hdrhistogram window).
//!
//! Updates are atomics or short mutex sections, so copy and offset-sync tasks can report on every
//! batch without contending.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram as HdrHistogram;
use parking_lot::Mutex;
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The `Content-Type` of [`Metrics::render_prometheus`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric name starts with this, then `_`.
const PREFIX: &str = "ferromq_mirror";
/// Upper bounds (seconds) of the offset-sync lag histogram's buckets: offsets are polled every
/// 200 ms by default, so the fine buckets are below a second; the coarse ones show outages.
const OFFSET_SYNC_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Rates are averaged over this much time.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Rate samples kept at most, whatever the tick frequency.
const MAX_RATE_SAMPLES: usize = 64;
/// Each of the two rotating lag histograms covers this long, so quantiles cover the last
/// 30–60 s: recent enough to show a problem, long enough to be stable.
const LAG_HALF_WINDOW: Duration = Duration::from_secs(30);
/// Offset-sync lags are recorded in microseconds, up to an hour (longer counts as an hour).
const MAX_LAG_US: u64 = 3_600_000_000;
/// Three significant digits: precise enough for percentiles, small enough to clone per snapshot.
const SIGNIFICANT_DIGITS: u8 = 3;

fn new_hdr_histogram() -> HdrHistogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    HdrHistogram::new_with_bounds(1, MAX_LAG_US, SIGNIFICANT_DIGITS)
        .expect("valid histogram bounds")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabel {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// One sample of the cumulative counters, taken by `tick`.
#[derive(Debug, Clone, Copy)]
struct RateSample {
    at: Instant,
    messages: u64,
    bytes: u64,
}

/// Two histograms that take turns: `current` collects, `previous` holds the half window before.
struct LagWindow {
    current: HdrHistogram<u64>,
    previous: HdrHistogram<u64>,
    current_since: Instant,
}

impl LagWindow {
    fn new(now: Instant) -> Self {
        LagWindow {
            current: new_hdr_histogram(),
            previous: new_hdr_histogram(),
            current_since: now,
        }
    }

    /// Drops samples older than the window.
    fn rotate(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.current_since);
        if age >= 2 * LAG_HALF_WINDOW {
            self.current.reset();
            self.previous.reset();
            self.current_since = now;
        } else if age >= LAG_HALF_WINDOW {
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.reset();
            self.current_since = now;
        }
    }

    /// Quantiles over both halves.
    fn summary(&self) -> LagSummary {
        let mut all = self.previous.clone();
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = all.add(&self.current);
        let ms = |us: u64| us as f64 / 1000.0;
        if all.is_empty() {
            return LagSummary::default();
        }
        LagSummary {
            samples: all.len(),
            p50_ms: ms(all.value_at_quantile(0.5)),
            p99_ms: ms(all.value_at_quantile(0.99)),
            max_ms: ms(all.max()),
        }
    }
}

/// Offset-sync lag over the last 30–60 s. All zero when there were no samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LagSummary {
    /// Samples in the window.
    pub samples: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A point-in-time copy of every metric, for `status.json` and `ferromq mirror status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub messages_total: u64,
    pub bytes_total: u64,
    /// Averaged over the last ~10 s of ticks; 0 before two ticks.
    pub messages_per_sec: f64,
    pub bytes_per_sec: f64,
    /// Messages on the source not yet copied, per topic.
    pub message_lag: BTreeMap<String, i64>,
    /// Time from a group's commit on the source to its translated offset on the target.
    pub offset_sync_lag: LagSummary,
    /// Offset-sync lag samples since start.
    pub offset_sync_count: u64,
    pub offsets_applied_total: u64,
    pub errors: BTreeMap<String, u64>,
    /// Group offsets waiting for the mirror to catch up before they can be applied.
    pub offsets_held: i64,
}

/// The mirror's metrics. Shared by reference (`Arc<Metrics>`) between all tasks.
pub struct Metrics {
    /// What `/metrics` exports; the fields below are handles on the metrics registered in it.
    registry: Registry,
    messages: Counter,
    bytes: Counter,
    offsets_applied: Counter,
    offsets_held: Gauge,
    offset_sync_lag: Histogram,
    message_lag_family: Family<TopicLabel, Gauge>,
    error_family: Family<KindLabel, Counter>,
    /// The per-topic gauges of `message_lag_family`, by topic, for the snapshot (a family cannot
    /// be listed). Locked while the family is changed, so both always hold the same topics.
    message_lag: Mutex<BTreeMap<String, Gauge>>,
    /// The per-kind counters of `error_family`, likewise.
    errors: Mutex<BTreeMap<String, Counter>>,
    /// Offset-sync lag samples since start (the histogram does not tell its count).
    sync_count: AtomicU64,
    rate_samples: Mutex<VecDeque<RateSample>>,
    lag_window: Mutex<LagWindow>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("snapshot", &self.snapshot())
            .finish()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let messages = Counter::default();
        let bytes = Counter::default();
        let offsets_applied = Counter::default();
        let offsets_held = Gauge::default();
        let offset_sync_lag = Histogram::new(OFFSET_SYNC_BUCKETS);
        let message_lag_family = Family::default();
        let error_family = Family::default();

        let mut registry = Registry::with_prefix(PREFIX);
        // Counters get `_total` appended by the encoder.
        registry.register(
            "messages",
            "Messages copied from the source to the target cluster",
            messages.clone(),
        );
        registry.register(
            "bytes",
            "Message body bytes copied from the source to the target cluster",
            bytes.clone(),
        );
        registry.register(
            "message_lag",
            "Messages on the source not yet copied to the target, per topic",
            message_lag_family.clone(),
        );
        registry.register_with_unit(
            "offset_sync_lag",
            "Time from a group's offset commit on the source to the translated offset on the target",
            Unit::Seconds,
            offset_sync_lag.clone(),
        );
        registry.register(
            "offsets_applied",
            "Translated group offsets written to the target",
            offsets_applied.clone(),
        );
        registry.register("errors", "Errors by kind", error_family.clone());
        registry.register(
            "offsets_held",
            "Group offsets ahead of what has been mirrored, waiting to be applied",
            offsets_held.clone(),
        );

        Metrics {
            registry,
            messages,
            bytes,
            offsets_applied,
            offsets_held,
            offset_sync_lag,
            message_lag_family,
            error_family,
            message_lag: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(BTreeMap::new()),
            sync_count: AtomicU64::new(0),
            rate_samples: Mutex::new(VecDeque::new()),
            lag_window: Mutex::new(LagWindow::new(Instant::now())),
        }
    }

    /// `n` messages of `bytes` bytes in total were copied to the target.
    pub fn add_messages(&self, n: u64, bytes: u64) {
        self.messages.inc_by(n);
        self.bytes.inc_by(bytes);
    }

    /// Messages of `topic` on the source that are not yet on the target.
    pub fn set_message_lag(&self, topic: &str, lag: i64) {
        let mut m = self.message_lag.lock();
        if let Some(g) = m.get(topic) {
            g.set(lag);
            return;
        }
        let g = self.message_lag_family.get_or_create_owned(&TopicLabel {
            topic: topic.to_string(),
        });
        g.set(lag);
        m.insert(topic.to_string(), g);
    }

    /// Stops reporting a topic's lag (the topic is no longer mirrored).
    pub fn remove_message_lag(&self, topic: &str) {
        let mut m = self.message_lag.lock();
        if m.remove(topic).is_some() {
            self.message_lag_family.remove(&TopicLabel {
                topic: topic.to_string(),
            });
        }
    }

    /// One group offset reached the target `d` after it was committed on the source.
    pub fn record_offset_sync_lag(&self, d: Duration) {
        self.record_offset_sync_lag_at(d, Instant::now());
    }

    fn record_offset_sync_lag_at(&self, d: Duration, now: Instant) {
        self.offset_sync_lag.observe(d.as_secs_f64());
        self.sync_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let mut window = self.lag_window.lock();
        window.rotate(now);
        window.current.saturating_record(us.min(MAX_LAG_US));
    }

    /// `n` translated group offsets were written to the target.
    pub fn add_offsets_applied(&self, n: u64) {
        self.offsets_applied.inc_by(n);
    }

    /// One error of the given kind (a short stable word such as `send` or `pull`).
    pub fn add_error(&self, kind: &str) {
        let mut m = self.errors.lock();
        if let Some(c) = m.get(kind) {
            c.inc();
            return;
        }
        let c = self.error_family.get_or_create_owned(&KindLabel {
            kind: kind.to_string(),
        });
        c.inc();
        m.insert(kind.to_string(), c);
    }

    /// Group offsets currently held back (see [`crate::map::Kind::Held`]).
    pub fn set_held(&self, n: i64) {
        self.offsets_held.set(n);
    }

    /// Samples the counters for the snapshot's rates; the runner calls it once a second.
    pub fn tick(&self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&self, now: Instant) {
        let sample = RateSample {
            at: now,
            messages: self.messages.get(),
            bytes: self.bytes.get(),
        };
        let mut samples = self.rate_samples.lock();
        samples.push_back(sample);
        // Keep the newest sample that is at least RATE_WINDOW old as the base of the rate.
        while samples.len() > 2
            && samples
                .get(1)
                .is_some_and(|s| now.saturating_duration_since(s.at) >= RATE_WINDOW)
        {
            samples.pop_front();
        }
        while samples.len() > MAX_RATE_SAMPLES {
            samples.pop_front();
        }
        drop(samples);
        self.lag_window.lock().rotate(now);
    }

    /// (messages/s, bytes/s) between the oldest and newest rate samples.
    fn rates(&self) -> (f64, f64) {
        let samples = self.rate_samples.lock();
        let (Some(first), Some(last)) = (samples.front(), samples.back()) else {
            return (0.0, 0.0);
        };
        let secs = last.at.saturating_duration_since(first.at).as_secs_f64();
        if secs <= 0.0 {
            return (0.0, 0.0);
        }
        (
            last.messages.saturating_sub(first.messages) as f64 / secs,
            last.bytes.saturating_sub(first.bytes) as f64 / secs,
        )
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let (messages_per_sec, bytes_per_sec) = self.rates();
        MetricsSnapshot {
            messages_total: self.messages.get(),
            bytes_total: self.bytes.get(),
            messages_per_sec,
            bytes_per_sec,
            message_lag: (self.message_lag.lock().iter())
                .map(|(topic, g)| (topic.clone(), g.get()))
                .collect(),
            offset_sync_lag: self.lag_window.lock().summary(),
            offset_sync_count: self.sync_count.load(Ordering::Relaxed),
            offsets_applied_total: self.offsets_applied.get(),
            errors: (self.errors.lock().iter())
                .map(|(kind, c)| (kind.clone(), c.get()))
                .collect(),
            offsets_held: self.offsets_held.get(),
        }
    }

    /// Every metric in the Prometheus text exposition format, version 0.0.4
    /// ([`PROMETHEUS_CONTENT_TYPE`]). A family without samples yet (no errors, no topics) is
    /// left out.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::warn!("metrics encoding failed: {e}");
        }
        out
    }
}
