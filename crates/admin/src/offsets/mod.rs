//! `ferromq admin offsets …`: the modern family, over ferromq's extension codes.
//!
//! - `reset.rs`: `offsets reset` (and [`reset_core`], shared with the upstream aliases).
//! - `apply.rs`: [`plan_apply`]: plan on every broker, then apply exactly that plan broker by
//!   broker.
//! - `report.rs`: the plan and outcome as shown and as saved with `--export`.
//! - `transfer.rs`: `offsets export` and `offsets import`.
//! - `groups.rs`: `offsets clone` and `offsets delete`.
//! - `history.rs`: `offsets history` and `offsets undo`.
//! - `describe.rs`: `offsets describe` and [`all_groups`].

mod apply;
mod describe;
mod groups;
mod history;
mod report;
mod reset;
mod transfer;

use crate::args::OffsetsCommand;
use crate::{AdminError, Ctx};

pub use apply::plan_apply;
pub use describe::{all_groups, describe};
pub use groups::clone;
pub use reset::reset_core;

use groups::delete;
use history::{history, undo};
use reset::reset;
use transfer::{export, import};

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

/// A reset's scope, resolved by the caller's flags.
pub struct ResetScope {
    pub groups: Vec<String>,
    pub all_groups: bool,
    pub topics: Vec<(String, Option<Vec<i32>>)>,
    pub all_topics: bool,
    pub allow_intents: bool,
    /// Only these brokers (names or addresses); all brokers concerned when `None`.
    pub brokers: Option<Vec<String>>,
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
