//! Mirror metrics: counters updated from many tasks, a JSON snapshot for `status.json`, and the
//! Prometheus text exposition format (0.0.4) for scraping.
//!
//! Updates are atomics or short mutex sections, so copy and offset-sync tasks can report on every
//! batch without contending. Rates are derived from samples of the counters that the runner takes
//! once a second with [`Metrics::tick`], so they do not depend on how often anyone reads them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

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

fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LAG_US, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
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
    current: Histogram<u64>,
    previous: Histogram<u64>,
    current_since: Instant,
}

impl LagWindow {
    fn new(now: Instant) -> Self {
        LagWindow {
            current: new_histogram(),
            previous: new_histogram(),
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
    messages: AtomicU64,
    bytes: AtomicU64,
    offsets_applied: AtomicU64,
    held: AtomicI64,
    /// Offset-sync lag samples and their sum (µs) since start, for the summary's `_count`/`_sum`.
    sync_count: AtomicU64,
    sync_sum_us: AtomicU64,
    message_lag: Mutex<BTreeMap<String, i64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    rate_samples: Mutex<VecDeque<RateSample>>,
    lag: Mutex<LagWindow>,
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
        Metrics {
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            offsets_applied: AtomicU64::new(0),
            held: AtomicI64::new(0),
            sync_count: AtomicU64::new(0),
            sync_sum_us: AtomicU64::new(0),
            message_lag: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(BTreeMap::new()),
            rate_samples: Mutex::new(VecDeque::new()),
            lag: Mutex::new(LagWindow::new(Instant::now())),
        }
    }

    /// `n` messages of `bytes` bytes in total were copied to the target.
    pub fn add_messages(&self, n: u64, bytes: u64) {
        self.messages.fetch_add(n, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Messages of `topic` on the source that are not yet on the target.
    pub fn set_message_lag(&self, topic: &str, lag: i64) {
        let mut m = self.message_lag.lock();
        match m.get_mut(topic) {
            Some(v) => *v = lag,
            None => {
                m.insert(topic.to_string(), lag);
            }
        }
    }

    /// Stops reporting a topic's lag (the topic is no longer mirrored).
    pub fn remove_message_lag(&self, topic: &str) {
        self.message_lag.lock().remove(topic);
    }

    /// One group offset reached the target `d` after it was committed on the source.
    pub fn record_offset_sync_lag(&self, d: Duration) {
        self.record_offset_sync_lag_at(d, Instant::now());
    }

    fn record_offset_sync_lag_at(&self, d: Duration, now: Instant) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sync_count.fetch_add(1, Ordering::Relaxed);
        // Saturate rather than wrap: a wrapped sum would make the summary's mean nonsense.
        let _ = self
            .sync_sum_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(us))
            });
        let mut lag = self.lag.lock();
        lag.rotate(now);
        lag.current.saturating_record(us.min(MAX_LAG_US));
    }

    /// `n` translated group offsets were written to the target.
    pub fn add_offsets_applied(&self, n: u64) {
        self.offsets_applied.fetch_add(n, Ordering::Relaxed);
    }

    /// One error of the given kind (a short stable word such as `send` or `pull`).
    pub fn add_error(&self, kind: &str) {
        let mut m = self.errors.lock();
        match m.get_mut(kind) {
            Some(v) => *v += 1,
            None => {
                m.insert(kind.to_string(), 1);
            }
        }
    }

    /// Group offsets currently held back (see [`crate::map::Kind::Held`]).
    pub fn set_held(&self, n: i64) {
        self.held.store(n, Ordering::Relaxed);
    }

    /// Samples the counters for the rates; the runner calls it once a second.
    pub fn tick(&self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&self, now: Instant) {
        let sample = RateSample {
            at: now,
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
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
        self.lag.lock().rotate(now);
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
            messages_total: self.messages.load(Ordering::Relaxed),
            bytes_total: self.bytes.load(Ordering::Relaxed),
            messages_per_sec,
            bytes_per_sec,
            message_lag: self.message_lag.lock().clone(),
            offset_sync_lag: self.lag.lock().summary(),
            offset_sync_count: self.sync_count.load(Ordering::Relaxed),
            offsets_applied_total: self.offsets_applied.load(Ordering::Relaxed),
            errors: self.errors.lock().clone(),
            offsets_held: self.held.load(Ordering::Relaxed),
        }
    }

    /// Every metric in the Prometheus text exposition format, version 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let s = self.snapshot();
        let sync_sum_secs = self.sync_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (suffix_and_labels, v) in samples {
                let _ = writeln!(out, "{name}{suffix_and_labels} {}", fmt_value(*v));
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        let labelled = |label: &str, values: Vec<(&String, f64)>| -> Vec<(String, f64)> {
            values
                .into_iter()
                .map(|(k, v)| (format!("{{{label}=\"{}\"}}", escape_label(k)), v))
                .collect()
        };

        family(
            "ferromq_mirror_messages_total",
            "counter",
            "Messages copied from the source to the target cluster.",
            &one(s.messages_total as f64),
        );
        family(
            "ferromq_mirror_bytes_total",
            "counter",
            "Message body bytes copied from the source to the target cluster.",
            &one(s.bytes_total as f64),
        );
        family(
            "ferromq_mirror_messages_per_second",
            "gauge",
            "Messages copied per second over the last 10 seconds.",
            &one(s.messages_per_sec),
        );
        family(
            "ferromq_mirror_bytes_per_second",
            "gauge",
            "Bytes copied per second over the last 10 seconds.",
            &one(s.bytes_per_sec),
        );
        family(
            "ferromq_mirror_message_lag",
            "gauge",
            "Messages on the source not yet copied to the target, per topic.",
            &labelled(
                "topic",
                s.message_lag.iter().map(|(k, v)| (k, *v as f64)).collect(),
            ),
        );
        // Quantiles over the sliding window; NaN without samples, as Prometheus clients do.
        let q = |v: f64| {
            if s.offset_sync_lag.samples == 0 {
                f64::NAN
            } else {
                // Back to whole microseconds, so seconds print without float noise.
                (v * 1000.0).round() / 1e6
            }
        };
        family(
            "ferromq_mirror_offset_sync_lag_seconds",
            "summary",
            "Time from a group's offset commit on the source to the translated offset on the target (quantiles over the last minute).",
            &[
                ("{quantile=\"0.5\"}".to_string(), q(s.offset_sync_lag.p50_ms)),
                ("{quantile=\"0.99\"}".to_string(), q(s.offset_sync_lag.p99_ms)),
                ("_sum".to_string(), sync_sum_secs),
                ("_count".to_string(), s.offset_sync_count as f64),
            ],
        );
        family(
            "ferromq_mirror_offsets_applied_total",
            "counter",
            "Translated group offsets written to the target.",
            &one(s.offsets_applied_total as f64),
        );
        family(
            "ferromq_mirror_errors_total",
            "counter",
            "Errors by kind.",
            &labelled(
                "kind",
                s.errors.iter().map(|(k, v)| (k, *v as f64)).collect(),
            ),
        );
        family(
            "ferromq_mirror_offsets_held",
            "gauge",
            "Group offsets ahead of what has been mirrored, waiting to be applied.",
            &one(s.offsets_held as f64),
        );
        out
    }
}

