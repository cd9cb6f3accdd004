//! `ferromq admin offsets …`: the modern family, over ferromq's extension codes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use ferromq_protocol::codes::{request as rq, response as rs};
use serde_json::{json, Value};

use crate::args::{ApplyArgs, FileFormat, OffsetsCommand, Output, ResetArgs};
use crate::cluster::Broker;
use crate::output::{opt, print_json, table, Progress};
use crate::records::{self, ExportFile, ExportResult, PlanResult, PlannedQueue, Record};
use crate::time::{format_age, format_ms, now_ms};
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

pub async fn run(ctx: &Ctx, cmd: OffsetsCommand) -> Result<i32, AdminError> {
    match cmd {
        OffsetsCommand::Reset(a) => reset(ctx, a).await,
        OffsetsCommand::Describe { group, topic } => describe(ctx, &group, &topic).await,
        OffsetsCommand::Export {
            group,
            file,
            format,
        } => export(ctx, &group, file.as_deref(), format).await,
        OffsetsCommand::Import {
            file,
            rocketmq,
            by_time,
            to_group,
            broker,
            apply,
        } => {
            import(
                ctx,
                file.as_deref(),
                rocketmq.as_deref(),
                by_time,
                to_group,
                broker,
                &apply,
            )
            .await
        }
        OffsetsCommand::Clone {
            from,
            to,
            topic,
            apply,
        } => clone(ctx, &from, &to, &topic, &apply).await,
        OffsetsCommand::Delete {
            group,
            topic,
            apply,
        } => delete(ctx, &group, &topic, &apply).await,
        OffsetsCommand::History {
            group,
            broker,
            limit,
        } => history(ctx, group, broker, limit).await,
        OffsetsCommand::Undo {
            change_id,
            broker,
            apply,
        } => undo(ctx, change_id, broker, &apply).await,
    }
}

/// `topic` or `topic:0,1,2`.
pub fn parse_topic_scope(s: &str) -> Result<(String, Option<Vec<i32>>), AdminError> {
    match s.split_once(':') {
        None if !s.is_empty() => Ok((s.to_string(), None)),
        Some((t, qs)) if !t.is_empty() => {
            let q: Result<Vec<i32>, _> = qs.split(',').map(|q| q.trim().parse::<i32>()).collect();
            match q {
                Ok(q) if !q.is_empty() && q.iter().all(|x| *x >= 0) => Ok((t.to_string(), Some(q))),
                _ => Err(AdminError::Usage(format!(
                    "bad --topic '{s}': expected TOPIC or TOPIC:0,1,2"
                ))),
            }
        }
        _ => Err(AdminError::Usage(format!(
            "bad --topic '{s}': expected TOPIC or TOPIC:0,1,2"
        ))),
    }
}

/// Every record of the given groups (all groups when empty) on every broker, tagged with the broker.
async fn export_records(
    ctx: &Ctx,
    brokers: &[Broker],
    groups: &[String],
) -> Result<Vec<Record>, AdminError> {
    let req = if groups.is_empty() {
        json!({})
    } else {
        json!({ "groups": groups })
    };
    let mut out = Vec::new();
    for b in brokers {
        let r: ExportResult = ctx
            .cluster
            .ferro(b, rq::FERRO_EXPORT_OFFSETS, &req)
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        out.extend(r.records.into_iter().map(|mut r| {
            r.broker_name = Some(b.name.clone());
            r
        }));
    }
    Ok(out)
}

/// How the reset moves offsets.
pub enum Spec {
    Earliest,
    Latest,
    Offset(i64),
    Timestamp(i64),
    Duration(i64),
    ShiftBy(i64),
}

impl Spec {
    pub fn json(&self) -> Value {
        match self {
            Spec::Earliest => json!({"kind": "earliest"}),
            Spec::Latest => json!({"kind": "latest"}),
            Spec::Offset(n) => json!({"kind": "offset", "value": n}),
            Spec::Timestamp(t) => json!({"kind": "timestamp", "value": t}),
            Spec::Duration(d) => json!({"kind": "duration", "value": d}),
            Spec::ShiftBy(n) => json!({"kind": "shiftBy", "value": n}),
        }
    }
}

/// A reset's scope, resolved by the caller's flags.
pub struct ResetScope {
    pub groups: Vec<String>,
    pub all_groups: bool,
    pub topics: Vec<(String, Option<Vec<i32>>)>,
    pub all_topics: bool,
    pub allow_intents: bool,
}

