//! Plan on every broker, then apply exactly that plan broker by broker; the report of both.
//!
//! Every apply request carries the queues of the plan the operator saw (`expect`): a broker
//! applies it only if nothing moved since, atomically with the change. Before anything is
//! applied, every broker checks its part (a dry run with the plan), so a plan that no longer
//! holds anywhere changes nothing anywhere.

use std::io::{BufRead, IsTerminal, Write};

use ferromq_client::ClientError;
use ferromq_protocol::body::progress::{ChangeRequest, ExpectedQueue, PlanMoved};
use ferromq_protocol::codes::response as rs;

use super::report::{print_report, BrokerOutcome, Failure, Report};
use crate::args::{ApplyArgs, Output};
use crate::cluster::Broker;
use crate::output::Progress;
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn confirm(question: &str) -> Result<(), AdminError> {
    if !interactive() {
        return Err(AdminError::Failed(format!(
            "{question}: there is no terminal to confirm it: pass --yes"
        )));
    }
    eprint!("{question}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err()
        || !matches!(line.trim(), "y" | "Y" | "yes" | "YES")
    {
        return Err(AdminError::Failed("not confirmed: nothing changed".into()));
    }
    Ok(())
}

/// Plans on every broker (dry run); refuses everything if a plan fails; then, with `execute`,
/// applies exactly that plan broker by broker. When the plan no longer holds (a consumer
/// committed, a queue was added), an interactive run shows the new plan and asks again; with
/// `--yes` (or without a terminal) it exits 1 naming the queues that moved. Exit
/// [`EXIT_PARTIAL`] when some brokers applied and others failed.
pub async fn plan_apply(
    ctx: &Ctx,
    jobs: Vec<(Broker, ChangeRequest)>,
    apply: &ApplyArgs,
    groups: usize,
    operation: &str,
) -> Result<i32, AdminError> {
    let mut asked = false;
    loop {
        let (plans, unreachable) = plan_all(ctx, &jobs).await?;
        let plan = Report::new(operation, plans.clone(), unreachable.clone(), true);
        if let Some(path) = &apply.export {
            plan.save(path)?;
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
        if (groups > 1 || asked) && !apply.yes {
            if ctx.output == Output::Table {
                print_report(&plan, ctx.output);
            }
            confirm(&format!("Apply this change to {groups} group(s)"))?;
        }
        match execute(ctx, plans, unreachable, operation).await? {
            Executed::Done(code) => return Ok(code),
            Executed::Moved(why) if !apply.yes && interactive() => {
                eprintln!("{why}\nplanning again:");
                asked = true;
            }
            Executed::Moved(why) => return Err(AdminError::Failed(why)),
        }
    }
}

/// Applies a plan saved with `--export` (already checked row by row): exactly its queues, only
/// if none moved; exit 1 naming them otherwise.
pub async fn apply_saved(
    ctx: &Ctx,
    plans: Vec<BrokerOutcome>,
    operation: &str,
) -> Result<i32, AdminError> {
    match execute(ctx, plans, Vec::new(), operation).await? {
        Executed::Done(code) => Ok(code),
        Executed::Moved(why) => Err(AdminError::Failed(format!(
            "{why}; the saved plan was not applied: plan and export it again"
        ))),
    }
}

/// Dry runs on every broker. Brokers that do not answer are reported, not planned, and the
/// others go on; any other planning error refuses the whole operation.
async fn plan_all(
    ctx: &Ctx,
    jobs: &[(Broker, ChangeRequest)],
) -> Result<(Vec<BrokerOutcome>, Vec<Failure>), AdminError> {
    let mut plans = Vec::new();
    let mut unreachable = Vec::new();
    let mut bar = Progress::new(jobs.len(), "planning");
    for (b, request) in jobs {
        bar.step(&b.name);
        let dry = request.planned(true, None);
        match ctx.cluster.client.ferro_change(&b.addr, &dry).await {
            Ok(Ok(r)) => plans.push(BrokerOutcome::new(b, r, Some(request.clone()))),
            Ok(Err(moved)) => {
                // Only a request that carries a plan can be refused as moved.
                return Err(AdminError::Failed(format!(
                    "planning failed on broker {}: {}",
                    b.name,
                    moved_text(&moved)
                )));
            }
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
    Ok((plans, unreachable))
}

enum Executed {
    /// Applied (everywhere, or partially: the exit code says which).
    Done(i32),
    /// Nothing applied: the plan no longer holds; the sentence names the queues.
    Moved(String),
}

fn expected(plan: &BrokerOutcome) -> Vec<ExpectedQueue> {
    plan.queues.iter().map(|q| (&q.queue).into()).collect()
}

fn moved_text(m: &PlanMoved) -> String {
    let row = |k: &ferromq_protocol::body::progress::QueueKey| {
        format!("group {} topic {} queue {}", k.group, k.topic, k.queue_id)
    };
    let show = |o: Option<i64>| o.map_or_else(|| "none".to_string(), |v| v.to_string());
    let mut parts: Vec<String> = m
        .moved
        .iter()
        .map(|q| {
            format!(
                "{} moved (plan: {}, now: {})",
                row(&q.key),
                show(q.expected),
                show(q.actual)
            )
        })
        .collect();
    parts.extend(
        m.missing
            .iter()
            .map(|k| format!("{} is new (not in the plan)", row(k))),
    );
    parts.extend(
        m.unplanned
            .iter()
            .map(|k| format!("{} is in the plan but not in scope", row(k))),
    );
    parts.join("; ")
}

/// Checks every broker's part of the plan (dry run with the plan), then applies it broker by
/// broker, each with its plan.
async fn execute(
    ctx: &Ctx,
    plans: Vec<BrokerOutcome>,
    unreachable: Vec<Failure>,
    operation: &str,
) -> Result<Executed, AdminError> {
    let client = &ctx.cluster.client;
    let mut bar = Progress::new(plans.len(), "checking");
    for plan in &plans {
        bar.step(&plan.broker_name);
        let Some(request) = &plan.request else {
            continue;
        };
        let check = request.planned(true, Some(expected(plan)));
        match client.ferro_change(&plan.addr, &check).await {
            Ok(Ok(_)) => {}
            Ok(Err(moved)) => {
                return Ok(Executed::Moved(format!(
                    "the plan no longer holds on broker {}, nothing was applied: {}",
                    plan.broker_name,
                    moved_text(&moved)
                )))
            }
            Err(e) => {
                return Err(AdminError::Failed(format!(
                    "{operation} refused by broker {} ({}): {e}; nothing was applied",
                    plan.broker_name, plan.addr
                )))
            }
        }
    }
    let mut done = Vec::new();
    let mut failed = unreachable;
    let mut bar = Progress::new(plans.len(), "applying");
    for plan in &plans {
        bar.step(&plan.broker_name);
        let b = plan.broker();
        let Some(request) = &plan.request else {
            continue;
        };
        let exact = request.planned(false, Some(expected(plan)));
        let error = match client.ferro_change(&b.addr, &exact).await {
            Ok(Ok(r)) => {
                done.push(BrokerOutcome::new(&b, r, None));
                continue;
            }
            Ok(Err(moved)) if done.is_empty() => {
                return Ok(Executed::Moved(format!(
                    "the plan no longer holds on broker {}, nothing was applied: {}",
                    b.name,
                    moved_text(&moved)
                )))
            }
            Ok(Err(moved)) => format!("the plan no longer holds: {}", moved_text(&moved)),
            Err(e) => e.to_string(),
        };
        failed.push(Failure {
            broker_name: b.name.clone(),
            addr: b.addr.clone(),
            error,
        });
    }
    report_applied(ctx, done, failed, operation).map(Executed::Done)
}

fn report_applied(
    ctx: &Ctx,
    done: Vec<BrokerOutcome>,
    failed: Vec<Failure>,
    operation: &str,
) -> Result<i32, AdminError> {
    let n_done = done.len();
    let rep = Report::new(operation, done, failed, false);
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
