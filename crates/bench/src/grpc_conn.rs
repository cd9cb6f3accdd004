//! The gRPC load generator's client: gRPC calls written straight onto one `h2` connection (the
//! protocol's length-prefixed protobuf messages, `grpc-status` in the trailers).
//!
//! Why not tonic's client over `tonic::transport::Channel`: per call it passes a buffer task
//! with its own queue, a reconnect layer, boxed request and response bodies, and hyper spawns a
//! task for each request. On 64 sends in flight over 4 connections that load generator took
//! 10.6–10.7 µs of CPU per message against the broker's 13–17 µs, on the same two cores, so it
//! measured its own cost as much as the broker's (docs/benchmarks.md, "RocketMQ 5.x gRPC"). A
//! load generator needs none of that: one connection per thread, no reconnects (a failed call
//! is counted as an error, as in the Remoting modes), no compression.

use std::future::poll_fn;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, TE};
use http::{HeaderMap, Method, Request, StatusCode, Uri};

/// The service every call goes to.
const SERVICE: &str = "/apache.rocketmq.v2.MessagingService/";

/// HTTP/2 flow-control windows (hyper's client defaults): a receive of 32 messages of 1 KiB
/// never waits for a WINDOW_UPDATE.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;

/// The largest answer accepted (the broker's default largest frame).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("HTTP/2: {0}")]
    Transport(#[from] h2::Error),
    #[error("gRPC status {code}: {message}")]
    Status { code: i32, message: String },
    #[error("malformed answer: {0}")]
    Malformed(String),
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
}

/// One HTTP/2 connection; clones share it (each call is one stream).
#[derive(Clone)]
pub(crate) struct GrpcConnection {
    send: SendRequest<Bytes>,
    /// `http://host:port`, each call's URI before its path.
    origin: String,
}

