//! [`Connection`]: one TCP connection, used in both directions.
//!
//! A reader task decodes frames: responses complete the pending request with the same opaque,
//! requests are handed to the [`Handler`] in their own task (so a held long-poll never blocks the
//! connection), bounded by a per-connection semaphore. A writer task drains a bounded queue and
//! flushes once per burst, so pipelined responses share a syscall.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{codes, LanguageCode, RemotingCommand};
use ferromq_tls::{ClientTls, MaybeTls};
use futures::{FutureExt, SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::codec::RemotingCodec;
use crate::error::NetError;

/// Serves requests that arrive on a connection.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request. `None` means no response (for oneway requests the response, if
    /// any, is discarded by the connection).
    fn handle(
        self: &Arc<Self>,
        conn: Connection,
        req: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once when the connection has started serving.
    fn on_open(self: &Arc<Self>, _conn: &Connection) {}

    /// Called once when the connection has ended, before pending requests fail.
    fn on_close(self: &Arc<Self>, _conn: &Connection) {}

    /// Called when a configured limit refused something (`limit` names the setting).
    fn on_limit(self: &Arc<Self>, _limit: &'static str) {}
}

/// A handler for connections that expect no requests: answers REQUEST_CODE_NOT_SUPPORTED.
pub struct NoHandler;

impl Handler for NoHandler {
    async fn handle(
        self: &Arc<Self>,
        _conn: Connection,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(not_supported(req.code))
    }
}

/// The standard answer to a code nobody serves (defined with every other refusal in
/// [`ferromq_protocol::Refusal`]).
pub use ferromq_protocol::not_supported;

/// Limits of one connection (and, for [`crate::serve`], of a listener).
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Largest frame accepted or sent. A bigger incoming frame closes the connection; a bigger
    /// response is replaced by a SYSTEM_ERROR naming the limit.
    pub max_frame: usize,
    /// Frames queued for writing before senders wait.
    pub send_queue: usize,
    /// Requests handled at once before the reader stops reading.
    pub max_inflight: usize,
    /// Connections a listener serves at once; more are closed at accept.
    pub max_connections: usize,
    /// Connections open now, shared by every listener served with clones of this config (so
    /// `max_connections` covers a broker's two ports together).
    pub open_connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for ConnConfig {
    fn default() -> Self {
        Self {
            max_frame: ferromq_protocol::DEFAULT_MAX_FRAME,
            send_queue: 1024,
            max_inflight: 1024,
            max_connections: 20_000,
            open_connections: Arc::default(),
        }
    }
}

/// What a response's header and fields may add to its body, at most, in the size check.
fn response_size_estimate(resp: &RemotingCommand) -> usize {
    let fields: usize = resp
        .ext_fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum();
    resp.body.len() + resp.remark.as_ref().map_or(0, String::len) + fields + 256
}

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    id: u64,
    remote: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<RemotingCommand>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: CancellationToken,
    peer: Mutex<(LanguageCode, i32)>,
    max_frame: usize,
}

/// A cheap, cloneable handle to one connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection#{}({})", self.inner.id, self.inner.remote)
    }
}

impl PartialEq for Connection {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}
impl Eq for Connection {}

impl Connection {
    /// Starts the reader and writer tasks of `stream`. The connection closes when `parent` is
    /// cancelled, on any I/O or framing error, or on [`Connection::close`].
    pub fn spawn<H: Handler>(
        stream: TcpStream,
        handler: Arc<H>,
        cfg: &ConnConfig,
        parent: &CancellationToken,
    ) -> std::io::Result<Connection> {
        stream.set_nodelay(true)?;
        let remote = stream.peer_addr()?;
        let local = stream.local_addr()?;
        // A plain socket splits into halves that need no lock between reader and writer.
        let (read_half, write_half) = stream.into_split();
        Ok(Self::start(
            (read_half, write_half),
            (remote, local),
            handler,
            cfg,
            parent,
        ))
    }

