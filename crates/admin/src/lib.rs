//! `ferromq admin`: the operator's command-line tool for topics, groups and consumer progress.
//!
//! - Cluster-aware: brokers are found through the name servers (`-n`, `FERROMQ_NAMESRV`); every
//!   command acts on every master that holds the topics concerned.
//! - `offsets …`: the modern family (reset with dry run by default, describe, export, import,
//!   clone, delete, history, undo) over ferromq's extension codes 9000–9009, used only after
//!   FERRO_CAPABILITIES says the broker serves them.
//! - Upstream `mqadmin` names (`resetOffsetByTime`, `skipAccumulatedMessage`, …) are thin aliases
//!   over the same code; they apply at once, as mqadmin does.
//!
//! Changes spanning several brokers are planned on every broker first (dry run); nothing is applied
//! if any plan fails. They are then applied broker by broker, each atomically with its own change
//! id; when some brokers applied and others failed, [`run`] returns [`EXIT_PARTIAL`] after
//! listing both.

mod args;
mod cluster;
mod offsets;
mod output;
mod records;
mod rocketmq_file;
pub mod time;
mod upstream;

pub use upstream::auth::AuthCommand;

use std::time::Duration;

pub use args::{AdminArgs, AdminCommand, ApplyArgs, FileFormat, OffsetsCommand, Output, ResetArgs};
use cluster::{Broker, Cluster};
use ferromq_client::ClientError;
use thiserror::Error;

/// Exit code: done.
pub const EXIT_OK: i32 = 0;
/// Exit code: an error, nothing applied.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: bad usage (flags, values, input files).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: applied on some brokers, failed on others (both listed).
pub const EXIT_PARTIAL: i32 = 3;

#[derive(Debug, Error)]
pub enum AdminError {
    /// Bad flags, values or input files.
    #[error("{0}")]
    Usage(String),
    /// No name server answered.
    #[error("{0}")]
    Namesrv(String),
    /// A broker failed or refused.
    #[error("broker {broker} ({addr}): {message}")]
    Broker {
        broker: String,
        addr: String,
        message: String,
    },
    /// The broker lacks ferromq's extensions.
    #[error("{0}")]
    NotSupported(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminError::Usage(_) => EXIT_USAGE,
            _ => EXIT_ERROR,
        }
    }

    fn broker(b: &Broker, e: &ClientError) -> Self {
        AdminError::Broker {
            broker: b.name.clone(),
            addr: b.addr.clone(),
            message: e.to_string(),
        }
    }
}

/// What every command gets: the cluster and the output format.
pub(crate) struct Ctx {
    pub cluster: Cluster,
    pub output: Output,
}

/// Runs one admin command; `Ok` carries the exit code ([`EXIT_OK`] or [`EXIT_PARTIAL`]).
///
/// # Errors
/// Every failure, with [`AdminError::exit_code`] giving the process exit code.
pub async fn run(args: AdminArgs) -> Result<i32, AdminError> {
    if let AdminCommand::Completions { shell } = &args.command {
        print_completions(*shell);
        return Ok(EXIT_OK);
    }
    let ctx = Ctx {
        cluster: Cluster::new(
            &args.namesrv,
            args.timeout,
            args.no_extensions,
            &args.connect,
        )?,
        output: args.output,
    };
    // A safety net over the per-request timeouts: no command hangs.
    let limit = args.timeout * 20 + Duration::from_secs(30);
    let fut = dispatch(&ctx, args.command);
    let r = tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| AdminError::Failed(format!("gave up after {limit:?}")))?;
    ctx.cluster.client.remoting.close();
    r
}

async fn dispatch(ctx: &Ctx, cmd: AdminCommand) -> Result<i32, AdminError> {
    match cmd {
        AdminCommand::Offsets { command } => offsets::run(ctx, command).await,
        AdminCommand::Completions { .. } => Ok(EXIT_OK),
        other => upstream::run(ctx, other).await,
    }
}

fn print_completions(shell: clap_complete::Shell) {
    use clap::{Args, Command};
    let mut cmd =
        Command::new("ferromq").subcommand(AdminArgs::augment_args(Command::new("admin")));
    clap_complete::generate(shell, &mut cmd, "ferromq", &mut std::io::stdout());
}
