//! `offsets history` and `offsets undo`: the brokers' change logs.

use ferromq_protocol::codes::request as rq;
use serde_json::{json, Value};

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
    let jobs = vec![(b, json!({"changeId": change_id}))];
    plan_apply(ctx, rq::FERRO_UNDO, jobs, apply, 1, "undo").await
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
    let mut changes: Vec<Value> = Vec::new();
    for b in &brokers {
        // A broker answers at most a page (bounded by entries); follow `nextBefore` until
        // `limit` changes are in or the history ends.
        let mut before = Value::Null;
        let mut got = 0usize;
        loop {
            let r: Value = ctx
                .cluster
                .ferro(
                    b,
                    rq::FERRO_HISTORY,
                    &json!({"group": group, "limit": limit - got, "before": before}),
                )
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            let page = r
                .get("changes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            got += page.len();
            for mut c in page {
                if let Value::Object(m) = &mut c {
                    m.insert("brokerName".into(), Value::String(b.name.clone()));
                }
                changes.push(c);
            }
            match r.get("nextBefore") {
                Some(n) if !n.is_null() && got < limit => before = n.clone(),
                _ => break,
            }
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
