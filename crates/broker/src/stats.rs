//! Counters reported by GET_BROKER_RUNTIME_INFO, and the sampler behind its rates
//! (`putTps`, `getTransferedTps`): once a second the housekeeping loop records the totals, and
//! a rate over a window is the growth of a total since the sample at the window's start,
//! divided by the time actually elapsed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferromq_protocol::body::DataVersion;
use parking_lot::Mutex;

/// How often [`Stats::sample`] is called (by `housekeeping`).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The windows of the reported rates, as upstream: the last 10 s, 60 s and 600 s.
pub const RATE_WINDOWS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(600),
];
/// Samples kept: one a second for the longest window, plus the one at its start.
const MAX_SAMPLES: usize = 601;
/// A rate is never taken over less than this, so that a broker a few milliseconds old does not
/// report one message as thousands per second.
const MIN_SPAN: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Stats {
    pub msg_put_total: AtomicU64,
    pub msg_get_total: AtomicU64,
    pub put_bytes_total: AtomicU64,
    /// Version of the broker's settings, bumped by each runtime change (UPDATE_BROKER_CONFIG);
    /// GET_BROKER_CONFIG answers it as `version`. A timestamp of 0 means "since boot".
    pub config_version: Mutex<DataVersion>,
    samples: Mutex<VecDeque<Sample>>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    put: u64,
    get: u64,
}

/// Messages per second stored (`put`) and returned to pulls (`get`), over each of
/// [`RATE_WINDOWS`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub put: [f64; 3],
    pub get: [f64; 3],
}

impl Stats {
    pub fn add_put(&self, msgs: u64, bytes: u64) {
        self.msg_put_total.fetch_add(msgs, Ordering::Relaxed);
        self.put_bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_get(&self, msgs: u64) {
        self.msg_get_total.fetch_add(msgs, Ordering::Relaxed);
    }

    /// Records the totals as of `now`, dropping the oldest sample past `MAX_SAMPLES`.
    pub fn sample(&self, now: Instant) {
        let s = Sample {
            at: now,
            put: self.msg_put_total.load(Ordering::Relaxed),
            get: self.msg_get_total.load(Ordering::Relaxed),
        };
        let mut samples = self.samples.lock();
        samples.push_back(s);
        while samples.len() > MAX_SAMPLES {
            samples.pop_front();
        }
    }

    /// The rates as of `now`, from the current totals and the samples. Over a window longer
    /// than the broker has been sampling, the rate is taken since the first sample; with no
    /// sample yet, it is 0.
    pub fn rates(&self, now: Instant) -> Rates {
        let put = self.msg_put_total.load(Ordering::Relaxed);
        let get = self.msg_get_total.load(Ordering::Relaxed);
        let samples = self.samples.lock();
        let mut rates = Rates::default();
        for (i, window) in RATE_WINDOWS.iter().enumerate() {
            let Some(base) = baseline(&samples, now, *window) else {
                continue;
            };
            let span = now.saturating_duration_since(base.at).max(MIN_SPAN);
            let secs = span.as_secs_f64();
            rates.put[i] = put.saturating_sub(base.put) as f64 / secs;
            rates.get[i] = get.saturating_sub(base.get) as f64 / secs;
        }
        rates
    }

    /// How many samples are kept (bounded by `MAX_SAMPLES`).
    pub fn sample_count(&self) -> usize {
        self.samples.lock().len()
    }
}

/// The newest sample taken at or before the window's start, else the oldest one.
fn baseline(samples: &VecDeque<Sample>, now: Instant, window: Duration) -> Option<Sample> {
    let start = now.checked_sub(window);
    let before = start.and_then(|start| samples.iter().rev().find(|s| s.at <= start));
    before.or_else(|| samples.front()).copied()
}

/// Three rates as upstream writes them: `"a.aa b.bb c.cc"`.
pub fn format_rates(r: &[f64; 3]) -> String {
    format!("{:.2} {:.2} {:.2}", r[0], r[1], r[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_windows() {
        let s = Stats::default();
        let t0 = Instant::now();
        assert_eq!(s.rates(t0), Rates::default(), "no sample, no rate");
        // 100 messages a second for 20 s, then nothing for 5 s.
        for sec in 0..=20u64 {
            s.sample(t0 + Duration::from_secs(sec));
            s.add_put(100, 100);
            s.add_get(50);
        }
        for sec in 21..=25u64 {
            s.sample(t0 + Duration::from_secs(sec));
        }
        let r = s.rates(t0 + Duration::from_secs(25));
        // Last 10 s (15..25): 6 puts of 100 (at seconds 15..=20) = 60/s.
        assert!((r.put[0] - 60.0).abs() < 1e-9, "{r:?}");
        assert!((r.get[0] - 30.0).abs() < 1e-9, "{r:?}");
        // Longer windows than the history: since the first sample, 2100 over 25 s.
        assert!((r.put[1] - 84.0).abs() < 1e-9, "{r:?}");
        assert!((r.put[2] - 84.0).abs() < 1e-9, "{r:?}");
        assert_eq!(format_rates(&r.put), "60.00 84.00 84.00");
    }

    #[test]
    fn samples_are_bounded_and_young_brokers_are_not_inflated() {
        let s = Stats::default();
        let t0 = Instant::now();
        s.sample(t0);
        s.add_put(5, 5);
        // 5 messages 10 ms after boot: 5/s, not 500/s.
        let r = s.rates(t0 + Duration::from_millis(10));
        assert!((r.put[0] - 5.0).abs() < 1e-9, "{r:?}");
        for sec in 1..2000u64 {
            s.sample(t0 + Duration::from_secs(sec));
        }
        assert_eq!(s.sample_count(), MAX_SAMPLES);
    }
}