    /// An accepted connection, plaintext or TLS.
    ///
    /// # Errors
    /// The socket's addresses cannot be read.
    pub fn spawn_accepted<H: Handler>(
        stream: MaybeTls,
        handler: Arc<H>,
        cfg: &ConnConfig,
        parent: &CancellationToken,
    ) -> std::io::Result<Connection> {
        match stream {
            MaybeTls::Plain(tcp) => Self::spawn(tcp, handler, cfg, parent),
            MaybeTls::Tls(tls) => {
                let tcp = tls.get_ref().0;
                tcp.set_nodelay(true)?;
                let addrs = (tcp.peer_addr()?, tcp.local_addr()?);
                Ok(Self::start(
                    tokio::io::split(*tls),
                    addrs,
                    handler,
                    cfg,
                    parent,
                ))
            }
        }
    }

    fn start<R, W, H>(
        (read_half, write_half): (R, W),
        (remote, local): (SocketAddr, SocketAddr),
        handler: Arc<H>,
        cfg: &ConnConfig,
        parent: &CancellationToken,
    ) -> Connection
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
        H: Handler,
    {
        let (tx, rx) = mpsc::channel(cfg.send_queue);
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
                remote,
                local,
                tx,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closed: parent.child_token(),
                peer: Mutex::new((LanguageCode::OTHER, 0)),
                max_frame: cfg.max_frame,
            }),
        };
        handler.on_open(&conn);
        let writer = FramedWrite::new(write_half, RemotingCodec::new(cfg.max_frame));
        tokio::spawn(write_loop(writer, rx, conn.inner.closed.clone()));
        let reader = FramedRead::new(read_half, RemotingCodec::new(cfg.max_frame));
        let limit = Arc::new(Semaphore::new(cfg.max_inflight));
        tokio::spawn(read_loop(reader, conn.clone(), handler, limit));
        conn
    }

    /// Connects to `addr` and starts the connection, serving incoming requests with `handler`;
    /// with `tls`, the connection is a TLS session that must verify `addr`'s host.
    ///
    /// # Errors
    /// Connection and handshake failures, or a timeout.
    pub async fn connect<H: Handler>(
        addr: &str,
        handler: Arc<H>,
        cfg: &ConnConfig,
        timeout: Duration,
        tls: Option<&ClientTls>,
    ) -> Result<Connection, NetError> {
        let open = async {
            let tcp = TcpStream::connect(addr).await?;
            let parent = CancellationToken::new();
            let Some(tls) = tls else {
                return Connection::spawn(tcp, handler, cfg, &parent);
            };
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let session = tls.connect(tcp, host).await?;
            let tcp = session.get_ref().0;
            tcp.set_nodelay(true)?;
            let addrs = (tcp.peer_addr()?, tcp.local_addr()?);
            Ok(Self::start(
                tokio::io::split(session),
                addrs,
                handler,
                cfg,
                &parent,
            ))
        };
        Ok(tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| NetError::Timeout(timeout))??)
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Language and version of the peer's last request.
    pub fn peer_info(&self) -> (LanguageCode, i32) {
        *self.inner.peer.lock()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Closes the connection; pending requests fail with [`NetError::Closed`].
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Resolves when the connection has closed.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await
    }

    /// Sends a request and waits for its response.
    ///
    /// # Errors
    /// [`NetError::Timeout`], or [`NetError::Closed`] when the connection ends first.
    ///
    /// # Cancel safety
    /// Dropping the future forgets the request; a late response is discarded.
    pub async fn request(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, NetError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.opaque = opaque;
        cmd.flag &=
            !(ferromq_protocol::command::FLAG_RESPONSE | ferromq_protocol::command::FLAG_ONEWAY);
        let (done_tx, done_rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, done_tx);
        let guard = PendingGuard {
            inner: &self.inner,
            opaque,
        };
        let result = tokio::time::timeout(timeout, async {
            self.inner
                .tx
                .send(cmd)
                .await
                .map_err(|_| NetError::Closed)?;
            tokio::select! {
                r = done_rx => r.map_err(|_| NetError::Closed),
                _ = self.inner.closed.cancelled() => Err(NetError::Closed),
            }
        })
        .await
        .map_err(|_| NetError::Timeout(timeout))?;
        drop(guard);
        result
    }

    /// Sends a oneway request, waiting for room in the send queue.
    ///
    /// # Errors
    /// [`NetError::Closed`].
    pub async fn oneway(&self, cmd: RemotingCommand) -> Result<(), NetError> {
        let cmd = self.prepare_oneway(cmd);
        self.inner.tx.send(cmd).await.map_err(|_| NetError::Closed)
    }

    /// Sends a oneway request without waiting; used for broker → client notifications, which are
    /// dropped rather than allowed to stall the broker when a client stops reading.
    ///
    /// # Errors
    /// [`NetError::Busy`] when the queue is full, [`NetError::Closed`].
    pub fn try_oneway(&self, cmd: RemotingCommand) -> Result<(), NetError> {
        let cmd = self.prepare_oneway(cmd);
        self.inner.tx.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NetError::Busy,
            mpsc::error::TrySendError::Closed(_) => NetError::Closed,
        })
    }

    fn prepare_oneway(&self, mut cmd: RemotingCommand) -> RemotingCommand {
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        cmd.flag = ferromq_protocol::command::FLAG_ONEWAY;
        cmd
    }

    /// Queues a response (used by the reader task). A response larger than the frame limit is
    /// replaced by an error: the client gets an answer, the connection stays up.
    async fn respond(&self, mut resp: RemotingCommand) {
        let size = response_size_estimate(&resp);
        if size > self.inner.max_frame {
            warn!(conn = ?self, size, max = self.inner.max_frame, "response over the frame limit replaced by an error");
            let (opaque, flag, st) = (resp.opaque, resp.flag, resp.serialize_type);
            resp = RemotingCommand::error(
                codes::response::SYSTEM_ERROR,
                format!(
                    "the response would be {size} bytes, over the frame limit of {} bytes \
                     (max-frame-bytes); ask for less (ferromq codes page with offset/limit)",
                    self.inner.max_frame
                ),
            );
            resp.opaque = opaque;
            resp.flag = flag;
            resp.serialize_type = st;
        }
        if self.inner.tx.send(resp).await.is_err() {
            debug!(conn = ?self, "response dropped: connection closed");
        }
    }
}