/// A sample value as the exposition format spells it.
fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust never uses exponent notation here and prints integral values without a fraction.
        format!("{v}")
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parsed sample line: metric name, labels (unescaped), value.
    #[derive(Debug, PartialEq)]
    struct Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    }

    /// A strict parser for the sample lines this module emits (no timestamps).
    fn parse_line(line: &str) -> Result<Sample, String> {
        let is_name_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
        let is_name = |c: char| is_name_start(c) || c.is_ascii_digit();
        let mut chars = line.char_indices().peekable();
        match chars.peek() {
            Some(&(_, c)) if is_name_start(c) => {}
            _ => return Err(format!("bad metric name start: {line:?}")),
        }
        let name_end = line.find(|c: char| !is_name(c)).unwrap_or(line.len());
        let name = line[..name_end].to_string();
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = rest.find('=').ok_or("label without =")?;
                let lname = &rest[..eq];
                if lname.is_empty() || !lname.chars().all(is_name) {
                    return Err(format!("bad label name {lname:?}"));
                }
                rest = rest[eq + 1..]
                    .strip_prefix('"')
                    .ok_or("label value not quoted")?;
                let mut value = String::new();
                let mut it = rest.char_indices();
                let end = loop {
                    match it.next() {
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match it.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            other => return Err(format!("bad escape {other:?}")),
                        },
                        Some((_, '\n')) => return Err("raw newline in label".into()),
                        Some((_, c)) => value.push(c),
                        None => return Err("unterminated label value".into()),
                    }
                };
                labels.push((lname.to_string(), value));
                rest = &rest[end + 1..];
                if let Some(r) = rest.strip_prefix(',') {
                    rest = r;
                }
            }
        }
        let v = rest.strip_prefix(' ').ok_or("no space before value")?;
        let value = match v {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|e| format!("bad value {v:?}: {e}"))?,
        };
        Ok(Sample {
            name,
            labels,
            value,
        })
    }

    /// Parses the whole exposition: every sample belongs to a family declared by a preceding
    /// `# TYPE` line.
    fn parse(text: &str) -> Vec<Sample> {
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut samples = Vec::new();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("# ") {
                let mut parts = c.splitn(3, ' ');
                let (kw, name, rest) = (parts.next(), parts.next(), parts.next());
                match (kw, name, rest) {
                    (Some("HELP"), Some(_), Some(_)) => {}
                    (Some("TYPE"), Some(name), Some(t)) => {
                        assert!(
                            ["counter", "gauge", "summary"].contains(&t),
                            "type {t} of {name}"
                        );
                        assert!(types.insert(name.into(), t.into()).is_none(), "dup {name}");
                    }
                    _ => panic!("bad comment line {line:?}"),
                }
                continue;
            }
            let s = parse_line(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            let family = ["_sum", "_count"]
                .iter()
                .find_map(|suf| {
                    s.name
                        .strip_suffix(suf)
                        .filter(|base| types.get(*base).map(String::as_str) == Some("summary"))
                })
                .unwrap_or(&s.name);
            assert!(types.contains_key(family), "no TYPE for {}", s.name);
            samples.push(s);
        }
        samples
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && s.labels
                        .iter()
                        .zip(labels)
                        .all(|((k, v), (k2, v2))| k == k2 && v == v2)
            })
            .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
            .value
    }

    #[test]
    fn metrics_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Metrics>();
    }

    #[test]
    fn counters_and_gauges_in_snapshot() {
        let m = Metrics::new();
        m.add_messages(10, 1000);
        m.add_messages(5, 500);
        m.set_message_lag("a", 7);
        m.set_message_lag("a", 3);
        m.set_message_lag("b", -1);
        m.add_offsets_applied(4);
        m.add_error("send");
        m.add_error("send");
        m.add_error("pull");
        m.set_held(2);
        let s = m.snapshot();
        assert_eq!(s.messages_total, 15);
        assert_eq!(s.bytes_total, 1500);
        assert_eq!(
            s.message_lag,
            BTreeMap::from([("a".into(), 3), ("b".into(), -1)])
        );
        assert_eq!(s.offsets_applied_total, 4);
        assert_eq!(
            s.errors,
            BTreeMap::from([("pull".into(), 1), ("send".into(), 2)])
        );
        assert_eq!(s.offsets_held, 2);
        assert_eq!(s.offset_sync_lag, LagSummary::default());
        assert_eq!((s.messages_per_sec, s.bytes_per_sec), (0.0, 0.0));
        m.remove_message_lag("b");
        assert_eq!(m.snapshot().message_lag.len(), 1);
        // status.json round trip.
        let json = serde_json::to_string(&m.snapshot()).unwrap();
        let back: MetricsSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m.snapshot());
    }

    #[test]
    fn rates_cover_the_last_ten_seconds() {
        let m = Metrics::new();
        let t0 = Instant::now();
        m.tick_at(t0);
        assert_eq!(m.snapshot().messages_per_sec, 0.0, "one sample is no rate");
        // 100 msgs/s, 1000 bytes/s for 20 s.
        for i in 1..=20 {
            m.add_messages(100, 1000);
            m.tick_at(t0 + Duration::from_secs(i));
        }
        let s = m.snapshot();
        assert!((s.messages_per_sec - 100.0).abs() < 1e-9, "{s:?}");
        assert!((s.bytes_per_sec - 1000.0).abs() < 1e-9, "{s:?}");
        assert!(m.rate_samples.lock().len() <= 12);
        // Then it stops: the rate falls to zero once the window has passed.
        for i in 21..=25 {
            m.tick_at(t0 + Duration::from_secs(i));
        }
        assert!((m.snapshot().messages_per_sec - 50.0).abs() < 1e-9);
        for i in 26..=31 {
            m.tick_at(t0 + Duration::from_secs(i));
        }
        assert_eq!(m.snapshot().messages_per_sec, 0.0);
    }

    #[test]
    fn offset_sync_lag_quantiles_slide() {
        let m = Metrics::new();
        let t0 = Instant::now();
        for ms in 1..=100u64 {
            m.record_offset_sync_lag_at(Duration::from_millis(ms), t0);
        }
        let s = m.snapshot().offset_sync_lag;
        assert_eq!(s.samples, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
        // 40 s later the old samples are in the previous half and still count.
        m.record_offset_sync_lag_at(Duration::from_secs(2), t0 + Duration::from_secs(40));
        assert_eq!(m.snapshot().offset_sync_lag.samples, 101);
        // 40 s after that they have slid out.
        m.tick_at(t0 + Duration::from_secs(80));
        let s = m.snapshot().offset_sync_lag;
        assert_eq!(s.samples, 1);
        assert!((s.max_ms - 2000.0).abs() < 2.0, "{s:?}");
        // Much later, everything is gone; cumulative counts remain.
        m.tick_at(t0 + Duration::from_secs(300));
        let s = m.snapshot();
        assert_eq!(s.offset_sync_lag, LagSummary::default());
        assert_eq!(s.offset_sync_count, 101);
        // Absurd lags saturate instead of failing.
        m.record_offset_sync_lag(Duration::from_secs(1 << 40));
        assert_eq!(m.snapshot().offset_sync_lag.samples, 1);
    }

    #[test]
    fn prometheus_text_parses_and_has_the_values() {
        let m = Metrics::new();
        let empty = parse(&m.render_prometheus());
        assert!(value(
            &empty,
            "ferromq_mirror_offset_sync_lag_seconds",
            &[("quantile", "0.5")]
        )
        .is_nan());

        let t0 = Instant::now();
        m.tick_at(t0);
        m.add_messages(50, 5000);
        m.tick_at(t0 + Duration::from_secs(5));
        m.set_message_lag("orders", 42);
        let nasty = "we\"ird\\topic\nname";
        m.set_message_lag(nasty, 7);
        m.record_offset_sync_lag(Duration::from_millis(250));
        m.record_offset_sync_lag(Duration::from_millis(750));
        m.add_offsets_applied(9);
        m.add_error("send");
        m.add_error("bad \"kind\"");
        m.set_held(3);

        let text = m.render_prometheus();
        let samples = parse(&text);
        let v = |name, labels: &[(&str, &str)]| value(&samples, name, labels);
        assert_eq!(v("ferromq_mirror_messages_total", &[]), 50.0);
        assert_eq!(v("ferromq_mirror_bytes_total", &[]), 5000.0);
        assert_eq!(v("ferromq_mirror_messages_per_second", &[]), 10.0);
        assert_eq!(v("ferromq_mirror_bytes_per_second", &[]), 1000.0);
        assert_eq!(
            v("ferromq_mirror_message_lag", &[("topic", "orders")]),
            42.0
        );
        assert_eq!(v("ferromq_mirror_message_lag", &[("topic", nasty)]), 7.0);
        let p50 = v(
            "ferromq_mirror_offset_sync_lag_seconds",
            &[("quantile", "0.5")],
        );
        let p99 = v(
            "ferromq_mirror_offset_sync_lag_seconds",
            &[("quantile", "0.99")],
        );
        assert!((p50 - 0.25).abs() < 0.001, "{p50}");
        assert!((p99 - 0.75).abs() < 0.001, "{p99}");
        assert_eq!(v("ferromq_mirror_offset_sync_lag_seconds_count", &[]), 2.0);
        assert!((v("ferromq_mirror_offset_sync_lag_seconds_sum", &[]) - 1.0).abs() < 1e-9);
        assert_eq!(v("ferromq_mirror_offsets_applied_total", &[]), 9.0);
        assert_eq!(v("ferromq_mirror_errors_total", &[("kind", "send")]), 1.0);
        assert_eq!(
            v("ferromq_mirror_errors_total", &[("kind", "bad \"kind\"")]),
            1.0
        );
        assert_eq!(v("ferromq_mirror_offsets_held", &[]), 3.0);
        assert!(text.contains("# TYPE ferromq_mirror_offset_sync_lag_seconds summary\n"));
        assert!(text.contains("# TYPE ferromq_mirror_messages_total counter\n"));
        assert!(text.contains("# TYPE ferromq_mirror_offsets_held gauge\n"));
        assert!(text.contains(r#"{topic="we\"ird\\topic\nname"}"#), "{text}");
    }

    #[test]
    fn values_are_spelled_as_prometheus_expects() {
        assert_eq!(fmt_value(f64::NAN), "NaN");
        assert_eq!(fmt_value(f64::INFINITY), "+Inf");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(fmt_value(3.0), "3");
        assert_eq!(fmt_value(0.25), "0.25");
        assert_eq!(fmt_value(-7.0), "-7");
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn concurrent_updates_are_counted() {
        let m = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.add_messages(1, 10);
                        m.add_error("x");
                        m.record_offset_sync_lag(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = m.snapshot();
        assert_eq!(s.messages_total, 8000);
        assert_eq!(s.bytes_total, 80_000);
        assert_eq!(s.errors["x"], 8000);
        assert_eq!(s.offset_sync_count, 8000);
    }
}
