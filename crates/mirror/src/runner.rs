//! The running mirror: discovery of topics and groups, one copier per queue, the offset sync,
//! and the once-a-second housekeeping (state file, status file, metrics, failover requests).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::names::{AUTO_CREATE_TOPIC, DLQ_PREFIX, RETRY_PREFIX, SCHEDULE_TOPIC};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::args::RunConfig;
use crate::map::{Kind, MapError, QueueMap};
use crate::metrics::Metrics;
use crate::remote::{Remote, SyncEntry};
use crate::report::{
    self, FailoverReport, GroupStatus, Status, TopicStatus, FAILOVER_REPORT, FAILOVER_REQUEST,
    STATUS_FILE,
};
use crate::state::{Applied, GroupQueueKey, MirrorState, QueueKey, QueueState, StateDir};
use crate::{copier, MirrorError};

/// Topics that belong to the cluster itself, never mirrored.
const SYSTEM_TOPICS: [&str; 5] = [
    AUTO_CREATE_TOPIC,
    SCHEDULE_TOPIC,
    "OFFSET_MOVED_EVENT",
    "SELF_TEST_TOPIC",
    "BenchmarkTest",
];
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

/// How often every translated offset is written again, changed or not.
const FULL_RESYNC_EVERY: Duration = Duration::from_secs(60);

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
    /// [`MirrorError::State`] for a locked or corrupt state dir, [`MirrorError::Usage`] for a
    /// state dir that belongs to other clusters.
    pub fn open(cfg: RunConfig) -> Result<Arc<Self>, MirrorError> {
        let (dir, loaded) = StateDir::open(&cfg.state_dir)?;
        let state = match loaded {
            Some(s)
                if s.source_namesrv != cfg.source_namesrv
                    || s.target_namesrv != cfg.target_namesrv =>
            {
                return Err(MirrorError::Usage(format!(
                    "state dir {} belongs to a mirror from {} to {}, not from {} to {}: use \
                     another --state-dir",
                    cfg.state_dir.display(),
                    s.source_namesrv,
                    s.target_namesrv,
                    cfg.source_namesrv,
                    cfg.target_namesrv
                )))
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
            source: Remote::new(&cfg.source_namesrv, cfg.timeout),
            target: Remote::new(&cfg.target_namesrv, cfg.timeout),
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

    // ---- discovery ----

    fn wanted_topic(&self, topic: &str, source_brokers: &BTreeMap<String, String>) -> bool {
        if let Some(g) = topic
            .strip_prefix(RETRY_PREFIX)
            .or_else(|| topic.strip_prefix(DLQ_PREFIX))
        {
            return self.wanted_group(g);
        }
        !(SYSTEM_TOPICS.contains(&topic)
            || topic.starts_with("rmq_sys_")
            || topic.starts_with("RMQ_SYS_")
            || source_brokers.contains_key(topic))
            && self.cfg.topics.is_match(topic)
    }

    pub(crate) fn wanted_group(&self, group: &str) -> bool {
        group != self.cfg.pull_group
            && !SYSTEM_GROUP_PREFIXES.iter().any(|p| group.starts_with(p))
            && self.cfg.groups.is_match(group)
    }

    async fn discovery_loop(self: Arc<Self>) {
        loop {
            match self.discover().await {
                Ok(()) => {
                    self.rt.lock().errors.remove("discovery");
                }
                Err(e) => {
                    tracing::warn!("discovery: {e}");
                    self.metrics.add_error("discovery");
                    self.rt.lock().errors.insert("discovery", e);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.discovery_interval) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    async fn discover(self: &Arc<Self>) -> Result<(), String> {
        let sources = self
            .source
            .brokers()
            .await
            .map_err(|e| format!("source name server: {e}"))?;
        let targets = self
            .target
            .brokers()
            .await
            .map_err(|e| format!("target name server: {e}"))?;
        {
            let mut rt = self.rt.lock();
            rt.source_brokers = sources.clone();
            rt.target_brokers = targets.clone();
        }
        let mut problems = Vec::new();
        for (name, src_addr) in &sources {
            let Some(tgt_addr) = targets.get(name) else {
                problems.push(format!(
                    "the target has no broker named {name}: queues are mirrored broker by \
                     broker, so name the target's brokers like the source's"
                ));
                continue;
            };
            if let Err(e) = self
                .discover_broker(name, src_addr, tgt_addr, &sources)
                .await
            {
                problems.push(format!("broker {name}: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    async fn discover_broker(
        self: &Arc<Self>,
        name: &str,
        src_addr: &str,
        tgt_addr: &str,
        sources: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let src_topics = self
            .source
            .topic_configs(src_addr)
            .await
            .map_err(|e| format!("source topics: {e}"))?;
        let src_groups = self
            .source
            .group_configs(src_addr)
            .await
            .map_err(|e| format!("source groups: {e}"))?;
        let tgt_topics = self
            .target
            .topic_configs(tgt_addr)
            .await
            .map_err(|e| format!("target topics: {e}"))?;
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
                .map_err(|e| format!("creating group {group} on the target: {e}"))?;
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
                        .map_err(|e| format!("creating topic {topic} on the target: {e}"))?;
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

    // ---- offsets ----

    async fn sync_loop(self: Arc<Self>) {
        let mut last_poll = Instant::now();
        let mut last_full = Instant::now();
        loop {
            let polled = Instant::now();
            // Now and then (and after any failure) forget what was written, so every offset is
            // written again: a target that restarted or was restored gets them back.
            if last_full.elapsed() >= FULL_RESYNC_EVERY {
                last_full = Instant::now();
                self.state.lock().applied.clear();
            }
            if let Err(e) = self.sync_once(last_poll).await {
                last_full = Instant::now() - FULL_RESYNC_EVERY;
                self.metrics.add_error("offsets");
                let mut rt = self.rt.lock();
                if rt.errors.get("offsets") != Some(&e) {
                    tracing::warn!("offset sync: {e}");
                }
                rt.errors.insert("offsets", e);
            } else {
                self.rt.lock().errors.remove("offsets");
            }
            last_poll = polled;
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.offset_interval) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Reads every source broker's offsets, translates those that changed since they were
    /// last written, and writes them per target broker. `since`: the previous poll (a change
    /// seen now happened after it).
    pub(crate) async fn sync_once(&self, since: Instant) -> Result<(), String> {
        let sources = self.rt.lock().source_brokers.clone();
        let mut batches: BTreeMap<String, Vec<(GroupQueueKey, i64, i64, Kind)>> = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, addr) in &sources {
            let offsets = match self.source.all_offsets(addr).await {
                Ok(o) => o,
                Err(e) => {
                    problems.push(format!("source broker {name}: {e}"));
                    continue;
                }
            };
            let state = self.state.lock();
            let mut rt = self.rt.lock();
            for (group, topic, queue_id, off) in offsets {
                if !self.wanted_group(&group) {
                    continue;
                }
                let key = GroupQueueKey {
                    group,
                    queue: QueueKey {
                        topic,
                        broker: name.clone(),
                        queue_id,
                    },
                };
                let Some(q) = state.queues.get(&key.queue) else {
                    continue;
                };
                let Some(tr) = q.translate(off) else {
                    continue;
                };
                if state.applied.get(&key)
                    == Some(&Applied {
                        src: off,
                        tgt: tr.tgt,
                    })
                {
                    rt.pending.remove(&key);
                    continue;
                }
                match rt.pending.get(&key) {
                    Some((o, _)) if *o == off => {}
                    _ => {
                        rt.pending.insert(key.clone(), (off, since));
                    }
                }
                batches
                    .entry(q.target_broker.clone())
                    .or_default()
                    .push((key, off, tr.tgt, tr.kind));
            }
        }
        let targets = self.rt.lock().target_brokers.clone();
        for (broker, items) in batches {
            let Some(addr) = targets.get(&broker) else {
                problems.push(format!("target broker {broker} is unknown"));
                continue;
            };
            for chunk in items.chunks(2000) {
                let entries: Vec<SyncEntry> = chunk
                    .iter()
                    .map(|(k, _, tgt, _)| SyncEntry {
                        group: k.group.clone(),
                        topic: k.queue.topic.clone(),
                        queue_id: k.queue.queue_id,
                        offset: *tgt,
                    })
                    .collect();
                match self
                    .target
                    .sync_offsets(addr, &entries, !self.cfg.force_groups)
                    .await
                {
                    Ok(res) => self.note_synced(chunk, &res),
                    Err(e) => problems.push(format!("target broker {broker}: {e}")),
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn note_synced(
        &self,
        chunk: &[(GroupQueueKey, i64, i64, Kind)],
        res: &crate::remote::SyncResult,
    ) {
        let skipped: HashSet<&str> = res
            .skipped_online_groups
            .iter()
            .map(String::as_str)
            .collect();
        let rejected: HashSet<(String, String, i64)> = res
            .rejected
            .iter()
            .filter_map(|r| {
                Some((
                    r["group"].as_str()?.to_string(),
                    r["topic"].as_str()?.to_string(),
                    r["queueId"].as_i64()?,
                ))
            })
            .collect();
        let mut state = self.state.lock();
        let mut rt = self.rt.lock();
        let now = Instant::now();
        for (key, src, tgt, kind) in chunk {
            let g = rt
                .groups
                .entry(key.group.clone())
                .or_insert_with(|| GroupStatus::new(&key.group));
            if skipped.contains(key.group.as_str()) {
                g.skipped_online = true;
                continue;
            }
            g.skipped_online = false;
            if rejected.contains(&(
                key.group.clone(),
                key.queue.topic.clone(),
                key.queue.queue_id as i64,
            )) {
                g.last_error = Some(format!(
                    "target refused the offset of {}:{}",
                    key.queue.topic, key.queue.queue_id
                ));
                continue;
            }
            state.applied.insert(
                key.clone(),
                Applied {
                    src: *src,
                    tgt: *tgt,
                },
            );
            self.metrics.add_offsets_applied(1);
            if *kind != Kind::Held {
                if let Some((_, seen)) = rt.pending.remove(key) {
                    self.metrics.record_offset_sync_lag(now - seen);
                }
            }
        }
    }

    // ---- housekeeping ----

    async fn housekeeping_loop(self: Arc<Self>) {
        let mut failing_over = false;
        let mut last_log = Instant::now();
        let bar = report::ProgressBar::on_terminal();
        loop {
            self.metrics.tick();
            let status = self.status("running");
            if let Some(bar) = &bar {
                bar.show(&status);
            }
            if let Err(e) = self.save() {
                tracing::error!("saving the mirror state: {e}");
            }
            if let Err(e) = self.dir.write_json(STATUS_FILE, &status) {
                tracing::warn!("writing {STATUS_FILE}: {e}");
            }
            if bar.is_none() && last_log.elapsed() >= Duration::from_secs(10) {
                last_log = Instant::now();
                report::log_progress(&status);
            }
            if !failing_over && self.dir.path().join(FAILOVER_REQUEST).exists() {
                failing_over = true;
                tokio::spawn(self.clone().failover());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Copies every queue up to what the source holds now (if it answers), syncs offsets once
    /// more, writes the failover report and stops the mirror.
    async fn failover(self: Arc<Self>) {
        tracing::warn!("failover requested: draining");
        let all: Vec<QueueKey> = self.state.lock().queues.keys().cloned().collect();
        let keys: Vec<(QueueKey, String)> = {
            let rt = self.rt.lock();
            all.into_iter()
                .filter_map(|k| {
                    let addr = rt.source_brokers.get(&k.broker)?.clone();
                    Some((k, addr))
                })
                .collect()
        };
        let mut drain_to = HashMap::new();
        let mut source_reachable = true;
        for (k, addr) in &keys {
            let max = if source_reachable {
                match tokio::time::timeout(
                    Duration::from_secs(2),
                    self.source.max_offset(addr, &k.topic, k.queue_id),
                )
                .await
                {
                    Ok(Ok(m)) => Some(m),
                    _ => {
                        source_reachable = false;
                        None
                    }
                }
            } else {
                None
            };
            let here = self.map_of(k).and_then(|m| m.src_next()).unwrap_or(0);
            drain_to.insert(k.clone(), max.unwrap_or(here).max(here));
        }
        if !source_reachable {
            // Whatever was copied is all there is: stop every queue where it is.
            for (k, v) in drain_to.iter_mut() {
                *v = self.map_of(k).and_then(|m| m.src_next()).unwrap_or(*v);
            }
        }
        self.rt.lock().drain_to = Some(drain_to.clone());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !keys.iter().all(|(k, _)| self.drained(k)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if source_reachable {
            let _ = self.sync_once(Instant::now()).await;
        }
        let now = crate::now_ms();
        self.state.lock().failed_over_at = Some(now);
        let status = self.status("failed-over");
        let rep = FailoverReport::new(&status, source_reachable, &self.cfg);
        if let Err(e) = self.dir.write_json(STATUS_FILE, &status) {
            tracing::warn!("writing {STATUS_FILE}: {e}");
        }
        if let Err(e) = self.save() {
            tracing::error!("saving the mirror state: {e}");
        }
        if let Err(e) = self.dir.write_json(FAILOVER_REPORT, &rep) {
            tracing::error!("writing {FAILOVER_REPORT}: {e}");
        }
        tracing::warn!("failover complete: the mirror stops");
        self.stop.cancel();
    }

    fn save(&self) -> Result<(), MirrorError> {
        let snapshot = self.state.lock().clone();
        self.dir.save(&snapshot).map_err(MirrorError::from)
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