async fn reset(ctx: &Ctx, a: ResetArgs) -> Result<i32, AdminError> {
    if let Some(file) = &a.from_file {
        if !a.topic.is_empty() || a.all_topics {
            return Err(AdminError::Usage(
                "--from-file names its topics: --topic and --all-topics do not apply".into(),
            ));
        }
        let mut recs = records::read_records(file)?;
        if !a.group.is_empty() {
            recs.retain(|r| a.group.contains(&r.group));
        }
        if recs.is_empty() {
            return Err(AdminError::Usage(format!(
                "{}: no offsets to apply",
                file.display()
            )));
        }
        return import_records(ctx, recs, false, None, &a.apply, "reset --from-file").await;
    }
    if a.group.is_empty() && !a.all_groups {
        return Err(AdminError::Usage(
            "name the groups: --group G (repeatable) or --all-groups".into(),
        ));
    }
    if a.topic.is_empty() && !a.all_topics {
        return Err(AdminError::Usage(
            "name the topics: --topic T, --topic T:0,1 (repeatable) or --all-topics".into(),
        ));
    }
    let spec = if a.to_earliest {
        Spec::Earliest
    } else if a.to_latest {
        Spec::Latest
    } else if let Some(n) = a.to_offset {
        if n < 0 {
            return Err(AdminError::Usage("--to-offset must be ≥ 0".into()));
        }
        Spec::Offset(n)
    } else if let Some(n) = a.shift_by {
        Spec::ShiftBy(n)
    } else if let Some(t) = a.to_datetime {
        Spec::Timestamp(t)
    } else if let Some(d) = a.by_duration {
        Spec::Duration(d)
    } else {
        return Err(AdminError::Usage("give one reset spec".into()));
    };
    let topics = a
        .topic
        .iter()
        .map(|t| parse_topic_scope(t))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = ResetScope {
        groups: a.group,
        all_groups: a.all_groups,
        topics,
        all_topics: a.all_topics,
        allow_intents: a.allow_intents,
    };
    reset_core(ctx, scope, spec, &a.apply).await
}

/// Plans a reset on every broker concerned, then (with `execute`) applies it broker by broker.
pub async fn reset_core(
    ctx: &Ctx,
    scope: ResetScope,
    spec: Spec,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    let mut groups = scope.groups.clone();
    let mut known: Vec<Record> = Vec::new();
    if scope.all_groups || scope.all_topics {
        ctx.cluster.require_ferro(&all, "offsets reset").await?;
        known = export_records(ctx, &all, &groups).await?;
    }
    if scope.all_groups {
        let set: BTreeSet<String> = known.iter().map(|r| r.group.clone()).collect();
        groups = set.into_iter().collect();
        if groups.is_empty() {
            return Err(AdminError::Failed(
                "--all-groups: no group has offsets on the brokers".into(),
            ));
        }
    }
    // Per broker: the topic scopes to send.
    let mut per_broker: BTreeMap<Broker, Vec<Value>> = BTreeMap::new();
    if scope.all_topics {
        let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &known {
            if groups.contains(&r.group) {
                seen.entry(r.broker_name.clone().unwrap_or_default())
                    .or_default()
                    .insert(r.topic.clone());
            }
        }
        for b in &all {
            if let Some(ts) = seen.get(&b.name) {
                per_broker.insert(
                    b.clone(),
                    ts.iter()
                        .map(|t| json!({"topic": t, "queues": null}))
                        .collect(),
                );
            }
        }
        if per_broker.is_empty() {
            return Err(AdminError::Failed(format!(
                "--all-topics: the group(s) {} have no offsets on any broker",
                groups.join(", ")
            )));
        }
    } else {
        for (topic, queues) in &scope.topics {
            let holders = match ctx.cluster.topic_brokers(topic).await? {
                Some(h) => h.into_iter().map(|(b, _)| b).collect(),
                None if scope.allow_intents => all.clone(),
                None => {
                    return Err(AdminError::Failed(format!(
                        "topic {topic} does not exist; pass --allow-intents to store an intent \
                         applied when it is created"
                    )))
                }
            };
            for b in holders {
                per_broker
                    .entry(b)
                    .or_default()
                    .push(json!({"topic": topic, "queues": queues}));
            }
        }
    }
    let brokers: Vec<Broker> = per_broker.keys().cloned().collect();
    ctx.cluster.require_ferro(&brokers, "offsets reset").await?;
    let jobs = per_broker
        .into_iter()
        .map(|(b, topics)| {
            let body = json!({
                "groups": groups,
                "topics": topics,
                "spec": spec.json(),
                "allowIntents": scope.allow_intents,
            });
            (b, body)
        })
        .collect();
    plan_apply(
        ctx,
        rq::FERRO_RESET_OFFSETS,
        jobs,
        apply,
        groups.len(),
        "reset",
    )
    .await
}

