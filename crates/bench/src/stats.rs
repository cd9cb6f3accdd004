//! Counting and latency histograms, per-interval reports and the run summary.
//!
//! Every load task owns a `Recorder`: a window of counters and an HDR histogram behind a
//! mutex that the task locks only to record one request (never across an await). The reporter
//! (`Collector`) drains every window once per interval into the interval's totals and the
//! run's totals, so tasks never contend with each other.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

/// Latencies are recorded in microseconds, up to a minute (slower requests count as a minute).
const MAX_LATENCY_US: u64 = 60_000_000;
/// One byte in a thousand: enough for percentiles, 128 KiB per histogram.
const SIGNIFICANT_DIGITS: u8 = 3;
/// Megabyte of the MB/s figures: 10^6 bytes.
const MB: f64 = 1_000_000.0;

fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS)
        .expect("valid histogram bounds")
}

/// Counters and latencies over some span of time.
#[derive(Clone)]
pub(crate) struct Window {
    pub hist: Histogram<u64>,
    /// Messages that made it (sent, or pulled).
    pub msgs: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// Requests that succeeded (one latency sample each).
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            hist: new_histogram(),
            msgs: 0,
            bytes: 0,
            requests: 0,
            errors: 0,
        }
    }
}

impl Window {
    fn record(&mut self, msgs: u64, bytes: u64, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.hist.saturating_record(us);
        self.msgs += msgs;
        self.bytes += bytes;
        self.requests += 1;
    }

    /// Adds `other` into `self`.
    fn absorb(&mut self, other: &Window) {
        // Same bounds on both sides, so this cannot fail.
        let _ = self.hist.add(&other.hist);
        self.msgs += other.msgs;
        self.bytes += other.bytes;
        self.requests += other.requests;
        self.errors += other.errors;
    }

    fn reset(&mut self) {
        self.hist.reset();
        self.msgs = 0;
        self.bytes = 0;
        self.requests = 0;
        self.errors = 0;
    }

    fn is_empty(&self) -> bool {
        self.requests == 0 && self.errors == 0
    }
}

/// One load task's window, drained by the [`Collector`].
#[derive(Default)]
pub(crate) struct Recorder {
    window: Mutex<Window>,
}

impl Recorder {
    /// A successful request that carried `msgs` messages of `bytes` body bytes in all.
    pub fn ok(&self, msgs: u64, bytes: u64, latency: Duration) {
        self.window.lock().record(msgs, bytes, latency);
    }

    /// A failed request.
    pub fn error(&self) {
        self.window.lock().errors += 1;
    }
}

/// Percentiles of a histogram, in microseconds (all 0 when it is empty).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Latencies {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latencies {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: round2(h.mean()),
        }
    }
}

/// `count / secs`, 0 for an empty span.
pub(crate) fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// Body megabytes (10^6 bytes) per second.
pub(crate) fn mb_per_sec(bytes: u64, secs: f64) -> f64 {
    rate(bytes, secs) / MB
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// MB/s to the byte per second.
fn round6(v: f64) -> f64 {
    (v * 1_000_000.0).round() / 1_000_000.0
}

/// One interval's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalReport {
    /// Always `"interval"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Seconds since the start of the run, at the end of the interval.
    pub elapsed_secs: f64,
    /// Length of the interval in seconds.
    pub interval_secs: f64,
    pub msgs: u64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub errors: u64,
}

impl IntervalReport {
    pub(crate) fn new(elapsed: Duration, span: Duration, w: &Window) -> Self {
        let secs = span.as_secs_f64();
        let l = Latencies::of(&w.hist);
        Self {
            kind: "interval",
            elapsed_secs: round3(elapsed.as_secs_f64()),
            interval_secs: round3(secs),
            msgs: w.msgs,
            msgs_per_sec: round2(rate(w.msgs, secs)),
            mb_per_sec: round6(mb_per_sec(w.bytes, secs)),
            p50_us: l.p50,
            p99_us: l.p99,
            p999_us: l.p999,
            errors: w.errors,
        }
    }

