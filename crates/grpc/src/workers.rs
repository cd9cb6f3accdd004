//! The threads the gRPC endpoint runs on: each is a single-threaded tokio runtime serving the
//! connections handed to it, round-robin, by the accept loop.
//!
//! Why not the broker's work-stealing runtime: hyper serves every HTTP/2 stream as a task of its
//! own, and there each new task woke a parked worker thread to steal it. Measured on a gRPC send
//! run (64 in flight, 1 KiB): 1.77 system calls and 0.32 context switches per message against
//! Remoting's 0.63 and 0.06, and 27–30 µs of broker CPU per message. On threads of their own,
//! where a connection's streams never leave its thread: 0.47 and 0.05, 16–21 µs.
//! (docs/benchmarks.md, "RocketMQ 5.x gRPC").

use std::sync::Arc;

use ferromq_protocol::grpc::messaging_service_server::MessagingServiceServer;
use ferromq_tls::Acceptor;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::codegen::{http, Service};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::limits::{ConnLimits, Counted, Slot};
use crate::service::Endpoint;

/// Accepted connections waiting for their thread; beyond, the next thread is tried.
const QUEUE_PER_THREAD: usize = 256;

/// TLS handshakes in progress at once on one thread; more connections are closed.
const MAX_HANDSHAKES_PER_THREAD: usize = 512;

/// How often an idle connection is pinged, and how long the answer may take before the
/// connection is closed.
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The running threads: where to hand connections, and how to know they stopped.
pub(crate) struct Workers {
    queues: Vec<mpsc::Sender<(std::net::TcpStream, Slot)>>,
    next: usize,
    stopped: Vec<oneshot::Receiver<()>>,
}

impl Workers {
    /// Starts `threads` threads serving `svc` until `shutdown`.
    ///
    /// # Errors
    /// A thread or its runtime cannot be created.
    pub(crate) fn start(
        threads: usize,
        svc: MessagingServiceServer<Endpoint>,
        tls: Acceptor,
        limits: ConnLimits,
        shutdown: CancellationToken,
    ) -> std::io::Result<Workers> {
        let mut queues = Vec::with_capacity(threads);
        let mut stopped = Vec::with_capacity(threads);
        for i in 0..threads {
            let (tx, rx) = mpsc::channel(QUEUE_PER_THREAD);
            let (done_tx, done_rx) = oneshot::channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (svc, tls, shutdown) = (svc.clone(), tls.clone(), shutdown.clone());
            std::thread::Builder::new()
                .name(format!("ferromq-grpc-{i}"))
                .spawn(move || {
                    runtime.block_on(serve_thread(rx, svc, tls, limits, shutdown));
                    let _ = done_tx.send(());
                })?;
            queues.push(tx);
            stopped.push(done_rx);
        }
        Ok(Workers {
            queues,
            next: 0,
            stopped,
        })
    }

    /// Hands a new connection (and its place under `max-connections`) to the next thread with
    /// room; `false` when every queue is full (the connection is then closed).
    pub(crate) fn dispatch(&mut self, tcp: std::net::TcpStream, slot: Slot) -> bool {
        let mut conn = (tcp, slot);
        for _ in 0..self.queues.len() {
            let i = self.next;
            self.next = (self.next + 1) % self.queues.len();
            match self.queues[i].try_send(conn) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c)) => {
                    conn = c
                }
            }
        }
        false
    }

    /// Waits for every thread to finish (after shutdown).
    pub(crate) async fn stopped(self) {
        for s in self.stopped {
            let _ = s.await;
        }
    }
}

/// One thread: registers each connection with this thread's reactor, runs the TLS mode, and
/// serves HTTP/2 on what passes; after `shutdown`, each connection is closed gracefully
/// (GOAWAY, streams in progress finish) and the thread ends when the last one has.
async fn serve_thread(
    mut conns: mpsc::Receiver<(std::net::TcpStream, Slot)>,
    svc: MessagingServiceServer<Endpoint>,
    tls: Acceptor,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    let http2 = http2_settings(limits);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES_PER_THREAD));
    let served = TaskTracker::new();
    loop {
        let (std_tcp, slot) = tokio::select! {
            c = conns.recv() => match c { Some(c) => c, None => break },
            _ = shutdown.cancelled() => break,
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::warn!("gRPC connection refused: {MAX_HANDSHAKES_PER_THREAD} TLS handshakes already in progress on its thread");
            continue;
        };
        let (tls, http2, shutdown) = (tls.clone(), http2.clone(), shutdown.clone());
        let svc = svc.clone();
        served.spawn(async move {
            let accepted = async {
                let tcp = tokio::net::TcpStream::from_std(std_tcp)?;
                // Small answers must not wait for Nagle's algorithm (measured: 40 ms p99).
                tcp.set_nodelay(true)?;
                tls.accept(tcp).await
            };
            let io = tokio::select! {
                a = accepted => match a {
                    Ok(io) => io,
                    Err(e) => return tracing::debug!("gRPC connection refused: {e}"),
                },
                // A handshake in progress does not hold the thread's end up.
                _ = shutdown.cancelled() => return,
            };
            drop(permit);
            let svc = Connection {
                info: io.connect_info(),
                svc,
            };
            let conn = http2.serve_connection(TokioIo::new(Counted::new(io, slot)), svc);
            let mut conn = std::pin::pin!(conn);
            let served = tokio::select! {
                r = conn.as_mut() => r,
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!("gRPC connection ended: {e}");
            }
        });
    }
    served.close();
    served.wait().await;
}

/// The HTTP/2 settings of every connection (hyper's defaults otherwise).
fn http2_settings(limits: ConnLimits) -> http2::Builder<TokioExecutor> {
    let mut b = http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .adaptive_window(true)
        .max_concurrent_streams(limits.max_streams)
        // Finds peers that vanished without closing (their Telemetry streams and long polls
        // would otherwise hold their slots until the OS gives up on the socket).
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT);
    b
}

/// One connection's service: every request goes straight to the `MessagingService` table,
/// carrying the peer's address for `remote_addr()`.
///
/// Why not tonic's `Server`: it passes each request through layers this endpoint does not use
/// (a router for its one service, a timeout, error recovery, a boxed clone of the stack per
/// request). Measured on a gRPC send run (64 in flight, 1 KiB, fresh broker per run, three
/// pairs): 14.1–14.7 → 12.8–13.1 µs of broker CPU per message, 75–81k → 83–84k msg/s.
/// What tonic did that matters here is kept: the peer's address for `remote_addr()`, hyper's
/// HTTP/2 settings, graceful shutdown. Deadlines are the clients' (they cancel the stream).
#[derive(Clone)]
struct Connection {
    info: TcpConnectInfo,
    svc: MessagingServiceServer<Endpoint>,
}

impl hyper::service::Service<http::Request<Incoming>> for Connection {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = <MessagingServiceServer<Endpoint> as Service<http::Request<Incoming>>>::Future;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.info.clone());
        // The generated server is always ready (its `poll_ready` answers at once).
        self.svc.clone().call(req)
    }
}
