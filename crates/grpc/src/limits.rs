//! The broker's limits, applied to gRPC connections as to Remoting ones:
//!
//! - `max-connections` counts the broker's connections on every port together: a gRPC
//!   connection takes a slot at accept ([`admit`]) and gives it back when hyper drops the
//!   connection ([`Counted`]); past the limit it is closed at once and counted in
//!   `limit_hits{limit="max-connections"}`.
//! - `max-inflight-per-connection` is each connection's HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`
//!   (hyper would otherwise advertise 200): a client opens at most that many calls at
//!   once and waits for one to end before the next.
//! - `max-frame-bytes` is the largest gRPC message read or written, as it is the largest
//!   Remoting frame (a larger request is answered OUT_OF_RANGE before it reaches a handler).
//! - A connection that has not sent the HTTP/2 preface and its first frame within
//!   [`PREFACE_TIMEOUT`] is closed: hyper waits for them without a deadline, and its keepalive
//!   pings start only after them, so a silent socket would hold its slot for good.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ferromq_broker::Broker;
use ferromq_net::ConnectionSlot;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How long a new connection may take to send the HTTP/2 preface and its first frame header.
pub(crate) const PREFACE_TIMEOUT: Duration = Duration::from_secs(10);
/// The client preface (24 bytes) and one frame header (9): what hyper reads before it serves.
const PREFACE_BYTES: usize = 24 + 9;

/// One connection's place under `max-connections` (the Remoting listeners' counter), and its
/// count in the connections gauge; both given back on drop.
pub(crate) struct Slot {
    _place: ConnectionSlot,
    broker: Arc<Broker>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.broker.metrics.connections.dec();
    }
}

/// Takes a slot for a new connection, or counts the refusal when the broker is full.
pub(crate) fn admit(broker: &Arc<Broker>) -> Option<Slot> {
    let Some(place) = ConnectionSlot::take(&broker.open_connections, broker.cfg.max_connections)
    else {
        broker.metrics.limit_hit("max-connections");
        return None;
    };
    broker.metrics.connections.inc();
    Some(Slot {
        _place: place,
        broker: broker.clone(),
    })
}

/// Per-connection HTTP/2 and message limits, from the broker's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnLimits {
    pub max_streams: u32,
    pub max_message: usize,
}

impl ConnLimits {
    pub fn of(broker: &Broker) -> Self {
        ConnLimits {
            max_streams: u32::try_from(broker.cfg.max_inflight_per_connection).unwrap_or(u32::MAX),
            max_message: broker.cfg.max_frame_bytes,
        }
    }
}

/// A served connection holding its [`Slot`]: the slot goes when hyper drops the connection.
pub(crate) struct Counted<S> {
    io: S,
    _slot: Slot,
    /// Until the preface has arrived: the bytes still expected and the deadline for them.
    preface: Option<(usize, Pin<Box<Sleep>>)>,
}

impl<S> Counted<S> {
    /// Wraps a connection just accepted (its preface deadline starts now; needs a runtime).
    pub fn new(io: S, slot: Slot) -> Self {
        let deadline = Box::pin(tokio::time::sleep(PREFACE_TIMEOUT));
        Counted {
            io,
            _slot: slot,
            preface: Some((PREFACE_BYTES, deadline)),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Some((left, deadline)) = this.preface.as_mut() {
            match &read {
                Poll::Ready(Ok(())) => {
                    *left = left.saturating_sub(buf.filled().len() - before);
                    if *left == 0 {
                        this.preface = None;
                    }
                }
                // Registers the deadline's wake-up beside the socket's.
                Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no HTTP/2 preface within the time allowed",
                    )));
                }
                _ => {}
            }
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // hyper gathers HTTP/2 frames into one write only when the transport says it can.
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
