//! HTTP/2 "rapid reset" on the gRPC port, with a raw `h2` client: thousands of calls opened and
//! cancelled at once (RST_STREAM right after HEADERS), the pattern of CVE-2023-44487. The
//! endpoint closes such a connection with GOAWAY (ENHANCE_YOUR_CALM) after a bounded number of
//! resets, within milliseconds, and keeps serving: a message sent afterwards on a new
//! connection is stored and read back, and the broker's memory has not grown with the flood.

use crate::common;

use std::time::{Duration, Instant};

use common::grpc::{connect, receive, receive_req, send};
use common::{rss_kib, runtime, Server};
use ferromq_protocol::grpc::receive_message_response::Content;

const STREAMS: usize = 20_000;

/// Opens up to `n` SendMessage calls on one connection and cancels each at once; returns how
/// many were opened, and why the connection ended if the endpoint closed it first.
async fn open_and_reset(addr: &str, n: usize) -> (usize, Option<String>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2c, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let conn = tokio::spawn(conn);
    let mut opened = 0;
    let mut ended = None;
    for _ in 0..n {
        if let Err(e) = futures::future::poll_fn(|cx| h2c.poll_ready(cx)).await {
            ended = Some(e.to_string());
            break;
        }
        let req = tonic::codegen::http::Request::post(format!(
            "http://{addr}/apache.rocketmq.v2.MessagingService/SendMessage"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
        match h2c.send_request(req, false) {
            Ok((answer, mut body)) => {
                body.send_reset(h2::Reason::CANCEL);
                drop(answer);
                opened += 1;
            }
            Err(e) => {
                ended = Some(e.to_string());
                break;
            }
        }
    }
    drop(h2c);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
    (opened, ended)
}

#[test]
fn rapid_reset_is_shed_and_the_endpoint_keeps_serving() {
    let server = Server::standalone(&[]);
    let addr = server.grpc_addr();
    let pid = server.pid().expect("broker pid");
    runtime().block_on(async {
        // Warm up: one flood so the allocator and the thread's tables are at their working size.
        open_and_reset(&addr, 2_000).await;
        let before = rss_kib(pid).expect("the broker's VmRSS");
        let started = Instant::now();
        let (opened, ended) = open_and_reset(&addr, STREAMS).await;
        let took = started.elapsed();
        assert!(opened > 0, "no call could be opened");
        // h2 counts the resets and closes the connection (GOAWAY, ENHANCE_YOUR_CALM) long
        // before 20,000: measured 272-1,875 calls.
        assert!(
            ended.is_some() && opened < STREAMS,
            "the endpoint took {opened} reset calls without closing the connection"
        );
        assert!(
            took < Duration::from_secs(30),
            "{opened} resets took {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(pid).expect("the broker is still running");
        eprintln!(
            "{opened} calls opened and reset in {took:?} (connection ended: {ended:?}); \
             broker RSS {before} -> {after} KiB"
        );
        assert!(
            after < before + 32 * 1024,
            "RSS grew from {before} to {after} KiB over {opened} reset calls"
        );

        // A new connection is served, and what it sends is stored.
        let mut c = connect(&server).await;
        send(&mut c, "AfterReset", "still here").await;
        let got = receive(
            &mut c,
            receive_req("AfterReset", "AfterResetGroup", 1, 30, 5),
        )
        .await;
        let bodies: Vec<_> = got
            .into_iter()
            .filter_map(|r| match r.content {
                Some(Content::Message(m)) => Some(m.body),
                _ => None,
            })
            .collect();
        assert_eq!(bodies, vec![bytes::Bytes::from_static(b"still here")]);
    });
}
