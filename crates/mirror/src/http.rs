//! `/metrics` (Prometheus text format 0.0.4) and `/status` (JSON) over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::metrics::PROMETHEUS_CONTENT_TYPE;
use crate::{Mirror, MirrorError};

/// Binds `addr` and serves until the mirror stops.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(m: Arc<Mirror>, addr: SocketAddr) -> Result<(), MirrorError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| MirrorError::Io(format!("--metrics-addr {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| MirrorError::Io(e.to_string()))?;
    let _ = m.http_addr.set(bound);
    tracing::info!("metrics on http://{bound}/metrics, status on http://{bound}/status");
    let stop = m.stop_token();
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(m);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("metrics endpoint: {e}");
        }
    });
    Ok(())
}

async fn metrics(State(m): State<Arc<Mirror>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
        m.metrics().render_prometheus(),
    )
}

async fn status(State(m): State<Arc<Mirror>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&m.status("running")).unwrap_or_default(),
    )
}