impl GrpcConnection {
    /// Connects to `endpoint` (`host:port`, cleartext HTTP/2) and drives the connection on a
    /// task of the current runtime until every clone is dropped.
    pub(crate) async fn connect(endpoint: &str) -> std::io::Result<Self> {
        let tcp = tokio::net::TcpStream::connect(endpoint).await?;
        tcp.set_nodelay(true)?;
        let (send, conn) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake(tcp)
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("gRPC connection ended: {e}");
            }
        });
        Ok(GrpcConnection {
            send,
            origin: format!("http://{endpoint}"),
        })
    }

    /// Calls `method` of `MessagingService` with `request` and `metadata`, and returns every
    /// message of the answer (one for a unary call, any number for a server stream).
    pub(crate) async fn call<Req, Resp>(
        &mut self,
        method: &str,
        request: &Req,
        metadata: HeaderMap,
    ) -> Result<Vec<Resp>, CallError>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        let uri: Uri = format!("{}{SERVICE}{method}", self.origin)
            .parse()
            .map_err(|e| CallError::Malformed(format!("method {method}: {e}")))?;
        let mut head = Request::new(());
        *head.method_mut() = Method::POST;
        *head.uri_mut() = uri;
        *head.headers_mut() = metadata;
        let headers = head.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));

        poll_fn(|cx| self.send.poll_ready(cx)).await?;
        let (answer, mut body) = self.send.send_request(head, false)?;
        body.send_data(frame(request), true)?;

        let (parts, mut incoming) = answer.await?.into_parts();
        if parts.status != StatusCode::OK {
            return Err(CallError::Malformed(format!(
                "HTTP status {}",
                parts.status
            )));
        }
        // A "trailers-only" answer carries its status in the headers and has no body.
        if parts.headers.contains_key(GRPC_STATUS) {
            check_status(&parts.headers)?;
        }
        let mut data = BytesMut::new();
        while let Some(chunk) = incoming.data().await {
            let chunk = chunk?;
            incoming.flow_control().release_capacity(chunk.len())?;
            if data.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(CallError::Malformed(format!(
                    "an answer of more than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            data.extend_from_slice(&chunk);
        }
        if let Some(trailers) = incoming.trailers().await? {
            check_status(&trailers)?;
        } else if !parts.headers.contains_key(GRPC_STATUS) {
            return Err(CallError::Malformed("an answer without grpc-status".into()));
        }
        messages(data.freeze())
    }
}

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// A request as one gRPC message: uncompressed flag, big-endian length, protobuf.
fn frame(request: &impl prost::Message) -> Bytes {
    let len = request.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    // Cannot fail: the buffer has room for `encoded_len` bytes.
    let _ = request.encode(&mut buf);
    buf.freeze()
}

/// `grpc-status` 0, or the call's error with its `grpc-message`.
fn check_status(headers: &HeaderMap) -> Result<(), CallError> {
    let code = headers
        .get(GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| CallError::Malformed("an unreadable grpc-status".into()))?;
    if code == 0 {
        return Ok(());
    }
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Err(CallError::Status { code, message })
}

/// The length-prefixed messages of an answer's body.
fn messages<Resp: prost::Message + Default>(mut data: Bytes) -> Result<Vec<Resp>, CallError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 5 {
            return Err(CallError::Malformed("a truncated message header".into()));
        }
        let compressed = data.get_u8();
        let len = data.get_u32() as usize;
        if compressed != 0 {
            return Err(CallError::Malformed("a compressed message".into()));
        }
        if data.len() < len {
            return Err(CallError::Malformed(format!(
                "a message of {len} bytes with {} left",
                data.len()
            )));
        }
        let msg = Resp::decode(data.split_to(len))
            .map_err(|e| CallError::Malformed(format!("protobuf: {e}")))?;
        out.push(msg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::grpc::{Resource, Status};

    #[test]
    fn framed_messages_read_back_one_by_one() {
        let a = Status {
            code: 20000,
            message: "ok".into(),
        };
        let b = Resource {
            resource_namespace: String::new(),
            name: "T".into(),
        };
        let mut body = BytesMut::new();
        body.extend_from_slice(&frame(&a));
        body.extend_from_slice(&frame(&a));
        let got: Vec<Status> = messages(body.freeze()).unwrap();
        assert_eq!(got, vec![a.clone(), a]);
        let one = frame(&b);
        assert_eq!(one[0], 0);
        assert_eq!(
            u32::from_be_bytes([one[1], one[2], one[3], one[4]]) as usize,
            one.len() - 5
        );
    }

    #[test]
    fn truncated_or_compressed_answers_are_errors() {
        let a = Status {
            code: 1,
            message: "x".into(),
        };
        let f = frame(&a);
        let cut = f.slice(..f.len() - 1);
        assert!(matches!(
            messages::<Status>(cut),
            Err(CallError::Malformed(_))
        ));
        assert!(matches!(
            messages::<Status>(f.slice(..3)),
            Err(CallError::Malformed(_))
        ));
        let mut compressed = BytesMut::from(&f[..]);
        compressed[0] = 1;
        assert!(matches!(
            messages::<Status>(compressed.freeze()),
            Err(CallError::Malformed(_))
        ));
    }

    #[test]
    fn grpc_status_and_message_come_from_the_trailers() {
        let mut h = HeaderMap::new();
        h.insert(GRPC_STATUS, HeaderValue::from_static("0"));
        assert!(check_status(&h).is_ok());
        h.insert(GRPC_STATUS, HeaderValue::from_static("12"));
        h.insert("grpc-message", HeaderValue::from_static("no such method"));
        match check_status(&h) {
            Err(CallError::Status { code, message }) => {
                assert_eq!((code, message.as_str()), (12, "no such method"))
            }
            other => panic!("{other:?}"),
        }
        h.insert(GRPC_STATUS, HeaderValue::from_static("x"));
        assert!(matches!(check_status(&h), Err(CallError::Malformed(_))));
    }
}
