//! The plan and outcome of an offset change, as shown to the operator (table or JSON) and as
//! saved with `--export`: a saved plan keeps each broker's request next to its queues, so that
//! `offsets reset --from-file PLAN` applies exactly that plan later.

use std::path::Path;

use ferromq_protocol::body::progress::{ChangeRequest, Intent, PlanResult, PlannedQueue};
use serde::{Deserialize, Serialize};

use crate::args::Output;
use crate::cluster::Broker;
use crate::output::{opt, print_json, table};
use crate::time::format_ms;
use crate::AdminError;

/// What a saved plan says it is.
pub const PLAN_FORMAT: &str = "ferromq-plan";
const PLAN_VERSION: u32 = 1;

/// One queue of a plan, with the broker it is on (queue ids are per broker).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BrokerQueue {
    #[serde(default)]
    pub broker_name: String,
    #[serde(flatten)]
    pub queue: PlannedQueue,
}

/// The plan or outcome on one broker.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BrokerOutcome {
    pub broker_name: String,
    pub addr: String,
    pub change_id: Option<u64>,
    pub queues: Vec<BrokerQueue>,
    #[serde(default)]
    pub intents: Vec<Intent>,
    /// The request this broker planned (saved plans apply it again, exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ChangeRequest>,
}

impl BrokerOutcome {
    pub fn new(b: &Broker, r: PlanResult, request: Option<ChangeRequest>) -> Self {
        BrokerOutcome {
            broker_name: b.name.clone(),
            addr: b.addr.clone(),
            change_id: r.change_id,
            queues: r
                .queues
                .into_iter()
                .map(|queue| BrokerQueue {
                    broker_name: b.name.clone(),
                    queue,
                })
                .collect(),
            intents: r.intents,
            request,
        }
    }

    pub fn broker(&self) -> Broker {
        Broker {
            name: self.broker_name.clone(),
            addr: self.addr.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub broker_name: String,
    pub addr: String,
    pub error: String,
}

/// A plan (dry run) or the outcome of applying one.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub version: u32,
    pub operation: String,
    pub dry_run: bool,
    /// Every queue of every broker, flattened: the rows the table shows. In a saved plan these
    /// rows are what gets applied.
    pub queues: Vec<BrokerQueue>,
    pub brokers: Vec<BrokerOutcome>,
    #[serde(default)]
    pub failed: Vec<Failure>,
}

impl Report {
    pub fn new(
        operation: &str,
        brokers: Vec<BrokerOutcome>,
        failed: Vec<Failure>,
        dry_run: bool,
    ) -> Self {
        Report {
            format: PLAN_FORMAT.into(),
            version: PLAN_VERSION,
            operation: operation.into(),
            dry_run,
            queues: brokers.iter().flat_map(|b| b.queues.clone()).collect(),
            brokers,
            failed,
        }
    }

    /// Writes the plan for `--export`.
    ///
    /// # Errors
    /// [`AdminError::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), AdminError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|e| AdminError::Io(format!("cannot write {}: {e}", path.display())))
    }
}

/// Whether a `--from-file` document is a saved plan (rather than offset records).
pub fn is_saved_plan(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("format")
                .and_then(|f| f.as_str())
                .map(|f| f == PLAN_FORMAT)
        })
        .unwrap_or(false)
}

/// Reads a plan saved with `--export` and checks every row before anything is sent: the rows
/// (`queues`) are what is applied, broker by broker, with each broker's saved request.
///
/// # Errors
/// [`AdminError::Usage`] naming the file and the row that cannot be applied.
pub fn load_saved_plan(path: &Path, text: &str) -> Result<Vec<BrokerOutcome>, AdminError> {
    let file = path.display();
    let plan: Report = serde_json::from_str(text)
        .map_err(|e| AdminError::Usage(format!("{file}: not a saved plan: {e}")))?;
    if plan.version != PLAN_VERSION {
        return Err(AdminError::Usage(format!(
            "{file}: plan version {} is not supported (expected {PLAN_VERSION})",
            plan.version
        )));
    }
    let mut brokers = plan.brokers;
    for b in &mut brokers {
        if b.request.is_none() {
            return Err(AdminError::Usage(format!(
                "{file}: broker {} has no saved request; export the plan again",
                b.broker_name
            )));
        }
        b.queues.clear();
    }
    for (i, row) in plan.queues.into_iter().enumerate() {
        let q = &row.queue;
        let at = format!(
            "{file}: row {} (group {} topic {} queue {} on {})",
            i + 1,
            q.group,
            q.topic,
            q.queue_id,
            row.broker_name
        );
        if q.queue_id < 0 || q.current.is_some_and(|c| c < 0) || q.target.is_some_and(|t| t < 0) {
            return Err(AdminError::Usage(format!(
                "{at}: queue ids and offsets must be ≥ 0"
            )));
        }
        let Some(b) = brokers
            .iter_mut()
            .find(|b| b.broker_name == row.broker_name)
        else {
            return Err(AdminError::Usage(format!(
                "{at}: the plan has no broker of that name"
            )));
        };
        b.queues.push(row);
    }
    Ok(brokers)
}

fn window(q: &PlannedQueue) -> String {
    match (q.window_from_ms, q.window_to_ms) {
        (Some(a), Some(b)) if a == b => format_ms(a),
        (Some(a), Some(b)) => format!("{} .. {}", format_ms(a), format_ms(b)),
        (Some(a), None) | (None, Some(a)) => format_ms(a),
        (None, None) => "-".into(),
    }
}

pub fn print_report(r: &Report, output: Output) {
    if output == Output::Json {
        print_json(r);
        return;
    }
    let rows: Vec<Vec<String>> = r
        .queues
        .iter()
        .map(|row| {
            let q = &row.queue;
            let target = match q.target {
                None => "(deleted)".into(),
                Some(t) if q.clamped => format!(
                    "{t} (clamped from {})",
                    q.requested.map_or("?".into(), |x| x.to_string())
                ),
                Some(t) => t.to_string(),
            };
            vec![
                q.group.clone(),
                q.topic.clone(),
                row.broker_name.clone(),
                q.queue_id.to_string(),
                opt(q.current),
                target,
                format!("{}..{}", q.min_offset, q.max_offset),
                q.skipped.to_string(),
                q.replayed.to_string(),
                window(q),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print!(
            "{}",
            table(
                &[
                    "GROUP", "TOPIC", "BROKER", "QUEUE", "CURRENT", "TARGET", "RANGE", "SKIPPED",
                    "REPLAYED", "WINDOW"
                ],
                &rows
            )
        );
    }
    for b in &r.brokers {
        for i in &b.intents {
            println!(
                "intent on {}: {}",
                b.broker_name,
                serde_json::to_string(i).unwrap_or_default()
            );
        }
    }
    let skipped: i64 = r.queues.iter().map(|q| q.queue.skipped).sum();
    let replayed: i64 = r.queues.iter().map(|q| q.queue.replayed).sum();
    println!(
        "{} queue(s) on {} broker(s): {skipped} message(s) skipped, {replayed} replayed",
        r.queues.len(),
        r.brokers.len()
    );
    if r.dry_run {
        println!("DRY RUN: nothing changed; pass --execute to apply");
    } else {
        for b in &r.brokers {
            println!(
                "applied on {} ({}): change {}",
                b.broker_name,
                b.addr,
                b.change_id.map_or("-".into(), |c| c.to_string())
            );
        }
    }
    for f in &r.failed {
        println!("FAILED on {} ({}): {}", f.broker_name, f.addr, f.error);
    }
}
