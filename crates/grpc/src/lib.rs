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

pub mod client_commands;
pub mod consume;
pub mod convert;
pub mod produce;
pub mod route;
pub mod service;
pub mod status;
pub mod telemetry;
pub mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_broker::Broker;
use ferromq_protocol::grpc::messaging_service_server::MessagingServiceServer;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::Endpoint;

/// Largest gRPC message accepted or sent (a receive batch of large messages fits).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Serves gRPC on `listener` until `shutdown` is cancelled.
///
/// # Errors
/// The transport failed.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let addr: SocketAddr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    tracing::info!(%addr, "gRPC endpoint listening (apache.rocketmq.v2.MessagingService)");
    let svc = MessagingServiceServer::new(Endpoint::new(broker, addr))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // Small answers must not wait for Nagle's algorithm (measured: 40 ms p99 without this).
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok::<_, std::io::Error>(conn)
    });
    tonic::transport::Server::builder()
        .http2_adaptive_window(Some(true))
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}