/// The outcome on one broker.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct BrokerOutcome {
    broker_name: String,
    addr: String,
    change_id: Option<u64>,
    queues: Vec<PlannedQueue>,
    intents: Vec<Value>,
}

#[derive(serde::Serialize)]
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
    let mut bar = Progress::new(jobs.len(), "planning");
    for (b, body) in &jobs {
        bar.step(&b.name);
        let r: PlanResult = ctx
            .cluster
            .ferro(b, code, &with_dry(body, true))
            .await
            .map_err(|e| {
                let hint = if e.code() == Some(rs::TOPIC_NOT_EXIST) {
                    " (pass --allow-intents to store an intent applied when it is created)"
                } else {
                    ""
                };
                AdminError::Failed(format!(
                    "planning failed on broker {} ({}): {e}{hint}; nothing was applied",
                    b.name, b.addr
                ))
            })?;
        plans.push(outcome(b, r));
    }
    let report = |brokers: Vec<BrokerOutcome>, failed: Vec<Failure>, dry_run: bool| Report {
        operation: operation.to_string(),
        dry_run,
        queues: brokers.iter().flat_map(|b| b.queues.clone()).collect(),
        brokers,
        failed,
    };
    let plan = report(plans, Vec::new(), true);
    if let Some(path) = &apply.export {
        let text = serde_json::to_string_pretty(&plan).unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|e| AdminError::Io(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("plan written to {}", path.display());
    }
    if !apply.execute {
        print_report(&plan, ctx.output);
        return Ok(EXIT_OK);
    }
    if groups > 1 && !apply.yes {
        if ctx.output == Output::Table {
            print_report(&plan, ctx.output);
        }
        confirm(groups)?;
    }
    // For tests of partial failures: between planning and applying, wait (≤ 60 s) until the
    // file FERROMQ_ADMIN_TEST_APPLY_GATE exists.
    if let Some(gate) = std::env::var_os("FERROMQ_ADMIN_TEST_APPLY_GATE") {
        eprintln!("planned; waiting for {}", Path::new(&gate).display());
        for _ in 0..600 {
            if Path::new(&gate).exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut bar = Progress::new(jobs.len(), "applying");
    for (b, body) in &jobs {
        bar.step(&b.name);
        match ctx
            .cluster
            .ferro::<_, PlanResult>(b, code, &with_dry(body, false))
            .await
        {
            Ok(r) => done.push(outcome(b, r)),
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
        rep.failed
            .iter()
            .map(|b| b.broker_name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        undo.join(" ; ")
    );
    Ok(EXIT_PARTIAL)
}

/// The brokers to send records to: the record's own broker, else every broker holding its topic,
/// else (unknown topic) every broker.
async fn route_records(
    ctx: &Ctx,
    recs: Vec<Record>,
    only: Option<&str>,
) -> Result<BTreeMap<Broker, Vec<Record>>, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    if let Some(n) = only {
        if !all.iter().any(|b| b.name == n) {
            return Err(AdminError::Usage(format!("no broker named {n}")));
        }
    }
    let mut holders: BTreeMap<String, Vec<Broker>> = BTreeMap::new();
    let mut out: BTreeMap<Broker, Vec<Record>> = BTreeMap::new();
    for r in recs {
        let targets: Vec<Broker> = if let Some(bn) = &r.broker_name {
            match all.iter().find(|b| &b.name == bn) {
                Some(b) => vec![b.clone()],
                None => {
                    return Err(AdminError::Failed(format!(
                        "record {}/{}/{} names broker {bn}, which the name server does not know",
                        r.group, r.topic, r.queue_id
                    )))
                }
            }
        } else {
            if !holders.contains_key(&r.topic) {
                let h = match ctx.cluster.topic_brokers(&r.topic).await? {
                    Some(h) => h.into_iter().map(|(b, _)| b).collect(),
                    None => all.clone(),
                };
                holders.insert(r.topic.clone(), h);
            }
            holders[&r.topic].clone()
        };
        for b in targets {
            if only.is_some_and(|n| n != b.name) {
                continue;
            }
            let mut r = r.clone();
            r.broker_name = None;
            out.entry(b).or_default().push(r);
        }
    }
    Ok(out)
}

async fn import_records(
    ctx: &Ctx,
    recs: Vec<Record>,
    by_time: bool,
    only: Option<&str>,
    apply: &ApplyArgs,
    operation: &str,
) -> Result<i32, AdminError> {
    let groups: BTreeSet<String> = recs.iter().map(|r| r.group.clone()).collect();
    let per = route_records(ctx, recs, only).await?;
    if per.is_empty() {
        return Err(AdminError::Failed("no broker to import into".into()));
    }
    let brokers: Vec<Broker> = per.keys().cloned().collect();
    ctx.cluster.require_ferro(&brokers, operation).await?;
    let jobs = per
        .into_iter()
        .map(|(b, rs)| (b, json!({"records": rs, "byTime": by_time})))
        .collect();
    plan_apply(
        ctx,
        rq::FERRO_IMPORT_OFFSETS,
        jobs,
        apply,
        groups.len(),
        operation,
    )
    .await
}

async fn import(
    ctx: &Ctx,
    file: Option<&Path>,
    rocketmq: Option<&Path>,
    by_time: bool,
    to_group: Option<String>,
    broker: Option<String>,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let mut recs = if let Some(f) = file {
        records::read_records(f)?
    } else if let Some(p) = rocketmq {
        let (entries, used) = ferromq_offsets::load_rocketmq_offsets_file(p)
            .map_err(|e| AdminError::Usage(format!("cannot load {}: {e}", p.display())))?;
        if used != p {
            eprintln!(
                "note: {} was unusable; loaded {}",
                p.display(),
                used.display()
            );
        }
        entries
            .into_iter()
            .map(|(k, offset)| Record {
                group: k.group,
                topic: k.topic,
                queue_id: k.queue_id,
                offset,
                store_time_ms: None,
                broker_name: None,
            })
            .collect()
    } else {
        return Err(AdminError::Usage("give --file or --rocketmq".into()));
    };
    if recs.is_empty() {
        return Err(AdminError::Usage("the file holds no offsets".into()));
    }
    if let Some(g) = to_group {
        for r in &mut recs {
            r.group = g.clone();
        }
    }
    import_records(ctx, recs, by_time, broker.as_deref(), apply, "import").await
}

async fn export(
    ctx: &Ctx,
    groups: &[String],
    file: Option<&Path>,
    format: FileFormat,
) -> Result<i32, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    ctx.cluster.require_ferro(&all, "offsets export").await?;
    let recs = export_records(ctx, &all, groups).await?;
    let text = match format {
        FileFormat::Csv => records::to_csv(&recs),
        FileFormat::Json => {
            let doc = ExportFile {
                format: records::EXPORT_FORMAT.into(),
                version: 1,
                exported_at_ms: now_ms(),
                records: recs.clone(),
            };
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
    };
    match file {
        Some(f) => {
            std::fs::write(f, text)
                .map_err(|e| AdminError::Io(format!("cannot write {}: {e}", f.display())))?;
            if ctx.output == Output::Json {
                print_json(&json!({"file": f.display().to_string(), "records": recs.len()}));
            } else {
                println!("exported {} offset(s) to {}", recs.len(), f.display());
            }
        }
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

/// Brokers on which `group` has offsets (for the topics, when given).
async fn brokers_with_group(
    ctx: &Ctx,
    group: &str,
    topics: &[String],
    what: &str,
) -> Result<Vec<Broker>, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    ctx.cluster.require_ferro(&all, what).await?;
    let recs = export_records(ctx, &all, &[group.to_string()]).await?;
    let names: BTreeSet<String> = recs
        .iter()
        .filter(|r| topics.is_empty() || topics.contains(&r.topic))
        .filter_map(|r| r.broker_name.clone())
        .collect();
    let v: Vec<Broker> = all
        .into_iter()
        .filter(|b| names.contains(&b.name))
        .collect();
    if v.is_empty() {
        return Err(AdminError::Failed(format!(
            "group {group} has no offsets{} on any broker",
            if topics.is_empty() {
                String::new()
            } else {
                format!(" for {}", topics.join(", "))
            }
        )));
    }
    Ok(v)
}

pub async fn clone(
    ctx: &Ctx,
    from: &str,
    to: &str,
    topics: &[String],
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let brokers = brokers_with_group(ctx, from, topics, "offsets clone").await?;
    let t = (!topics.is_empty()).then(|| topics.to_vec());
    let jobs = brokers
        .into_iter()
        .map(|b| (b, json!({"from": from, "to": to, "topics": t})))
        .collect();
    plan_apply(ctx, rq::FERRO_CLONE_OFFSETS, jobs, apply, 1, "clone").await
}

async fn delete(
    ctx: &Ctx,
    group: &str,
    topics: &[String],
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let brokers = brokers_with_group(ctx, group, topics, "offsets delete").await?;
    let t = (!topics.is_empty()).then(|| topics.to_vec());
    let jobs = brokers
        .into_iter()
        .map(|b| (b, json!({"group": group, "topics": t})))
        .collect();
    plan_apply(ctx, rq::FERRO_DELETE_OFFSETS, jobs, apply, 1, "delete").await
}

async fn undo(
    ctx: &Ctx,
    change_id: u64,
    broker: Option<String>,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let b = match broker {
        Some(n) => ctx.cluster.broker_named(&n).await?,
        None => {
            let all = ctx.cluster.all_brokers().await?;
            if all.len() != 1 {
                return Err(AdminError::Usage(format!(
                    "change ids are per broker: pass --broker NAME (brokers: {})",
                    all.iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            all[0].clone()
        }
    };
    ctx.cluster
        .require_ferro(std::slice::from_ref(&b), "offsets undo")
        .await?;
    let jobs = vec![(b, json!({"changeId": change_id}))];
    plan_apply(ctx, rq::FERRO_UNDO, jobs, apply, 1, "undo").await
}

async fn history(
    ctx: &Ctx,
    group: Option<String>,
    broker: Option<String>,
    limit: usize,
) -> Result<i32, AdminError> {
    let brokers = match broker {
        Some(n) => vec![ctx.cluster.broker_named(&n).await?],
        None => ctx.cluster.all_brokers().await?,
    };
    ctx.cluster
        .require_ferro(&brokers, "offsets history")
        .await?;
    let mut changes: Vec<Value> = Vec::new();
    for b in &brokers {
        let r: Value = ctx
            .cluster
            .ferro(
                b,
                rq::FERRO_HISTORY,
                &json!({"group": group, "limit": limit}),
            )
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        for mut c in r
            .get("changes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            if let Value::Object(m) = &mut c {
                m.insert("brokerName".into(), Value::String(b.name.clone()));
            }
            changes.push(c);
        }
    }
    changes
        .sort_by_key(|c| std::cmp::Reverse(c.get("timeMs").and_then(Value::as_i64).unwrap_or(0)));
    if ctx.output == Output::Json {
        print_json(&json!({ "changes": changes }));
        return Ok(EXIT_OK);
    }
    let s = |c: &Value, k: &str| match c.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    };
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let entries = c.get("entries").and_then(Value::as_array);
            let moves = entries
                .map(|es| {
                    let shown: Vec<String> = es
                        .iter()
                        .take(4)
                        .map(|e| {
                            let k = &e["key"];
                            format!(
                                "{}/{}/{}:{}→{}",
                                s(k, "group"),
                                s(k, "topic"),
                                s(k, "queueId"),
                                s(e, "before"),
                                s(e, "after")
                            )
                        })
                        .collect();
                    let more = es.len().saturating_sub(4);
                    if more > 0 {
                        format!("{} (+{more})", shown.join(" "))
                    } else {
                        shown.join(" ")
                    }
                })
                .unwrap_or_default();
            vec![
                s(c, "brokerName"),
                s(c, "id"),
                c.get("timeMs")
                    .and_then(Value::as_i64)
                    .map_or("-".into(), format_ms),
                s(c, "operation"),
                s(c, "undoOf"),
                s(c, "actor"),
                moves,
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "BROKER",
                "CHANGE",
                "TIME",
                "OPERATION",
                "UNDO-OF",
                "ACTOR",
                "ENTRIES"
            ],
            &rows
        )
    );
    Ok(EXIT_OK)
}

pub async fn describe(ctx: &Ctx, group: &str, topics: &[String]) -> Result<i32, AdminError> {
    let brokers = if topics.is_empty() {
        ctx.cluster.all_brokers().await?
    } else {
        let mut set = BTreeSet::new();
        for t in topics {
            match ctx.cluster.topic_brokers(t).await? {
                Some(h) => set.extend(h.into_iter().map(|(b, _)| b)),
                None => return Err(AdminError::Failed(format!("topic {t} does not exist"))),
            }
        }
        set.into_iter().collect()
    };
    let mut ferro = true;
    for b in &brokers {
        ferro &= ctx.cluster.is_ferro(b).await?;
    }
    if !ferro {
        return crate::upstream::describe_upstream(ctx, group, topics, &brokers).await;
    }
    let t = (!topics.is_empty()).then(|| topics.to_vec());
    let mut lags: Vec<Value> = Vec::new();
    for b in &brokers {
        let mut r: Value = ctx
            .cluster
            .ferro(
                b,
                rq::FERRO_DESCRIBE_GROUP,
                &json!({"group": group, "topics": t}),
            )
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        if let Value::Object(m) = &mut r {
            m.insert("brokerName".into(), Value::String(b.name.clone()));
        }
        lags.push(r);
    }
    let mut online: BTreeSet<String> = BTreeSet::new();
    let mut queues: Vec<Value> = Vec::new();
    for l in &lags {
        for c in l["onlineClients"].as_array().into_iter().flatten() {
            if let Some(s) = c.as_str() {
                online.insert(s.to_string());
            }
        }
        for q in l["queues"].as_array().into_iter().flatten() {
            let mut q = q.clone();
            if let Value::Object(m) = &mut q {
                m.insert("brokerName".into(), l["brokerName"].clone());
            }
            queues.push(q);
        }
    }
    crate::output::sort_queues(&mut queues);
    let total: i64 = queues.iter().filter_map(|q| q["lag"].as_i64()).sum();
    let max_lag_ms = queues
        .iter()
        .filter_map(|q| q["lagMs"].as_i64())
        .max()
        .unwrap_or(0);
    if ctx.output == Output::Json {
        print_json(&json!({
            "group": group,
            "totalLag": total,
            "maxLagMs": max_lag_ms,
            "onlineClients": online,
            "queues": queues,
            "brokers": lags,
        }));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|q| {
            vec![
                q["topic"].as_str().unwrap_or("").to_string(),
                q["brokerName"].as_str().unwrap_or("").to_string(),
                q["queueId"].to_string(),
                opt(q["committed"].as_i64()),
                q["maxOffset"].to_string(),
                q["lag"].to_string(),
                format_age(q["lagMs"].as_i64().unwrap_or(0)),
                opt(q["pullOffset"].as_i64()),
                if q["intent"].is_null() {
                    "-".into()
                } else {
                    q["intent"].to_string()
                },
            ]
        })
        .collect();
    println!("group {group}");
    print!(
        "{}",
        table(
            &[
                "TOPIC",
                "BROKER",
                "QUEUE",
                "COMMITTED",
                "MAX",
                "LAG",
                "LAG-TIME",
                "PULLED",
                "INTENT"
            ],
            &rows
        )
    );
    println!(
        "total lag {total} message(s), oldest unconsumed {} old; online members: {}",
        format_age(max_lag_ms),
        if online.is_empty() {
            "none (offline)".to_string()
        } else {
            online.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(EXIT_OK)
}

/// Groups with offsets on any broker.
pub async fn all_groups(ctx: &Ctx) -> Result<Vec<String>, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    ctx.cluster.require_ferro(&all, "consumerProgress").await?;
    let recs = export_records(ctx, &all, &[]).await?;
    let set: BTreeSet<String> = recs.into_iter().map(|r| r.group).collect();
    Ok(set.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::parse_topic_scope;

    #[test]
    fn topic_scopes() {
        assert_eq!(parse_topic_scope("T").unwrap(), ("T".into(), None));
        assert_eq!(
            parse_topic_scope("T:0,2").unwrap(),
            ("T".into(), Some(vec![0, 2]))
        );
        for bad in ["", ":1", "T:", "T:a", "T:-1"] {
            assert!(parse_topic_scope(bad).is_err(), "{bad}");
        }
    }
}
