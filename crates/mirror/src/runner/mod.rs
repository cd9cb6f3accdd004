//! The running mirror: its state, how it is opened, started and stopped, and the status
//! document. The three background tasks live in the submodules: [`discovery`] (topics, groups,
//! one copier per queue), [`offset_sync`] (group offsets) and [`housekeeping`] (state file,
//! status file, metrics, failover requests).

mod discovery;
mod housekeeping;
mod offset_sync;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::args::RunConfig;
use crate::error::UsageError;
use crate::map::{MapError, QueueMap};
use crate::metrics::Metrics;
use crate::remote::Remote;
use crate::report::{GroupStatus, Status, TopicStatus, FAILOVER_REPORT, FAILOVER_REQUEST};
use crate::state::{GroupQueueKey, MirrorState, QueueKey, StateDir};
use crate::MirrorError;

/// What the mirror knows but does not persist.
#[derive(Default)]
struct Runtime {
    source_brokers: BTreeMap<String, String>,
    target_brokers: BTreeMap<String, String>,
    source_max: HashMap<QueueKey, i64>,
    running: HashSet<QueueKey>,
    topic_errors: BTreeMap<String, String>,
    errors: BTreeMap<&'static str, String>,
    groups_copied: HashMap<(String, String), serde_json::Value>,
    /// Source offset and when the change was first seen (the poll before it, to be safe).
    pending: HashMap<GroupQueueKey, (i64, Instant)>,
    groups: BTreeMap<String, GroupStatus>,
    /// During failover: copy each queue up to here, then stop.
    drain_to: Option<HashMap<QueueKey, i64>>,
}

/// One running mirror.
pub struct Mirror {
    pub(crate) cfg: RunConfig,
    pub(crate) source: Remote,
    pub(crate) target: Remote,
    pub(crate) stop: CancellationToken,
    pub(crate) metrics: Metrics,
    state: Mutex<MirrorState>,
    rt: Mutex<Runtime>,
    dir: StateDir,
    started: Instant,
    /// Where the HTTP endpoint listens, once bound.
    pub(crate) http_addr: std::sync::OnceLock<std::net::SocketAddr>,
}

impl Mirror {
    /// Opens the state dir (refusing a corrupt or foreign one) and prepares the clients.
    ///
    /// # Errors
    /// [`MirrorError::State`] for a locked or corrupt state dir, [`MirrorError::Usage`]
    /// ([`UsageError::ForeignStateDir`]) for a state dir that belongs to other clusters.
    pub fn open(cfg: RunConfig) -> Result<Arc<Self>, MirrorError> {
        let (dir, loaded) = StateDir::open(&cfg.state_dir)?;
        let state = match loaded {
            Some(s)
                if s.source_namesrv != cfg.source_namesrv
                    || s.target_namesrv != cfg.target_namesrv =>
            {
                return Err(UsageError::ForeignStateDir {
                    dir: cfg.state_dir.clone(),
                    found_source: s.source_namesrv,
                    found_target: s.target_namesrv,
                    wanted_source: cfg.source_namesrv.clone(),
                    wanted_target: cfg.target_namesrv.clone(),
                }
                .into())
            }
            Some(mut s) => {
                s.failed_over_at = None;
                s
            }
            None => MirrorState {
                source_namesrv: cfg.source_namesrv.clone(),
                target_namesrv: cfg.target_namesrv.clone(),
                ..MirrorState::default()
            },
        };
        let _ = std::fs::remove_file(dir.path().join(FAILOVER_REQUEST));
        let _ = std::fs::remove_file(dir.path().join(FAILOVER_REPORT));
        Ok(Arc::new(Self {
            source: Remote::new(&cfg.source_namesrv, cfg.timeout, cfg.source.clone()),
            target: Remote::new(&cfg.target_namesrv, cfg.timeout, cfg.target.clone()),
            cfg,
            stop: CancellationToken::new(),
            metrics: Metrics::new(),
            state: Mutex::new(state),
            rt: Mutex::new(Runtime::default()),
            dir,
            started: Instant::now(),
            http_addr: std::sync::OnceLock::new(),
        }))
    }

    /// Runs until the mirror's stop token is cancelled (SIGINT/SIGTERM or a failover), then saves.
    ///
    /// # Errors
    /// Saving the state failed at the end.
    pub async fn run(self: Arc<Self>) -> Result<(), MirrorError> {
        tracing::info!(source = %self.cfg.source_namesrv, target = %self.cfg.target_namesrv,
            "mirror started");
        let tasks = [
            tokio::spawn(self.clone().discovery_loop()),
            tokio::spawn(self.clone().sync_loop()),
            tokio::spawn(self.clone().housekeeping_loop()),
        ];
        self.stop.cancelled().await;
        for t in tasks {
            let _ = t.await;
        }
        self.save()?;
        tracing::info!("mirror stopped; state saved");
        Ok(())
    }

    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    // ---- state used by the copiers ----

