//! ferromq's load generator, behind `ferromq bench produce` and `ferromq bench consume` (like
//! upstream RocketMQ's benchmark tools). It speaks the Remoting protocol through
//! `ferromq-client`, so it measures Apache RocketMQ brokers as well as ferromq, and the 5.x gRPC
//! protocol (`grpc-produce`, `grpc-consume`: module `grpc`).
//!
//! - [`args`]: the command line.
//! - `produce`: `--inflight` tasks over `--producers` connections, round-robin over every
//!   writable queue, sending prebuilt SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE) requests.
//! - `consume`: one task per readable queue, pulling in sequence.
//! - [`stats`]: per-task windows and HDR histograms, drained every `--report-interval` into
//!   [`IntervalReport`]s and, at the end, a [`Summary`] (text, or JSON with `--json`).
//!
//! Throughput counts messages and their body bytes (MB = 10^6 bytes); latency is per request
//! in microseconds (a batch is one sample), over successful requests only.

pub mod args;
mod commit;
mod consume;
mod driver;
mod grpc;
mod grpc_conn;
mod produce;
mod route;
pub mod stats;

use clap::{Args, Subcommand};
use ferromq_client::ClientError;
use thiserror::Error;

pub use args::{CommonArgs, ConsumeArgs, ProduceArgs, StartFrom};
pub use commit::CommitArgs;
pub use grpc::{GrpcArgs, GrpcConsumeArgs, GrpcProduceArgs};
pub use stats::{IntervalReport, Summary};

/// `ferromq bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Send messages as fast as the broker takes them and report throughput and latency.
    ///
    /// Example: ferromq bench produce --namesrv 127.0.0.1:9876 --size 1024 --inflight 64 --duration 30s
    Produce(ProduceArgs),
    /// Pull a topic's messages from every queue and report throughput and pull latency.
    ///
    /// Latency counts the pulls that returned messages, long-polling waits included.
    ///
    /// Example: ferromq bench consume --namesrv 127.0.0.1:9876 --from earliest --until-caught-up
    Consume(ConsumeArgs),
    /// Commit consumer offsets (UPDATE_CONSUMER_OFFSET, acknowledged) for many groups and report
    /// commits/s and latency.
    ///
    /// Example: ferromq bench commit --namesrv 127.0.0.1:9876 --inflight 64 --duration 10s
    Commit(CommitArgs),
    /// Send over the RocketMQ 5.x gRPC protocol (SendMessage, one message per request).
    ///
    /// Example: ferromq bench grpc-produce --endpoint 127.0.0.1:8081 --inflight 64 --duration 10s
    GrpcProduce(GrpcProduceArgs),
    /// Receive and ack over gRPC (POP): one ReceiveMessage plus one AckMessage per cycle.
    ///
    /// Example: ferromq bench grpc-consume --endpoint 127.0.0.1:8081 --batch 1 --inflight 1
    GrpcConsume(GrpcConsumeArgs),
}

/// Why a benchmark could not run, or measured nothing.
#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{context}")]
    Cluster {
        context: String,
        #[source]
        source: ClientError,
    },
    #[error("{0}")]
    Route(String),
    #[error("invalid arguments: {0}")]
    Args(String),
    #[error("no request succeeded ({errors} failed; the first failures are logged above)")]
    NothingSucceeded { errors: u64 },
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs `ferromq bench …`: the load, the interval lines, then the summary on stdout.
///
/// # Errors
/// The cluster cannot be reached or the topic has no usable route, the arguments contradict
/// each other, or every request failed (after the summary has been printed).
pub async fn run(args: BenchArgs) -> Result<(), BenchError> {
    let (summary, json) = match args.command {
        BenchCommand::Produce(a) => {
            let json = a.common.json;
            (produce::run(a).await?, json)
        }
        BenchCommand::Consume(a) => {
            let json = a.common.json;
            (consume::run(a).await?, json)
        }
        BenchCommand::Commit(a) => {
            let json = a.common.json;
            (commit::run(a).await?, json)
        }
        BenchCommand::GrpcProduce(a) => {
            let json = a.common.json;
            (grpc::produce(a).await?, json)
        }
        BenchCommand::GrpcConsume(a) => {
            let json = a.common.json;
            (grpc::consume(a).await?, json)
        }
    };
    driver::Output { json, quiet: false }.summary(&summary)?;
    if summary.msgs == 0 && summary.errors > 0 {
        return Err(BenchError::NothingSucceeded {
            errors: summary.errors,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    #[test]
    fn the_binary_can_use_run_with_question_mark() {
        fn anyhow_compatible<E: std::error::Error + Send + Sync + 'static>() {}
        anyhow_compatible::<BenchError>();
        fn send<T: Send>(_: &T) {}
        let args = Cli::try_parse_from(["bench", "produce", "--namesrv", "127.0.0.1:1"])
            .unwrap()
            .args;
        let fut = run(args);
        send(&fut);
    }
}
