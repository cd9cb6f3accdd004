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
use ferromq_tls::{Acceptor, MaybeTls};
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::Endpoint;

/// Largest gRPC message accepted or sent (a receive batch of large messages fits).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// TLS handshakes in progress at once on the gRPC port; more connections are closed at accept.
const MAX_HANDSHAKES: usize = 1024;

/// Serves gRPC on `listener` until `shutdown` is cancelled; `tls` decides per connection between
/// cleartext HTTP/2, TLS and refusal.
///
/// # Errors
/// The transport failed.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    tls: Acceptor,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let addr: SocketAddr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    tracing::info!(%addr, "gRPC endpoint listening (apache.rocketmq.v2.MessagingService)");
    let svc = MessagingServiceServer::new(Endpoint::new(broker, addr))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let server = tonic::transport::Server::builder()
        .http2_adaptive_window(Some(true))
        .add_service(svc);
    if tls.is_plaintext() {
        // Small answers must not wait for Nagle's algorithm (measured: 40 ms p99 without this).
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
            let conn = conn?;
            conn.set_nodelay(true)?;
            Ok::<_, std::io::Error>(conn)
        });
        return server
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await;
    }
    let incoming = tls_incoming(listener, tls, shutdown.clone());
    server
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
}

/// Connections that passed the TLS mode: each handshake runs in its own task (a slow client
/// never holds up the next accept), at most [`MAX_HANDSHAKES`] at once.
fn tls_incoming(
    listener: TcpListener,
    tls: Acceptor,
    shutdown: CancellationToken,
) -> impl futures::Stream<Item = std::io::Result<MaybeTls>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.cancelled() => return,
            };
            let tcp = match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!("gRPC accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = handshakes.clone().try_acquire_owned() else {
                tracing::warn!(
                    "gRPC connection refused: {MAX_HANDSHAKES} TLS handshakes already in progress"
                );
                continue;
            };
            let (tls, tx) = (tls.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                match tls.accept(tcp).await {
                    Ok(stream) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Err(e) => tracing::debug!("gRPC connection refused: {e}"),
                }
                drop(permit);
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