    pub(crate) fn map_of(&self, key: &QueueKey) -> Option<QueueMap> {
        self.state.lock().queues.get(key).map(|q| q.map.clone())
    }

    pub(crate) fn set_map(&self, key: &QueueKey, map: QueueMap) {
        if let Some(q) = self.state.lock().queues.get_mut(key) {
            q.map = map;
        }
    }

    pub(crate) fn update_map(
        &self,
        key: &QueueKey,
        f: impl FnOnce(&mut QueueMap) -> Result<(), MapError>,
    ) -> Result<(), MapError> {
        match self.state.lock().queues.get_mut(key) {
            Some(q) => f(&mut q.map),
            None => Ok(()),
        }
    }

    /// Records that source offset `src` is a copy of target offset `tgt` (ignored if it would
    /// break the order of earlier aliases).
    pub(crate) fn add_alias(&self, key: &QueueKey, src: i64, tgt: i64) {
        if let Some(q) = self.state.lock().queues.get_mut(key) {
            if q.aliases.src_next().is_none() || q.aliases.tgt_next().is_none() {
                q.aliases = QueueMap::starting_at(src, tgt);
            }
            let _ = q.aliases.record_run(src, tgt, 1);
        }
    }

    pub(crate) fn queue_error(&self, key: &QueueKey, error: Option<String>) {
        let mut s = self.state.lock();
        if let Some(q) = s.queues.get_mut(key) {
            if q.error != error {
                if let Some(e) = &error {
                    tracing::warn!(topic = %key.topic, broker = %key.broker,
                        queue = key.queue_id, "{e}");
                }
                q.error = error;
            }
        }
    }

    pub(crate) fn set_source_max(&self, key: &QueueKey, max: i64) {
        self.rt.lock().source_max.insert(key.clone(), max);
    }

    /// During a failover: whether this queue reached the point to stop at.
    pub(crate) fn drained(&self, key: &QueueKey) -> bool {
        let rt = self.rt.lock();
        let Some(to) = rt.drain_to.as_ref().and_then(|d| d.get(key).copied()) else {
            return false;
        };
        drop(rt);
        self.map_of(key)
            .and_then(|m| m.src_next())
            .is_none_or(|n| n >= to)
    }

    /// The status document (`status.json`, `/status`).
    pub fn status(&self, phase: &str) -> Status {
        let state = self.state.lock();
        let rt = self.rt.lock();
        let mut topics: BTreeMap<String, TopicStatus> = BTreeMap::new();
        for (k, q) in &state.queues {
            let t = topics
                .entry(k.topic.clone())
                .or_insert_with(|| TopicStatus::new(&k.topic));
            t.queues += 1;
            let next = q.map.src_next().unwrap_or(0);
            if let Some(max) = rt.source_max.get(k) {
                t.message_lag += (max - next).max(0);
            }
            t.mirrored_to += next;
            if let (Some(e), None) = (&q.error, &t.error) {
                t.error = Some(format!("{}:{}: {e}", k.broker, k.queue_id));
            }
        }
        for (t, e) in &rt.topic_errors {
            topics
                .entry(t.clone())
                .or_insert_with(|| TopicStatus::new(t))
                .error = Some(e.clone());
        }
        for t in topics.values() {
            self.metrics.set_message_lag(&t.topic, t.message_lag);
        }
        let now = Instant::now();
        let mut groups: BTreeMap<String, GroupStatus> = rt.groups.clone();
        for k in state.applied.keys() {
            groups
                .entry(k.group.clone())
                .or_insert_with(|| GroupStatus::new(&k.group))
                .queues += 1;
        }
        let mut held = 0;
        for (k, (_, seen)) in &rt.pending {
            let g = groups
                .entry(k.group.clone())
                .or_insert_with(|| GroupStatus::new(&k.group));
            g.pending += 1;
            g.offset_sync_lag_ms = g.offset_sync_lag_ms.max((now - *seen).as_millis() as i64);
            if state.applied.contains_key(k) {
                held += 1;
            }
        }
        self.metrics.set_held(held);
        Status {
            updated_at: crate::now_ms(),
            pid: std::process::id(),
            phase: phase.to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            source_namesrv: self.cfg.source_namesrv.clone(),
            target_namesrv: self.cfg.target_namesrv.clone(),
            metrics_addr: self.http_addr.get().map(|a| a.to_string()),
            topics: topics.into_values().collect(),
            groups: groups.into_values().collect(),
            errors: rt.errors.values().cloned().collect(),
            metrics: self.metrics.snapshot(),
        }
    }
}

/// The failures of one pass over several brokers (each broker is tried even when another
/// fails), shown joined by `"; "`.
#[derive(Debug)]
pub(crate) struct Problems<E>(pub(crate) Vec<E>);

impl<E> Problems<E> {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn push(&mut self, e: E) {
        self.0.push(e);
    }

    /// `Ok` when nothing failed.
    pub(crate) fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl<E: fmt::Display> fmt::Display for Problems<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<E: std::error::Error> std::error::Error for Problems<E> {}
