//! What the mirror tells operators: `status.json` (also `/status`), the failover report, and
//! the `ferromq mirror status` / `failover` commands that read them.

use std::path::Path;
use std::time::{Duration, Instant};

use ferromq_client::table::table;
use serde::{Deserialize, Serialize};

use crate::args::RunConfig;
use crate::metrics::MetricsSnapshot;
use crate::state::{StateDir, StateError};
use crate::{MirrorError, UsageError};

pub const STATUS_FILE: &str = "status.json";
pub const FAILOVER_REQUEST: &str = "failover.request";
pub const FAILOVER_REPORT: &str = "failover.json";

/// A running mirror rewrites its status every second; older than this, it is not running.
const STALE_AFTER_MS: i64 = 5_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub updated_at: i64,
    pub pid: u32,
    /// `running`, or `failed-over`.
    pub phase: String,
    pub uptime_secs: u64,
    pub source_namesrv: String,
    pub target_namesrv: String,
    pub metrics_addr: Option<String>,
    pub topics: Vec<TopicStatus>,
    pub groups: Vec<GroupStatus>,
    pub errors: Vec<String>,
    pub metrics: MetricsSnapshot,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    pub topic: String,
    pub queues: usize,
    /// Messages on the source not yet copied (from the last pull of each queue).
    pub message_lag: i64,
    /// Sum over the queues of the next source offset to copy.
    pub mirrored_to: i64,
    pub error: Option<String>,
}

impl TopicStatus {
    pub fn new(topic: &str) -> Self {
        Self {
            topic: topic.to_string(),
            queues: 0,
            message_lag: 0,
            mirrored_to: 0,
            error: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub group: String,
    /// Queues whose offset was written to the target.
    pub queues: usize,
    /// Offset changes seen on the source and not yet written exactly (held ones included).
    pub pending: usize,
    /// Age of the oldest of those, in ms (0 when in sync).
    pub offset_sync_lag_ms: i64,
    /// Left alone: consumers of this group are connected to the target.
    pub skipped_online: bool,
    pub last_error: Option<String>,
}

impl GroupStatus {
    pub fn new(group: &str) -> Self {
        Self {
            group: group.to_string(),
            queues: 0,
            pending: 0,
            offset_sync_lag_ms: 0,
            skipped_online: false,
            last_error: None,
        }
    }
}

/// Written by a mirror that stopped for a failover.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverReport {
    pub completed_at: i64,
    pub source_reachable: bool,
    pub source_namesrv: String,
    pub target_namesrv: String,
    /// Messages on the source that were not copied (known only if the source answered).
    pub unmirrored_messages: i64,
    pub topics: Vec<TopicStatus>,
    pub groups: Vec<GroupStatus>,
    pub instructions: Vec<String>,
}

impl FailoverReport {
    pub fn new(s: &Status, source_reachable: bool, cfg: &RunConfig) -> Self {
        let unmirrored: i64 = s.topics.iter().map(|t| t.message_lag).sum();
        let mut instructions = vec![format!(
            "Point producers and consumers at the target name server(s): {}",
            cfg.target_namesrv
        )];
        let skipped: Vec<&str> = s
            .groups
            .iter()
            .filter(|g| g.skipped_online)
            .map(|g| g.group.as_str())
            .collect();
        if !skipped.is_empty() {
            instructions.push(format!(
                "Groups with consumers already on the target kept their own offsets: {}",
                skipped.join(", ")
            ));
        }
        if !source_reachable {
            instructions.push(
                "The source did not answer: messages it acknowledged after the last copy are \
                 not on the target (see each topic's mirroredTo)."
                    .into(),
            );
        }
        instructions.push(format!(
            "When the source is back, mirror the other way with a new state dir: ferromq mirror \
             --source-namesrv {} --target-namesrv {} --source-label {} --target-label {} \
             --state-dir <new dir>",
            cfg.target_namesrv, cfg.source_namesrv, cfg.target_label, cfg.source_label
        ));
        Self {
            completed_at: crate::now_ms(),
            source_reachable,
            source_namesrv: cfg.source_namesrv.clone(),
            target_namesrv: cfg.target_namesrv.clone(),
            unmirrored_messages: if source_reachable { unmirrored } else { -1 },
            topics: s.topics.clone(),
            groups: s.groups.clone(),
            instructions,
        }
    }
}

/// A progress bar on a terminal: messages copied out of what the source holds, with rates
/// and lags in the message.
pub struct ProgressBar(indicatif::ProgressBar);

impl ProgressBar {
    /// `None` unless standard error is a terminal (logs get [`log_progress`] lines instead).
    pub fn on_terminal() -> Option<Self> {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} mirrored {pos}/{len} messages [{bar:30}] {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        Some(Self(bar))
    }