struct PendingGuard<'a> {
    inner: &'a Inner,
    opaque: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.inner.pending.lock().remove(&self.opaque);
    }
}

/// Writes queued frames until the connection closes.
///
/// A failed write (the peer reset or closed the connection) only ends the writer; it does not
/// close the connection. Requests the peer sent before it went away may still be unread (the
/// kernel keeps data received before a reset readable, and the reader may hold decoded frames),
/// and they must be served: the reader drains them and closes the connection at EOF or on its
/// read error. Closing here made the reader stop at once and drop them; the Go client
/// (rocketmq-client-go/v2) lost its final offset commits that way, since its Shutdown writes
/// oneway UPDATE_CONSUMER_OFFSETs and closes the socket with answers still unread
/// (`oneway_commits_sent_before_the_peer_resets_are_all_applied` in
/// `crates/testkit/tests/it/go_client_bytes.rs`). Once the writer is gone, responses are dropped.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: FramedWrite<W, RemotingCodec>,
    mut rx: mpsc::Receiver<RemotingCommand>,
    closed: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            c = rx.recv() => c,
            _ = closed.cancelled() => None,
        };
        let Some(first) = first else { break };
        if let Err(e) = writer.feed(first).await {
            debug!("write failed: {e}");
            return;
        }
        // Drain whatever else is ready so a burst of responses costs one flush.
        while let Ok(more) = rx.try_recv() {
            if let Err(e) = writer.feed(more).await {
                debug!("write failed: {e}");
                return;
            }
        }
        if let Err(e) = writer.flush().await {
            debug!("flush failed: {e}");
            return;
        }
    }
    closed.cancel();
}

