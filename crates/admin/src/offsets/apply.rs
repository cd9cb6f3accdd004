//! Plan on every broker, then apply broker by broker; the report of both.

use std::io::{BufRead, IsTerminal, Write};

use ferromq_client::ClientError;
use ferromq_protocol::codes::response as rs;
use serde_json::Value;

use crate::args::{ApplyArgs, Output};
use crate::cluster::Broker;
use crate::output::{opt, print_json, table, Progress};
use crate::records::{PlanResult, PlannedQueue};
use crate::time::format_ms;
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

/// The outcome on one broker.
#[derive(serde::Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct BrokerOutcome {
    broker_name: String,
    addr: String,
    change_id: Option<u64>,
    queues: Vec<PlannedQueue>,
    intents: Vec<Value>,
}

#[derive(serde::Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Failure {
    broker_name: String,
    addr: String,
    error: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    operation: String,
    dry_run: bool,
    /// Every queue of every broker, flattened.
    queues: Vec<PlannedQueue>,
    brokers: Vec<BrokerOutcome>,
    failed: Vec<Failure>,
}

fn outcome(b: &Broker, r: PlanResult) -> BrokerOutcome {
    BrokerOutcome {
        broker_name: b.name.clone(),
        addr: b.addr.clone(),
        change_id: r.change_id,
        queues: r
            .queues
            .into_iter()
            .map(|mut q| {
                q.broker_name = b.name.clone();
                q
            })
            .collect(),
        intents: r.intents,
    }
}

fn window(q: &PlannedQueue) -> String {
    match (q.window_from_ms, q.window_to_ms) {
        (Some(a), Some(b)) if a == b => format_ms(a),
        (Some(a), Some(b)) => format!("{} .. {}", format_ms(a), format_ms(b)),
        (Some(a), None) | (None, Some(a)) => format_ms(a),
        (None, None) => "-".into(),
    }
}

fn print_report(r: &Report, output: Output) {
    if output == Output::Json {
        print_json(r);
        return;
    }
    let rows: Vec<Vec<String>> = r
        .queues
        .iter()
        .map(|q| {
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
                q.broker_name.clone(),
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
            println!("intent on {}: {}", b.broker_name, i);
        }
    }
    let skipped: i64 = r.queues.iter().map(|q| q.skipped).sum();
    let replayed: i64 = r.queues.iter().map(|q| q.replayed).sum();
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

fn confirm(groups: usize) -> Result<(), AdminError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(AdminError::Failed(format!(
            "this changes {groups} groups and there is no terminal to confirm it: pass --yes"
        )));
    }
    eprint!("Apply this change to {groups} groups? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err()
        || !matches!(line.trim(), "y" | "Y" | "yes" | "YES")
    {
        return Err(AdminError::Failed("not confirmed: nothing changed".into()));
    }
    Ok(())
}

/// Plans on every broker (dry run); refuses everything if a plan fails; then, with `execute`,
/// applies broker by broker. Exit [`EXIT_PARTIAL`] when some brokers applied and others failed.
pub async fn plan_apply(
    ctx: &Ctx,
    code: i32,
    jobs: Vec<(Broker, Value)>,
    apply: &ApplyArgs,
    groups: usize,
    operation: &str,
) -> Result<i32, AdminError> {
    let with_dry = |body: &Value, dry: bool| {
        let mut b = body.clone();
        if let Value::Object(m) = &mut b {
            m.insert("dryRun".into(), Value::Bool(dry));
        }
        b
    };
    let mut plans = Vec::new();
    // Brokers that did not answer the plan: reported, not applied, and the others go on (the
    // exit code then says "partial"). Any other planning error refuses the whole operation.
    let mut unreachable = Vec::new();
    let mut bar = Progress::new(jobs.len(), "planning");
    for (b, body) in &jobs {
        bar.step(&b.name);
        match ctx
            .cluster
            .ferro::<_, PlanResult>(b, code, &with_dry(body, true))
            .await
        {
            Ok(r) => plans.push((outcome(b, r), body)),
            Err(e @ ClientError::Net(_)) => unreachable.push(Failure {
                broker_name: b.name.clone(),
                addr: b.addr.clone(),
                error: format!("does not answer: {e}"),
            }),
            Err(e) => {
                let hint = if e.code() == Some(rs::TOPIC_NOT_EXIST) {
                    " (pass --allow-intents to store an intent applied when it is created)"
                } else {
                    ""
                };
                return Err(AdminError::Failed(format!(
                    "planning failed on broker {} ({}): {e}{hint}; nothing was applied",
                    b.name, b.addr
                )));
            }
        }
    }
    if plans.is_empty() {
        return Err(AdminError::Failed(format!(
            "no broker answers ({}); nothing was applied",
            unreachable
                .iter()
                .map(|f| format!("{} at {}", f.broker_name, f.addr))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let report = |brokers: Vec<BrokerOutcome>, failed: Vec<Failure>, dry_run: bool| Report {
        operation: operation.to_string(),
        dry_run,
        queues: brokers.iter().flat_map(|b| b.queues.clone()).collect(),
        brokers,
        failed,
    };
    let plan = report(
        plans.iter().map(|(o, _)| o.clone()).collect(),
        unreachable.clone(),
        true,
    );
    if let Some(path) = &apply.export {
        let text = serde_json::to_string_pretty(&plan).unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|e| AdminError::Io(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("plan written to {}", path.display());
    }
    if !apply.execute {
        print_report(&plan, ctx.output);
        if !unreachable.is_empty() {
            eprintln!(
                "error: the plan is incomplete: {} did not answer",
                names(&unreachable)
            );
            return Ok(EXIT_PARTIAL);
        }
        return Ok(EXIT_OK);
    }
    if groups > 1 && !apply.yes {
        if ctx.output == Output::Table {
            print_report(&plan, ctx.output);
        }
        confirm(groups)?;
    }
    let mut done = Vec::new();
    let mut failed = unreachable;
    let mut bar = Progress::new(plans.len(), "applying");
    for (planned, body) in &plans {
        let b = Broker {
            name: planned.broker_name.clone(),
            addr: planned.addr.clone(),
        };
        bar.step(&b.name);
        match ctx
            .cluster
            .ferro::<_, PlanResult>(&b, code, &with_dry(body, false))
            .await
        {
            Ok(r) => done.push(outcome(&b, r)),
            Err(e) => failed.push(Failure {
                broker_name: b.name.clone(),
                addr: b.addr.clone(),
                error: e.to_string(),
            }),
        }
    }
    let n_done = done.len();
    let rep = report(done, failed, false);
    print_report(&rep, ctx.output);
    if rep.failed.is_empty() {
        return Ok(EXIT_OK);
    }
    if n_done == 0 {
        return Err(AdminError::Failed(format!(
            "{operation} failed on every broker; nothing was applied"
        )));
    }
    let undo: Vec<String> = rep
        .brokers
        .iter()
        .filter_map(|b| {
            b.change_id.map(|c| {
                format!(
                    "ferromq admin offsets undo {c} --broker {} --execute",
                    b.broker_name
                )
            })
        })
        .collect();
    eprintln!(
        "error: {operation} PARTIALLY APPLIED: applied on {}, failed on {}; to revert: {}",
        rep.brokers
            .iter()
            .map(|b| b.broker_name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        names(&rep.failed),
        undo.join(" ; ")
    );
    Ok(EXIT_PARTIAL)
}

fn names(failed: &[Failure]) -> String {
    failed
        .iter()
        .map(|f| f.broker_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
