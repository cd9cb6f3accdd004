//! `offsets clone` and `offsets delete`: a group's offsets on the brokers that hold them.

use std::collections::BTreeSet;

use ferromq_protocol::body::progress::{ChangeRequest, CloneRequest, DeleteRequest};

use super::apply::plan_apply;
use super::transfer::export_records;
use crate::args::ApplyArgs;
use crate::cluster::Broker;
use crate::{AdminError, Ctx};

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
        .map(|b| {
            let request = ChangeRequest::Clone(CloneRequest {
                from: from.to_string(),
                to: to.to_string(),
                topics: t.clone(),
                dry_run: true,
                expect: None,
            });
            (b, request)
        })
        .collect();
    plan_apply(ctx, jobs, apply, 1, "clone").await
}

pub(super) async fn delete(
    ctx: &Ctx,
    group: &str,
    topics: &[String],
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let brokers = brokers_with_group(ctx, group, topics, "offsets delete").await?;
    let t = (!topics.is_empty()).then(|| topics.to_vec());
    let jobs = brokers
        .into_iter()
        .map(|b| {
            let request = ChangeRequest::Delete(DeleteRequest {
                group: group.to_string(),
                topics: t.clone(),
                dry_run: true,
                expect: None,
            });
            (b, request)
        })
        .collect();
    plan_apply(ctx, jobs, apply, 1, "delete").await
}