/// Sends a handler's response, tied to its request, unless the request was oneway.
async fn respond(
    conn: &Connection,
    (opaque, st, oneway): (i32, ferromq_protocol::SerializeType, bool),
    resp: Option<RemotingCommand>,
) {
    if let (Some(mut resp), false) = (resp, oneway) {
        resp.opaque = opaque;
        resp.flag |= ferromq_protocol::command::FLAG_RESPONSE;
        resp.serialize_type = st;
        conn.respond(resp).await;
    }
}

async fn read_loop<R: AsyncRead + Unpin, H: Handler>(
    mut reader: FramedRead<R, RemotingCodec>,
    conn: Connection,
    handler: Arc<H>,
    limit: Arc<Semaphore>,
) {
    loop {
        let next = tokio::select! {
            n = reader.next() => n,
            _ = conn.inner.closed.cancelled() => None,
        };
        let cmd = match next {
            None => break,
            Some(Err(e)) => {
                warn!(remote = %conn.remote_addr(), "closing connection: {e}");
                break;
            }
            Some(Ok(cmd)) => cmd,
        };
        if cmd.is_response() {
            let waiter = conn.inner.pending.lock().remove(&cmd.opaque);
            match waiter {
                Some(w) => {
                    let _ = w.send(cmd);
                }
                None => debug!(
                    opaque = cmd.opaque,
                    "response for an unknown or expired request"
                ),
            }
            continue;
        }
        *conn.inner.peer.lock() = (cmd.language, cmd.version);
        let permit = match limit.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Back-pressure: stop reading until a request finishes.
                handler.on_limit("max-inflight-per-connection");
                let Ok(p) = limit.clone().acquire_owned().await else {
                    break;
                };
                p
            }
        };
        let reply_to = (cmd.opaque, cmd.serialize_type, cmd.is_oneway());
        let handler2 = handler.clone();
        let conn2 = conn.clone();
        let code = cmd.code;
        // A handler bug must not take the connection down with it: a panic becomes a
        // SYSTEM_ERROR answer and the reader goes on.
        let mut fut = Box::pin(async move {
            match std::panic::AssertUnwindSafe(handler2.handle(conn2, cmd))
                .catch_unwind()
                .await
            {
                Ok(resp) => resp,
                Err(_) => {
                    tracing::error!(code, "request handler panicked");
                    Some(RemotingCommand::error(
                        codes::response::SYSTEM_ERROR,
                        format!("internal error while serving request code {code}"),
                    ))
                }
            }
        });
        // Most requests finish without waiting (an async-flush send, an offset query): run them
        // right here, which saves a task spawn and a cross-thread wake-up per request. Requests
        // that must wait (a held long poll, a sync-flush send) continue in their own task.
        match futures::poll!(&mut fut) {
            std::task::Poll::Ready(resp) => {
                drop(permit);
                respond(&conn, reply_to, resp).await;
            }
            std::task::Poll::Pending => {
                let conn2 = conn.clone();
                tokio::spawn(async move {
                    let resp = fut.await;
                    drop(permit);
                    respond(&conn2, reply_to, resp).await;
                });
            }
        }
    }
    conn.inner.closed.cancel();
    handler.on_close(&conn);
    conn.inner.pending.lock().clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panicky;

    impl Handler for Panicky {
        async fn handle(
            self: &Arc<Self>,
            _conn: Connection,
            req: RemotingCommand,
        ) -> Option<RemotingCommand> {
            if req.code == 1 {
                panic!("handler bug");
            }
            Some(RemotingCommand::success())
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_system_error_and_the_connection_lives_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shutdown = CancellationToken::new();
        tokio::spawn(crate::serve(
            listener,
            Arc::new(Panicky),
            ConnConfig::default(),
            ferromq_tls::Acceptor::plaintext(),
            shutdown.clone(),
        ));
        let c = Connection::connect(
            &addr,
            Arc::new(NoHandler),
            &ConnConfig::default(),
            Duration::from_secs(5),
            None,
        )
        .await
        .unwrap();
        let r = c
            .request(RemotingCommand::request(1), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(r.code, codes::response::SYSTEM_ERROR);
        let r = c
            .request(RemotingCommand::request(2), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(r.code, codes::response::SUCCESS);
        shutdown.cancel();
    }
}
