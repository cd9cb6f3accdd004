//! `offsets history` and `offsets undo`: the brokers' change logs.

use ferromq_protocol::body::progress::{
    Change, ChangeRequest, HistoryRequest, HistoryResult, UndoRequest,
};
use ferromq_protocol::codes::request as rq;
use serde::Serialize;

use super::apply::plan_apply;
use crate::args::{ApplyArgs, Output};
use crate::output::{print_json, table};
use crate::time::format_ms;
use crate::{AdminError, Ctx, EXIT_OK};

pub(super) async fn undo(
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
    let request = ChangeRequest::Undo(UndoRequest {
        change_id,
        dry_run: true,
        expect: None,
    });
    plan_apply(ctx, vec![(b, request)], apply, 1, "undo").await
}

/// A change as listed: the broker it was made on (change ids are per broker) and the change.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrokerChange {
    broker_name: String,
    #[serde(flatten)]
    change: Change,
}

pub(super) async fn history(
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
    let mut changes: Vec<BrokerChange> = Vec::new();
    for b in &brokers {
        // A broker answers at most a page (bounded by entries); follow `nextBefore` until
        // `limit` changes are in or the history ends.
        let mut req = HistoryRequest {
            group: group.clone(),
            limit,
            before: None,
        };
        let mut got = 0usize;
        loop {
            req.limit = limit - got;
            let page: HistoryResult = ctx
                .cluster
                .ferro(b, rq::FERRO_HISTORY, &req)
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            got += page.changes.len();
            changes.extend(page.changes.into_iter().map(|change| BrokerChange {
                broker_name: b.name.clone(),
                change,
            }));
            match page.next_before {
                Some(n) if got < limit => req.before = Some(n),
                _ => break,
            }
        }
    }
    changes.sort_by_key(|c| std::cmp::Reverse(c.change.time_ms));
    if ctx.output == Output::Json {
        print_json(&serde_json::json!({ "changes": changes }));
        return Ok(EXIT_OK);
    }
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let es = &c.change.entries;
            let shown: Vec<String> = es
                .iter()
                .take(4)
                .map(|e| {
                    format!(
                        "{}/{}/{}:{}→{}",
                        e.key.group,
                        e.key.topic,
                        e.key.queue_id,
                        opt(e.before),
                        opt(e.after)
                    )
                })
                .collect();
            let more = es.len().saturating_sub(4);
            let moves = if more > 0 {
                format!("{} (+{more})", shown.join(" "))
            } else {
                shown.join(" ")
            };
            vec![
                c.broker_name.clone(),
                c.change.id.to_string(),
                format_ms(c.change.time_ms),
                c.change.operation.clone(),
                c.change
                    .undo_of
                    .map_or_else(|| "-".into(), |u| u.to_string()),
                c.change.actor.clone(),
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