    /// The human-readable line.
    pub fn text(&self) -> String {
        format!(
            "[{:>8.1}s] {:>12.0} msg/s {:>9.2} MB/s | latency us p50 {:>7} p99 {:>7} p999 {:>7} | errors {}",
            self.elapsed_secs, self.msgs_per_sec, self.mb_per_sec, self.p50_us, self.p99_us, self.p999_us, self.errors
        )
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Always `"summary"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `"produce"` or `"consume"`.
    pub mode: &'static str,
    pub topic: String,
    /// Messages sent (acknowledged) or pulled.
    pub msgs: u64,
    /// Their body bytes.
    pub bytes: u64,
    /// Successful requests (a batch send or a pull returning messages counts once).
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    pub duration_secs: f64,
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    /// Request latency percentiles over the whole run, in microseconds.
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    /// The options of the run.
    pub params: serde_json::Value,
}

impl Summary {
    pub(crate) fn new(
        mode: &'static str,
        topic: &str,
        duration: Duration,
        w: &Window,
        params: serde_json::Value,
    ) -> Self {
        let secs = duration.as_secs_f64();
        let l = Latencies::of(&w.hist);
        Self {
            kind: "summary",
            mode,
            topic: topic.to_string(),
            msgs: w.msgs,
            bytes: w.bytes,
            requests: w.requests,
            errors: w.errors,
            duration_secs: round3(secs),
            msgs_per_sec: round2(rate(w.msgs, secs)),
            mb_per_sec: round6(mb_per_sec(w.bytes, secs)),
            p50_us: l.p50,
            p90_us: l.p90,
            p99_us: l.p99,
            p999_us: l.p999,
            max_us: l.max,
            mean_us: l.mean,
            params,
        }
    }

    /// The human-readable summary (several lines, ending with a newline).
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "--- {} summary, topic {} ---", self.mode, self.topic);
        let _ = writeln!(
            s,
            "messages    {} ({:.2} MB of bodies) in {} requests",
            self.msgs,
            self.bytes as f64 / MB,
            self.requests
        );
        let _ = writeln!(s, "duration    {:.3} s", self.duration_secs);
        let _ = writeln!(
            s,
            "throughput  {:.0} msg/s, {:.2} MB/s",
            self.msgs_per_sec, self.mb_per_sec
        );
        let _ = writeln!(
            s,
            "latency us  p50 {}  p90 {}  p99 {}  p999 {}  max {}  mean {:.1}",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us, self.mean_us
        );
        let _ = writeln!(s, "errors      {}", self.errors);
        s
    }
}

/// Drains the recorders of a run.
pub(crate) struct Collector {
    recorders: Vec<Arc<Recorder>>,
    start: Instant,
    last: Instant,
    interval: Window,
    total: Window,
}

impl Collector {
    pub fn new(recorders: Vec<Arc<Recorder>>, start: Instant) -> Self {
        Self {
            recorders,
            start,
            last: start,
            interval: Window::default(),
            total: Window::default(),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// Moves what every recorder holds into the interval window (each lock held briefly).
    fn drain(&mut self) {
        for r in &self.recorders {
            let mut w = r.window.lock();
            if !w.is_empty() {
                self.interval.absorb(&w);
                w.reset();
            }
        }
    }

    /// Ends the current interval at `now` and reports it.
    pub fn tick(&mut self, now: Instant) -> IntervalReport {
        self.drain();
        let report = IntervalReport::new(now - self.start, now - self.last, &self.interval);
        self.total.absorb(&self.interval);
        self.interval.reset();
        self.last = now;
        report
    }

    /// Drains what is left and summarises the run, which lasted `duration`.
    pub fn summary(
        &mut self,
        mode: &'static str,
        topic: &str,
        duration: Duration,
        params: serde_json::Value,
    ) -> Summary {
        self.drain();
        self.total.absorb(&self.interval);
        self.interval.reset();
        Summary::new(mode, topic, duration, &self.total, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(v: u64) -> Duration {
        Duration::from_micros(v)
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut w = Window::default();
        for v in 1..=1000 {
            w.record(1, 100, us(v));
        }
        let l = Latencies::of(&w.hist);
        assert_eq!(l.p50, 500);
        assert_eq!(l.p90, 900);
        assert_eq!(l.p99, 990);
        assert_eq!(l.p999, 999);
        assert_eq!(l.max, 1000);
        assert!((l.mean - 500.5).abs() < 0.6, "mean {}", l.mean);
    }

    #[test]
    fn percentiles_see_the_tail() {
        let mut h = new_histogram();
        h.record_n(100, 9_980).unwrap();
        h.record_n(50_000, 20).unwrap();
        let l = Latencies::of(&h);
        assert_eq!((l.p50, l.p90, l.p99), (100, 100, 100));
        // 3 significant digits: the recorded value comes back within 0.1 %.
        assert!((49_950..=50_050).contains(&l.p999), "p999 {}", l.p999);
        assert!((49_950..=50_050).contains(&l.max), "max {}", l.max);
    }

    #[test]
    fn empty_and_saturated_histograms() {
        assert_eq!(Latencies::of(&new_histogram()), Latencies::default());
        let mut w = Window::default();
        w.record(1, 1, Duration::from_secs(3600));
        let max = Latencies::of(&w.hist).max;
        assert!(
            (MAX_LATENCY_US..=MAX_LATENCY_US + MAX_LATENCY_US / 500).contains(&max),
            "max {max}"
        );
    }

    #[test]
    fn rates() {
        assert_eq!(rate(1000, 2.0), 500.0);
        assert_eq!(rate(5, 0.0), 0.0);
        assert_eq!(mb_per_sec(10_000_000, 4.0), 2.5);
        assert_eq!(mb_per_sec(0, 1.0), 0.0);
    }

    #[test]
    fn intervals_and_summary_from_recorders() {
        let a = Arc::new(Recorder::default());
        let b = Arc::new(Recorder::default());
        let start = Instant::now();
        let mut c = Collector::new(vec![a.clone(), b.clone()], start);

        // First interval, 2 s: a batch of 10 messages and 3 single ones, one error.
        a.ok(10, 10 * 1000, us(400));
        b.ok(1, 1000, us(100));
        b.ok(1, 1000, us(200));
        b.ok(1, 1000, us(300));
        b.error();
        let r = c.tick(start + Duration::from_secs(2));
        assert_eq!(r.kind, "interval");
        assert_eq!((r.elapsed_secs, r.interval_secs), (2.0, 2.0));
        assert_eq!(r.msgs, 13);
        assert_eq!(r.msgs_per_sec, 6.5);
        assert_eq!(r.mb_per_sec, 0.0065); // 13 000 B / 2 s
        assert_eq!((r.p50_us, r.p99_us, r.p999_us), (200, 400, 400));
        assert_eq!(r.errors, 1);

        // Second interval, 0.5 s: nothing but an error; its latencies are empty.
        a.error();
        let r = c.tick(start + Duration::from_millis(2500));
        assert_eq!(
            (r.elapsed_secs, r.interval_secs, r.msgs, r.errors),
            (2.5, 0.5, 0, 1)
        );
        assert_eq!((r.p50_us, r.msgs_per_sec), (0, 0.0));

        // Recorded after the last tick: still in the summary.
        a.ok(2, 2000, us(1000));
        let s = c.summary(
            "produce",
            "T",
            Duration::from_secs(4),
            serde_json::json!({"size": 1000}),
        );
        assert_eq!((s.msgs, s.bytes, s.requests, s.errors), (15, 15_000, 5, 2));
        assert_eq!(s.msgs_per_sec, 3.75);
        assert_eq!(s.mb_per_sec, 0.00375); // 15 000 B / 4 s
        assert_eq!(
            (s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us),
            (300, 1000, 1000, 1000, 1000)
        );
        assert_eq!(s.mean_us, 400.0);
        assert_eq!(s.duration_secs, 4.0);
    }

    #[test]
    fn json_shapes() {
        let mut w = Window::default();
        w.record(4, 4096, us(250));
        let r = IntervalReport::new(Duration::from_secs(3), Duration::from_secs(1), &w);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["type"], "interval");
        assert_eq!(v["msgs_per_sec"], 4.0);
        assert_eq!(v["p50_us"], 250);
        for key in [
            "elapsed_secs",
            "interval_secs",
            "msgs",
            "mb_per_sec",
            "p99_us",
            "p999_us",
            "errors",
        ] {
            assert!(v.get(key).is_some(), "interval lacks {key}");
        }
        let s = Summary::new(
            "consume",
            "T",
            Duration::from_secs(2),
            &w,
            serde_json::json!({"batch": 32}),
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["type"], "summary");
        assert_eq!(v["mode"], "consume");
        assert_eq!(v["msgs_per_sec"], 2.0);
        assert_eq!(v["params"]["batch"], 32);
        for key in [
            "topic",
            "msgs",
            "bytes",
            "requests",
            "errors",
            "duration_secs",
            "mb_per_sec",
            "p50_us",
            "p90_us",
            "p99_us",
            "p999_us",
            "max_us",
            "mean_us",
        ] {
            assert!(v.get(key).is_some(), "summary lacks {key}");
        }
    }

    #[test]
    fn text_lines_carry_the_numbers() {
        let mut w = Window::default();
        w.record(1000, 1_000_000, us(812));
        w.errors = 3;
        let line = IntervalReport::new(Duration::from_secs(5), Duration::from_secs(1), &w).text();
        assert!(line.contains("1000 msg/s"), "{line}");
        assert!(line.contains("1.00 MB/s"), "{line}");
        assert!(line.contains("p50     812"), "{line}");
        assert!(line.ends_with("errors 3"), "{line}");
        let text = Summary::new(
            "produce",
            "BenchTopic",
            Duration::from_secs(1),
            &w,
            serde_json::Value::Null,
        )
        .text();
        assert!(text.contains("produce summary, topic BenchTopic"), "{text}");
        assert!(text.contains("throughput  1000 msg/s, 1.00 MB/s"), "{text}");
        assert!(text.contains("errors      3"), "{text}");
    }
}
