//! mqadmin's command names, as thin aliases over the modern family (and the cluster calls that
//! have no modern counterpart yet). They apply at once, as mqadmin does.
//!
//! [`run`] hands each command to the one function that carries it out:
//! - `reset.rs`: resetOffsetByTime, skipAccumulatedMessage.
//! - `progress.rs`: consumerProgress (and [`describe_upstream`], `offsets describe` against
//!   brokers without ferromq's extensions).
//! - `groups.rs`: updateSubGroup, deleteSubGroup, consumerConnection, cloneGroupOffset.
//! - `topics.rs`: topicList, topicRoute, topicStatus, updateTopic, deleteTopic.
//! - `cluster.rs`: clusterList, brokerStatus; which masters a command goes to.
//! - `broadcast.rs`: one request on many brokers, and reading upstream answers.
//! - `offsets.rs`: `offsets export` and `offsets reset` on brokers without ferromq's
//!   extensions.
//! - [`auth`]: createUser … listAcl (users and ACLs).

pub mod auth;
mod broadcast;
mod cluster;
mod groups;
mod offsets;
mod progress;
mod reset;
mod topics;

use crate::args::{AdminCommand, ApplyArgs};
use crate::{AdminError, Ctx, EXIT_OK};

pub use offsets::{export_upstream, reset_upstream_plan};
pub use progress::describe_upstream;

/// The modern family's apply flags as mqadmin behaves: no dry run, no confirmation.
fn at_once() -> ApplyArgs {
    ApplyArgs {
        execute: true,
        yes: true,
        export: None,
    }
}

/// Runs one mqadmin command; `Ok` carries the exit code.
///
/// # Errors
/// The command's failure (see [`AdminError`]); a partial success is `Ok(EXIT_PARTIAL)`.
pub async fn run(ctx: &Ctx, cmd: AdminCommand) -> Result<i32, AdminError> {
    match cmd {
        AdminCommand::ResetOffsetByTime {
            group,
            topic,
            timestamp,
            force,
            cluster,
            broker_addr,
            queue,
            offset,
        } => {
            let target = reset::UpstreamReset {
                group,
                topic,
                timestamp,
                force,
                cluster,
                single: broker_addr.zip(queue),
                offset,
            };
            reset::reset_offset_by_time(ctx, target).await
        }
        AdminCommand::SkipAccumulatedMessage {
            group,
            topic,
            force,
            cluster,
        } => reset::skip_accumulated_message(ctx, group, topic, force, cluster).await,
        AdminCommand::ConsumerProgress {
            group,
            topic,
            show_clients,
            cluster: _,
        } => progress::consumer_progress(ctx, group, topic, show_clients).await,
        AdminCommand::CloneGroupOffset {
            src, dst, topic, ..
        } => groups::clone_group_offset(ctx, &src, &dst, topic).await,
        AdminCommand::UpdateSubGroup {
            group,
            cluster,
            broker_addr,
            orderly,
            retry_max_times,
        } => {
            let options = groups::SubGroupOptions {
                orderly,
                retry_max_times,
            };
            groups::update_sub_group(ctx, &group, cluster, broker_addr, options).await
        }
        AdminCommand::DeleteSubGroup {
            group,
            cluster,
            broker_addr,
            remove_offset,
        } => groups::delete_sub_group(ctx, &group, cluster, broker_addr, remove_offset).await,
        AdminCommand::ConsumerConnection { group } => {
            groups::consumer_connection(ctx, &group).await
        }
        AdminCommand::TopicList => topics::topic_list(ctx).await,
        AdminCommand::TopicRoute { topic } => topics::topic_route(ctx, &topic).await,
        AdminCommand::TopicStatus { topic } => topics::topic_status(ctx, &topic).await,
        AdminCommand::UpdateTopic {
            topic,
            cluster,
            broker_addr,
            read,
            write,
            perm,
            order,
            attributes,
            ..
        } => {
            let settings = topics::TopicSettings {
                topic,
                read,
                write,
                perm,
                order,
                attributes,
            };
            topics::update_topic(ctx, settings, cluster, broker_addr).await
        }
        AdminCommand::DeleteTopic { topic, cluster } => {
            topics::delete_topic(ctx, &topic, cluster.as_deref()).await
        }
        AdminCommand::ClusterList => cluster::cluster_list(ctx).await,
        AdminCommand::BrokerStatus { broker_addr } => {
            cluster::broker_status(ctx, broker_addr).await
        }
        AdminCommand::Auth(c) => auth::run(ctx, c).await,
        AdminCommand::Offsets { .. } | AdminCommand::Completions { .. } => Ok(EXIT_OK),
    }
}
