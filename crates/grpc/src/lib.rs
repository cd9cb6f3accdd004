//! The RocketMQ 5.x gRPC endpoint: `apache.rocketmq.v2.MessagingService` served by the broker
//! process itself (upstream puts a proxy in front of its brokers; ferromq needs none).
//!
//! Map of the crate:
//! - [`service`]: the one table from RPC to handler (the `MessagingService` impl).
//! - [`route`]: QueryRoute, QueryAssignment. [`produce`]: SendMessage.
//! - [`consume`]: ReceiveMessage, AckMessage, ChangeInvisibleDuration,
//!   ForwardMessageToDeadLetterQueue, over the broker's POP consumption.
//! - [`telemetry`]: the Telemetry stream (client settings).
//! - [`transaction`]: EndTransaction and the orphaned-transaction questions.
//! - [`client_commands`]: thread stacks and message verification asked of one consumer.
//! - [`convert`]: stored messages to and from `v2::Message`; [`status`]: status codes.
//! - [`workers`]: the endpoint's own single-threaded runtimes, one per core.
//! - [`access`]: credentials and ACLs of each call, when the broker has them on.
//! - `limits`: the broker's connection, stream and message-size limits on this endpoint.

pub mod access;
pub mod client_commands;
pub mod consume;
pub mod convert;
mod limits;
pub mod produce;
pub mod route;
pub mod service;
pub mod status;
pub mod telemetry;
pub mod transaction;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_broker::Broker;
use ferromq_protocol::grpc::messaging_service_server::MessagingServiceServer;
use ferromq_tls::Acceptor;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::Endpoint;

/// Serves gRPC on `listener` until `shutdown` is cancelled, on `threads` threads of its own (0:
/// one per core, see [`workers`]); `tls` decides per connection between cleartext HTTP/2, TLS
/// and refusal.
///
/// # Errors
/// The threads cannot be started.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    tls: Acceptor,
    threads: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    tracing::info!(%addr, threads, "gRPC endpoint listening (apache.rocketmq.v2.MessagingService)");
    let conn_limits = limits::ConnLimits::of(&broker);
    let svc = MessagingServiceServer::new(Endpoint::new(broker.clone(), addr))
        .max_decoding_message_size(conn_limits.max_message)
        .max_encoding_message_size(conn_limits.max_message);
    let mut workers = workers::Workers::start(threads, svc, tls, conn_limits, shutdown.clone())?;
    let mut refused = 0u64;
    let mut last_warning: Option<std::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        let tcp = match accepted.and_then(|(tcp, _)| tcp.into_std()) {
            Ok(tcp) => tcp,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("gRPC accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = limits::admit(&broker) else {
            refused += 1;
            if last_warning.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10)) {
                tracing::warn!(
                    refused,
                    max = broker.cfg.max_connections,
                    "gRPC connections refused: max-connections reached"
                );
                last_warning = Some(std::time::Instant::now());
                refused = 0;
            }
            continue;
        };
        if !workers.dispatch(tcp, slot) {
            tracing::warn!(
                "gRPC connection refused: every thread's queue of new connections is full"
            );
        }
    }
    workers.stopped().await;
    Ok(())
}
