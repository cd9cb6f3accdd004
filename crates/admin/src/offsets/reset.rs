//! `offsets reset`: from flags (or a file) to a plan on every broker concerned.

use std::collections::{BTreeMap, BTreeSet};

use ferromq_protocol::body::progress::{ChangeRequest, ResetRequest, ResetSpec, TopicScope};

use super::apply::{apply_saved, plan_apply};
use super::report::{is_saved_plan, load_saved_plan};
use super::transfer::{export_records, import_records};
use super::{parse_topic_scope, ResetScope};
use crate::args::{ApplyArgs, ResetArgs};
use crate::cluster::Broker;
use crate::records::{self, Record};
use crate::{AdminError, Ctx};

pub(super) async fn reset(ctx: &Ctx, a: ResetArgs) -> Result<i32, AdminError> {
    if let Some(file) = &a.from_file {
        if !a.topic.is_empty() || a.all_topics {
            return Err(AdminError::Usage(
                "--from-file names its topics: --topic and --all-topics do not apply".into(),
            ));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", file.display())))?;
        if is_saved_plan(&text) {
            if !a.group.is_empty() {
                return Err(AdminError::Usage(
                    "a saved plan names its groups: --group does not apply".into(),
                ));
            }
            let plans = load_saved_plan(file, &text)?;
            if !a.apply.execute {
                return Err(AdminError::Usage(
                    "a saved plan is applied with --execute (it was shown when it was saved)"
                        .into(),
                ));
            }
            return apply_saved(ctx, plans, "reset --from-file").await;
        }
        let mut recs = records::parse_records(&text, file)?;
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
        ResetSpec::Earliest
    } else if a.to_latest {
        ResetSpec::Latest
    } else if let Some(n) = a.to_offset {
        if n < 0 {
            return Err(AdminError::Usage("--to-offset must be ≥ 0".into()));
        }
        ResetSpec::Offset(n)
    } else if let Some(n) = a.shift_by {
        ResetSpec::ShiftBy(n)
    } else if let Some(t) = a.to_datetime {
        ResetSpec::Timestamp(t)
    } else if let Some(d) = a.by_duration {
        ResetSpec::Duration(d)
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
        brokers: None,
    };
    reset_core(ctx, scope, spec, &a.apply).await
}

/// [`reset_core`] where some broker lacks ferromq's extensions: each topic scope with its queue
/// count on that broker, planned and applied with upstream codes.
async fn reset_without_extensions(
    ctx: &Ctx,
    per_broker: BTreeMap<Broker, Vec<TopicScope>>,
    groups: &[String],
    spec: &ResetSpec,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let mut with_counts = BTreeMap::new();
    for (b, scopes) in per_broker {
        let mut v = Vec::new();
        for s in scopes {
            let count = ctx
                .cluster
                .topic_brokers(&s.topic)
                .await?
                .and_then(|h| h.into_iter().find(|(hb, _)| *hb == b).map(|(_, n)| n))
                .unwrap_or(0);
            v.push((s, count));
        }
        with_counts.insert(b, v);
    }
    crate::upstream::reset_upstream_plan(ctx, with_counts, groups, spec, apply).await
}

/// Plans a reset on every broker concerned, then (with `execute`) applies it broker by broker.
pub async fn reset_core(
    ctx: &Ctx,
    scope: ResetScope,
    spec: ResetSpec,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    let mut groups = scope.groups.clone();
    let mut known: Vec<Record> = Vec::new();
    if scope.all_groups || scope.all_topics {
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
    let mut per_broker: BTreeMap<Broker, Vec<TopicScope>> = BTreeMap::new();
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
                        .map(|t| TopicScope {
                            topic: t.clone(),
                            queues: None,
                        })
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
                per_broker.entry(b).or_default().push(TopicScope {
                    topic: topic.clone(),
                    queues: queues.clone(),
                });
            }
        }
    }
    if let Some(only) = &scope.brokers {
        per_broker.retain(|b, _| only.iter().any(|o| *o == b.name || *o == b.addr));
        if per_broker.is_empty() {
            return Err(AdminError::Failed(format!(
                "none of the brokers concerned is {}",
                only.join(" or ")
            )));
        }
    }
    let brokers: Vec<Broker> = per_broker.keys().cloned().collect();
    if !ctx.cluster.all_ferro(&brokers).await? {
        if scope.allow_intents {
            return Err(AdminError::NotSupported(
                "--allow-intents: intents need ferromq's offset extensions on every broker".into(),
            ));
        }
        return reset_without_extensions(ctx, per_broker, &groups, &spec, apply).await;
    }
    let jobs = per_broker
        .into_iter()
        .map(|(b, topics)| {
            let request = ChangeRequest::Reset(ResetRequest {
                groups: groups.clone(),
                topics,
                spec: spec.clone(),
                dry_run: true,
                allow_intents: scope.allow_intents,
                expect: None,
            });
            (b, request)
        })
        .collect();
    plan_apply(ctx, jobs, apply, groups.len(), "reset").await
}
