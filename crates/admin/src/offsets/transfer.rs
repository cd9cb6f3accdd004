//! `offsets export` and `offsets import`: offsets to and from files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ferromq_protocol::body::progress::{ChangeRequest, ExportPage, ExportRequest, ImportRequest};
use ferromq_protocol::codes::request as rq;

use super::apply::plan_apply;
use crate::args::{ApplyArgs, FileFormat, Output};
use crate::cluster::Broker;
use crate::output::print_json;
use crate::records::{self, ExportFile, Record};
use crate::time::now_ms;
use crate::{AdminError, Ctx, EXIT_OK};

/// Every record of the given groups (all groups when empty) on every broker, tagged with the broker.
pub(super) async fn export_records(
    ctx: &Ctx,
    brokers: &[Broker],
    groups: &[String],
) -> Result<Vec<Record>, AdminError> {
    let mut out = Vec::new();
    for b in brokers {
        if ctx.cluster.probe(b).await? == Some(false) {
            // An Apache broker: what upstream codes tell (no intents, no history).
            out.extend(
                crate::upstream::export_upstream(ctx, std::slice::from_ref(b), groups).await?,
            );
            continue;
        }
        // Page through the broker's table: one response holds at most a page.
        let mut req = ExportRequest {
            groups: (!groups.is_empty()).then(|| groups.to_vec()),
            ..ExportRequest::default()
        };
        loop {
            let page: ExportPage = ctx
                .cluster
                .ferro(b, rq::FERRO_EXPORT_OFFSETS, &req)
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            out.extend(
                page.records
                    .into_iter()
                    .map(|r| Record::from_wire(r, &b.name)),
            );
            match page.next {
                Some(next) => req.after = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
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

pub(super) async fn import_records(
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
        .map(|(b, rs)| {
            let request = ChangeRequest::Import(ImportRequest {
                records: rs.into_iter().map(Record::into_wire).collect(),
                rocketmq_json: None,
                by_time,
                dry_run: true,
                expect: None,
            });
            (b, request)
        })
        .collect();
    plan_apply(ctx, jobs, apply, groups.len(), operation).await
}

pub(super) async fn import(
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
        let (entries, used) = crate::rocketmq_file::load(p)
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

pub(super) async fn export(
    ctx: &Ctx,
    groups: &[String],
    file: Option<&Path>,
    format: FileFormat,
) -> Result<i32, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
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
                print_json(
                    &serde_json::json!({"file": f.display().to_string(), "records": recs.len()}),
                );
            } else {
                println!("exported {} offset(s) to {}", recs.len(), f.display());
            }
        }
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
