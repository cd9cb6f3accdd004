//! What both benchmarks share: stopping, message budgets, error logging, output, and the loop
//! that reports every interval while the load tasks run.

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tracing::warn;

use crate::stats::{Collector, IntervalReport, Summary};

/// Tells the load tasks to stop.
#[derive(Default)]
pub(crate) struct Stop {
    flag: AtomicBool,
    notify: Notify,
}

impl Stop {
    pub fn set(&self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Resolves once [`Stop::set`] has been called.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The `--count` limit, shared by the tasks; unlimited without one.
pub(crate) struct Budget {
    remaining: Option<AtomicU64>,
}

impl Budget {
    pub fn new(count: Option<u64>) -> Self {
        Self {
            remaining: count.map(AtomicU64::new),
        }
    }

    /// Takes up to `want` messages from the budget; returns how many were granted (0 once it
    /// is spent).
    pub fn claim(&self, want: u64) -> u64 {
        let Some(r) = &self.remaining else {
            return want;
        };
        match r.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
            (left > 0).then(|| left - left.min(want))
        }) {
            Ok(left) => left.min(want),
            Err(_) => 0,
        }
    }

    pub fn exhausted(&self) -> bool {
        self.remaining
            .as_ref()
            .is_some_and(|r| r.load(Ordering::Acquire) == 0)
    }
}

/// Logs the first few failures of a run, then stays quiet (they are still counted).
#[derive(Default)]
pub(crate) struct ErrorLog {
    seen: AtomicU32,
}

const LOGGED_ERRORS: u32 = 10;

impl ErrorLog {
    pub fn report(&self, what: impl Display) {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        if n < LOGGED_ERRORS {
            warn!("{what}");
        } else if n == LOGGED_ERRORS {
            warn!("{what} (further errors are counted but not logged)");
        }
    }
}

/// Where lines go: text on stdout, or JSON (intervals on stderr, the summary on stdout).
#[derive(Clone, Copy)]
pub(crate) struct Output {
    pub json: bool,
    /// Print nothing (the tests).
    pub quiet: bool,
}

impl Output {
    /// A line for people, before the run: on stderr so stdout stays machine-readable.
    pub fn note(&self, text: &str) {
        if self.quiet {
            return;
        }
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    pub fn interval(&self, r: &IntervalReport) {
        if self.quiet {
            return;
        }
        if self.json {
            let line = serde_json::to_string(r).unwrap_or_default();
            let _ = writeln!(io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(io::stdout().lock(), "{}", r.text());
        }
    }

    /// # Errors
    /// Writing to stdout failed (a closed pipe is not an error).
    pub fn summary(&self, s: &Summary) -> io::Result<()> {
        let text = if self.json {
            serde_json::to_string(s).map_err(io::Error::other)? + "\n"
        } else {
            s.text()
        };
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        }
    }
}

/// Runs the load tasks to their end: reports every `every`, stops them after `limit` or on
/// Ctrl-C, and aborts those still busy `grace` after the stop. Returns the measured duration:
/// from the collector's start to the stop, or to the end of the last task if that came first.
pub(crate) async fn drive(
    mut tasks: JoinSet<()>,
    collector: &mut Collector,
    stop: &Stop,
    limit: Option<Duration>,
    every: Duration,
    grace: Duration,
    out: Output,
) -> Duration {
    let start = collector.start();
    let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::from_std(start + every), every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = limit.map_or(far, |d| tokio::time::Instant::from_std(start + d));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut ctrl_c_armed = true;
    let mut stopped_at: Option<Instant> = None;
    let mut aborted = false;
    loop {
        let abort_at = stopped_at.map_or(far, |t| tokio::time::Instant::from_std(t + grace));
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Err(e)) if e.is_panic() => warn!("a load task panicked: {e}"),
                Some(_) => {}
            },
            _ = ticker.tick() => out.interval(&collector.tick(Instant::now())),
            () = tokio::time::sleep_until(deadline), if stopped_at.is_none() => {
                stop.set();
                stopped_at = Some(Instant::now());
            }
            r = &mut ctrl_c, if ctrl_c_armed => {
                ctrl_c_armed = false;
                if r.is_ok() {
                    out.note("interrupted; finishing the requests in flight");
                    stop.set();
                    stopped_at.get_or_insert_with(Instant::now);
                }
            }
            () = tokio::time::sleep_until(abort_at), if stopped_at.is_some() && !aborted => {
                aborted = true;
                warn!("{} load tasks still busy {grace:?} after the stop; aborting them", tasks.len());
                tasks.abort_all();
            }
        }
    }
    let end = Instant::now();
    stopped_at.map_or(end, |s| s.min(end)) - start
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn budget_hands_out_exactly_the_count() {
        let b = Budget::new(Some(10));
        assert_eq!(b.claim(4), 4);
        assert_eq!(b.claim(4), 4);
        assert!(!b.exhausted());
        assert_eq!(b.claim(4), 2);
        assert!(b.exhausted());
        assert_eq!(b.claim(4), 0);
        let unlimited = Budget::new(None);
        assert_eq!(unlimited.claim(7), 7);
        assert!(!unlimited.exhausted());
    }

    #[tokio::test]
    async fn stop_wakes_waiters_set_before_or_after() {
        let stop = Arc::new(Stop::default());
        let s = stop.clone();
        let waiter = tokio::spawn(async move { s.wait().await });
        tokio::task::yield_now().await;
        stop.set();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        // Already set: returns at once.
        tokio::time::timeout(Duration::from_secs(5), stop.wait())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn drive_stops_tasks_at_the_limit_and_measures_until_then() {
        let stop = Arc::new(Stop::default());
        let rec = Arc::new(crate::stats::Recorder::default());
        let mut tasks = JoinSet::new();
        let (s, r) = (stop.clone(), rec.clone());
        tasks.spawn(async move {
            while !s.is_set() {
                tokio::time::sleep(Duration::from_millis(5)).await;
                r.ok(1, 10, Duration::from_millis(5));
            }
        });
        let mut c = Collector::new(vec![rec], Instant::now());
        let d = drive(
            tasks,
            &mut c,
            &stop,
            Some(Duration::from_millis(200)),
            Duration::from_millis(50),
            Duration::from_secs(5),
            Output {
                json: true,
                quiet: true,
            },
        )
        .await;
        assert!(
            d >= Duration::from_millis(200) && d < Duration::from_secs(2),
            "{d:?}"
        );
        let s = c.summary("produce", "T", d, serde_json::Value::Null);
        assert!(
            s.msgs > 0 && s.msgs == s.requests && s.bytes == 10 * s.msgs,
            "{s:?}"
        );
    }

    #[tokio::test]
    async fn drive_aborts_tasks_that_ignore_the_stop() {
        let stop = Stop::default();
        let mut tasks = JoinSet::new();
        tasks.spawn(async { tokio::time::sleep(Duration::from_secs(60)).await });
        let mut c = Collector::new(Vec::new(), Instant::now());
        let t0 = Instant::now();
        drive(
            tasks,
            &mut c,
            &stop,
            Some(Duration::from_millis(50)),
            Duration::from_secs(1),
            Duration::from_millis(50),
            Output {
                json: true,
                quiet: true,
            },
        )
        .await;
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}
