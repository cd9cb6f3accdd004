//! The `/metrics` endpoint of ferromq's servers (broker, name server): Prometheus text format
//! 0.0.4 over HTTP/1, rendered at each scrape by the server that owns the figures.
//!
//! Rendering runs on a blocking thread: some figures (per-group lag) are read from whole tables
//! and must not hold an async worker.

use std::net::SocketAddr;
use std::sync::Arc;

pub use prometheus_client;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// Renders a registry as Prometheus text.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_text::encode(&mut out, registry) {
        tracing::warn!("metrics encoding failed: {e}");
    }
    out
}

/// Serves `GET /metrics` on `addr` until `stop` is cancelled; `render` produces the text at each
/// scrape. Returns the bound address, or `None` (logged) when it cannot be bound: a server runs
/// without its metrics rather than not at all.
pub async fn serve<F>(addr: SocketAddr, render: F, stop: CancellationToken) -> Option<SocketAddr>
where
    F: Fn() -> String + Send + Sync + 'static,
{
    use axum::routing::get;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, "metrics endpoint not started: {e}");
            return None;
        }
    };
    let bound = listener.local_addr().ok();
    let render = Arc::new(render);
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let render = render.clone();
            async move {
                let text = tokio::task::spawn_blocking(move || render())
                    .await
                    .unwrap_or_default();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        prometheus_text::CONTENT_TYPE,
                    )],
                    text,
                )
            }
        }),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("metrics endpoint: {e}");
        }
    });
    tracing::info!(?bound, "metrics on /metrics");
    bound
}