    pub fn show(&self, s: &Status) {
        let lag: i64 = s.topics.iter().map(|t| t.message_lag).sum();
        let done: i64 = s.topics.iter().map(|t| t.mirrored_to).sum();
        self.0.set_length((done + lag).max(0) as u64);
        self.0.set_position(done.max(0) as u64);
        self.0.set_message(format!(
            "{:.0} msg/s, lag {lag}, offset sync p99 {:.0} ms{}",
            s.metrics.messages_per_sec,
            s.metrics.offset_sync_lag.p99_ms,
            if s.errors.is_empty() {
                ""
            } else {
                ", errors (see status)"
            }
        ));
    }
}

/// One log line of progress (for logs without a terminal).
pub fn log_progress(s: &Status) {
    let lag: i64 = s.topics.iter().map(|t| t.message_lag).sum();
    tracing::info!(
        topics = s.topics.len(),
        groups = s.groups.len(),
        message_lag = lag,
        msgs_per_sec = format!("{:.0}", s.metrics.messages_per_sec),
        offset_sync_p99_ms = format!("{:.0}", s.metrics.offset_sync_lag.p99_ms),
        errors = s.errors.len(),
        "mirror progress"
    );
}

/// Renders a status for people.
pub fn render_status(s: &Status) -> String {
    let age = crate::now_ms() - s.updated_at;
    let mut out = format!(
        "mirror {} → {}: {}{} (pid {}, metrics {})\n",
        s.source_namesrv,
        s.target_namesrv,
        s.phase,
        if age > STALE_AFTER_MS && s.phase == "running" {
            format!(", NOT RUNNING (last update {}s ago)", age / 1000)
        } else {
            String::new()
        },
        s.pid,
        s.metrics_addr.as_deref().unwrap_or("off")
    );
    out.push_str(&format!(
        "{:.0} msg/s, {:.0} B/s; offset-sync lag p50 {:.0} ms, p99 {:.0} ms\n\n",
        s.metrics.messages_per_sec,
        s.metrics.bytes_per_sec,
        s.metrics.offset_sync_lag.p50_ms,
        s.metrics.offset_sync_lag.p99_ms
    ));
    let rows: Vec<Vec<String>> = s
        .topics
        .iter()
        .map(|t| {
            vec![
                t.topic.clone(),
                t.queues.to_string(),
                t.message_lag.to_string(),
                t.error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.push_str(&table(
        &["TOPIC", "QUEUES", "MESSAGE LAG", "LAST ERROR"],
        &rows,
    ));
    out.push('\n');
    let rows: Vec<Vec<String>> = s
        .groups
        .iter()
        .map(|g| {
            vec![
                g.group.clone(),
                g.queues.to_string(),
                g.offset_sync_lag_ms.to_string(),
                if g.skipped_online {
                    "skipped: consumers online on the target".into()
                } else {
                    g.last_error.clone().unwrap_or_else(|| "-".into())
                },
            ]
        })
        .collect();
    out.push_str(
        table(
            &["GROUP", "QUEUES", "OFFSET-SYNC LAG (ms)", "LAST ERROR"],
            &rows,
        )
        .trim_end(),
    );
    for e in &s.errors {
        out.push_str(&format!("\nerror: {e}"));
    }
    out
}

/// `ferromq mirror status`.
///
/// # Errors
/// [`UsageError::NoStatus`] when no mirror wrote a status into the state dir,
/// [`MirrorError::State`] when the status file cannot be read.
pub fn status_command(dir: &Path, output: &str) -> Result<i32, MirrorError> {
    let s: Status = StateDir::read_json(dir, STATUS_FILE)?.ok_or_else(|| UsageError::NoStatus {
        dir: dir.to_path_buf(),
    })?;
    if output == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&s).unwrap_or_else(|_| "null".into())
        );
    } else {
        println!("{}", render_status(&s));
    }
    Ok(0)
}

/// `ferromq mirror failover`: asks the running mirror to stop at a consistent point and prints
/// its report; with no mirror running, reports from the saved state.
///
/// # Errors
/// [`UsageError::NoState`] when the state dir holds no mirror state,
/// [`UsageError::RequestFailover`] when the request cannot be written,
/// [`UsageError::FailoverTimeout`] when the running mirror does not finish in time, and
/// [`MirrorError::State`] when the state dir is corrupt or its files cannot be read.
pub fn failover_command(dir: &Path, wait: Duration) -> Result<i32, MirrorError> {
    match StateDir::open(dir) {
        Ok((d, state)) => {
            // Nobody holds the lock: no mirror runs. Report what the last one left.
            let state = state.ok_or_else(|| UsageError::NoState {
                dir: dir.to_path_buf(),
            })?;
            let status: Option<Status> = StateDir::read_json(dir, STATUS_FILE)?;
            println!(
                "No mirror is running on {}; its last state is final.",
                dir.display()
            );
            println!(
                "Point producers and consumers at the target name server(s): {}",
                state.target_namesrv
            );
            if let Some(s) = status {
                println!("{}", render_status(&s));
            }
            drop(d);
            return Ok(0);
        }
        Err(StateError::Locked { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let _ = std::fs::remove_file(dir.join(FAILOVER_REPORT));
    std::fs::write(dir.join(FAILOVER_REQUEST), crate::now_ms().to_string()).map_err(|error| {
        UsageError::RequestFailover {
            dir: dir.to_path_buf(),
            error,
        }
    })?;
    let deadline = Instant::now() + wait;
    loop {
        if let Some(r) = StateDir::read_json::<FailoverReport>(dir, FAILOVER_REPORT)? {
            let _ = std::fs::remove_file(dir.join(FAILOVER_REQUEST));
            println!(
                "Failover complete: the mirror stopped at a consistent point{}.",
                if r.source_reachable {
                    format!(
                        " ({} messages on the source not copied)",
                        r.unmirrored_messages
                    )
                } else {
                    " (the source did not answer)".into()
                }
            );
            for i in &r.instructions {
                println!("- {i}");
            }
            let rows: Vec<Vec<String>> = r
                .groups
                .iter()
                .map(|g| {
                    vec![
                        g.group.clone(),
                        g.queues.to_string(),
                        if g.skipped_online {
                            "kept (online on the target)".into()
                        } else if g.pending > 0 {
                            format!("{} queue(s) held at the mirrored end", g.pending)
                        } else {
                            "ready".into()
                        },
                    ]
                })
                .collect();
            print!("{}", table(&["GROUP", "QUEUES", "OFFSETS"], &rows));
            return Ok(0);
        }
        if Instant::now() > deadline {
            return Err(UsageError::FailoverTimeout { wait }.into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
