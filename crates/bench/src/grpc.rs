//! `ferromq bench grpc-produce` and `ferromq bench grpc-consume`: the same measurements over the
//! RocketMQ 5.x gRPC protocol (`apache.rocketmq.v2.MessagingService`), against ferromq's endpoint
//! or any 5.x proxy. A consume cycle is one ReceiveMessage plus the AckMessage of what it got.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ferromq_protocol::grpc::{
    receive_message_response::Content, AckMessageEntry, AckMessageRequest, AckMessageResponse,
    Code, FilterExpression, FilterType, Message, MessageQueue, ReceiveMessageRequest,
    ReceiveMessageResponse, Resource, SendMessageRequest, SendMessageResponse, SystemProperties,
};
use http::HeaderMap;
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::parse_duration;
use crate::driver::{drive, Budget, ErrorLog, Output, Stop};
use crate::grpc_conn::{CallError, GrpcConnection};
use crate::stats::{Collector, Recorder, Summary};
use crate::BenchError;

/// What both gRPC modes take.
#[derive(Args, Debug, Clone)]
pub struct GrpcArgs {
    /// The gRPC endpoint, `host:port` (ferromq's default port is 8081).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub endpoint: String,
    #[arg(long, default_value = "BenchTopic")]
    pub topic: String,
    /// Requests (sends, or receive+ack cycles) in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub inflight: u32,
    /// HTTP/2 connections the requests are spread over.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Stop after this long (default 10s unless --count is given).
    #[arg(long, value_parser = parse_duration, conflicts_with = "count")]
    pub duration: Option<Duration>,
    /// Stop after this many messages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub report_interval: Duration,
    #[arg(long)]
    pub json: bool,
    /// Timeout of every call (a receive's long poll comes on top).
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub timeout: Duration,
    /// Sign every call as this user (the `authorization` header of the 5.x clients).
    #[arg(long, env = "FERROMQ_ACCESS_KEY", requires = "secret_key")]
    pub access_key: Option<String>,
    #[arg(long, env = "FERROMQ_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

/// `ferromq bench grpc-produce`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Example:\n  ferromq bench grpc-produce --endpoint 127.0.0.1:8081 --size 1024 --inflight 64 --duration 10s"
)]
pub struct GrpcProduceArgs {
    #[command(flatten)]
    pub common: GrpcArgs,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
}

/// `ferromq bench grpc-consume`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Example:\n  ferromq bench grpc-consume --endpoint 127.0.0.1:8081 --group g --batch 1 --inflight 1 --count 10000"
)]
pub struct GrpcConsumeArgs {
    #[command(flatten)]
    pub common: GrpcArgs,
    #[arg(long, default_value = "BenchGrpcGroup")]
    pub group: String,
    /// Messages asked for per receive (the broker, as upstream's, hands out at most 32).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(i32).range(1..=32))]
    pub batch: i32,
    /// How long a receive waits when nothing is there.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub long_poll: Duration,
}

fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

/// A gRPC client whose calls carry the `authorization` header when credentials are given.
#[derive(Clone)]
struct Client {
    conn: GrpcConnection,
    /// Access key and secret key.
    creds: Option<(String, String)>,
    /// How long a call may take before it counts as failed.
    timeout: Duration,
}

impl Client {
    /// Calls `method` of `MessagingService`, signed when credentials are given.
    async fn call<Req, Resp>(&mut self, method: &str, req: &Req) -> Result<Vec<Resp>, CallError>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        let metadata = self.metadata()?;
        tokio::time::timeout(self.timeout, self.conn.call(method, req, metadata))
            .await
            .map_err(|_| CallError::Timeout(self.timeout))?
    }

    /// Signs a call as the 5.x clients do: `x-mq-date-time` and an HMAC of it.
    fn metadata(&self) -> Result<HeaderMap, CallError> {
        let mut meta = HeaderMap::new();
        let Some((ak, sk)) = &self.creds else {
            return Ok(meta);
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let date_time = date_time(now);
        let signature = ferromq_auth::signature::sign_grpc(sk, &date_time);
        let header = format!(
            "MQv2-HMAC-SHA1 Credential={ak}, SignedHeaders=x-mq-date-time, Signature={signature}"
        );
        for (k, v) in [("x-mq-date-time", date_time), ("authorization", header)] {
            let v = v
                .parse()
                .map_err(|_| CallError::Malformed("credentials are not ASCII".into()))?;
            meta.insert(k, v);
        }
        Ok(meta)
    }
}

/// `yyyyMMddTHHmmssZ` (UTC) of a Unix time, the clients' `x-mq-date-time` form.
fn date_time(unix_secs: u64) -> String {
    let secs = i64::try_from(unix_secs).unwrap_or(i64::MAX);
    let (year, month, day) = ferromq_protocol::time::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A connection whose calls may each take `timeout`.
async fn channel(a: &GrpcArgs, timeout: Duration) -> Result<Client, BenchError> {
    let conn = GrpcConnection::connect(&a.endpoint)
        .await
        .map_err(|e| BenchError::Route(format!("cannot connect to {}: {e}", a.endpoint)))?;
    let creds =
        ferromq_client::tls_args::credentials(a.access_key.as_deref(), a.secret_key.as_deref())
            .map(|c| (c.access_key, c.secret_key));
    Ok(Client {
        conn,
        creds,
        timeout,
    })
}

struct Shared {
    stop: Stop,
    budget: Budget,
    errors: ErrorLog,
    seq: AtomicU64,
}

/// Runs `task` once per request in flight. Each connection and its share of the requests live
/// on a thread of their own with a single-threaded runtime, as the endpoint's connections do
/// (`ferromq_grpc::workers`): on one work-stealing runtime, tonic's channel and HTTP/2 tasks
/// woke each other across threads on every request, and the load generator took more CPU
/// than the broker it measures.
async fn run_tasks<F, Fut>(
    a: &GrpcArgs,
    call_timeout: Duration,
    mode: &'static str,
    note: String,
    task: F,
    params: serde_json::Value,
) -> Result<Summary, BenchError>
where
    F: Fn(Arc<Shared>, Client, Arc<Recorder>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let out = Output {
        json: a.json,
        quiet: false,
    };
    let shared = Arc::new(Shared {
        stop: Stop::default(),
        budget: Budget::new(a.count),
        errors: ErrorLog::default(),
        seq: AtomicU64::new(0),
    });
    let limit = a.duration.or(if a.count.is_none() {
        Some(Duration::from_secs(10))
    } else {
        None
    });
    let recorders: Vec<Arc<Recorder>> = (0..a.inflight)
        .map(|_| Arc::new(Recorder::default()))
        .collect();
    let task = Arc::new(task);
    let connections = a.connections as usize;
    let mut started = Vec::new();
    let mut tasks = JoinSet::new();
    for c in 0..connections {
        let mine: Vec<Arc<Recorder>> = recorders
            .iter()
            .skip(c)
            .step_by(connections)
            .cloned()
            .collect();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let (a, shared, task) = (a.clone(), shared.clone(), task.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("bench-grpc-{c}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let client = match channel(&a, call_timeout).await {
                        Ok(client) => {
                            let _ = ready_tx.send(Ok(()));
                            client
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    if go_rx.await.is_err() {
                        return;
                    }
                    let mut running: futures::stream::FuturesUnordered<_> = mine
                        .into_iter()
                        .map(|rec| task(shared.clone(), client.clone(), rec))
                        .collect();
                    while futures::StreamExt::next(&mut running).await.is_some() {}
                });
                let _ = done_tx.send(());
            })?;
        started.push((ready_rx, go_tx));
        tasks.spawn(async move {
            let _ = done_rx.await;
        });
    }
    // Every connection is up before the clock starts.
    let mut go = Vec::new();
    for (ready, go_tx) in started {
        ready.await.map_err(|_| {
            BenchError::Route("a connection thread ended before connecting".into())
        })??;
        go.push(go_tx);
    }
    out.note(&note);
    let mut collector = Collector::new(recorders, Instant::now());
    for g in go {
        let _ = g.send(());
    }
    let elapsed = drive(
        tasks,
        &mut collector,
        &shared.stop,
        limit,
        a.report_interval,
        a.timeout + Duration::from_secs(2),
        out,
    )
    .await;
    Ok(collector.summary(mode, &a.topic, elapsed, params))
}

pub(crate) async fn produce(args: GrpcProduceArgs) -> Result<Summary, BenchError> {
    let a = &args.common;
    let body = bytes::Bytes::from(vec![b'x'; args.size]);
    let topic = a.topic.clone();
    let note = format!(
        "gRPC send to {} at {}: {} B bodies, {} in flight over {} connection(s)",
        a.topic, a.endpoint, args.size, a.inflight, a.connections
    );
    let params = json!({"protocol": "grpc", "size": args.size, "inflight": a.inflight, "connections": a.connections});
    run_tasks(
        a,
        a.timeout,
        "grpc-produce",
        note,
        move |s, mut c, rec| {
            let body = body.clone();
            let topic = topic.clone();
            async move {
                while !s.stop.is_set() && s.budget.claim(1) == 1 {
                    let id = s.seq.fetch_add(1, Ordering::Relaxed);
                    let req = SendMessageRequest {
                        messages: vec![Message {
                            topic: res(&topic),
                            user_properties: Default::default(),
                            system_properties: Some(SystemProperties {
                                message_id: format!("BENCH{id:016X}"),
                                ..SystemProperties::default()
                            }),
                            body: body.clone(),
                        }],
                    };
                    let started = Instant::now();
                    let answer: Result<Vec<SendMessageResponse>, _> =
                        c.call("SendMessage", &req).await;
                    match answer {
                        Ok(r)
                            if r.first().and_then(|r| r.status.as_ref()).map(|s| s.code)
                                == Some(Code::Ok as i32) =>
                        {
                            rec.ok(1, body.len() as u64, started.elapsed());
                        }
                        Ok(r) => {
                            rec.error();
                            s.errors.report(format!(
                                "send refused: {:?}",
                                r.first().and_then(|r| r.status.as_ref())
                            ));
                        }
                        Err(e) => {
                            rec.error();
                            s.errors.report(format!("send failed: {e}"));
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
            }
        },
        params,
    )
    .await
}

pub(crate) async fn consume(args: GrpcConsumeArgs) -> Result<Summary, BenchError> {
    let a = &args.common;
    let note = format!(
        "gRPC receive+ack of {} as {} at {}: batch {}, {} in flight over {} connection(s)",
        a.topic, args.group, a.endpoint, args.batch, a.inflight, a.connections
    );
    let params = json!({"protocol": "grpc", "batch": args.batch, "inflight": a.inflight, "connections": a.connections, "group": args.group});
    let topic = a.topic.clone();
    let group = args.group.clone();
    let batch = args.batch;
    let poll = args.long_poll;
    run_tasks(
        a,
        a.timeout + poll,
        "grpc-consume",
        note,
        move |s, mut c, rec| {
            let topic = topic.clone();
            let group = group.clone();
            async move {
                while !s.stop.is_set() && !s.budget.exhausted() {
                    let started = Instant::now();
                    match cycle(&mut c, &topic, &group, batch, poll).await {
                        Ok((0, _)) => {}
                        Ok((n, bytes)) => {
                            s.budget.claim(n);
                            rec.ok(n, bytes, started.elapsed());
                        }
                        Err(e) => {
                            rec.error();
                            s.errors.report(e);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
            }
        },
        params,
    )
    .await
}

/// One receive and the ack of what it returned: (messages, body bytes).
async fn cycle(
    c: &mut Client,
    topic: &str,
    group: &str,
    batch: i32,
    poll: Duration,
) -> Result<(u64, u64), String> {
    let req = ReceiveMessageRequest {
        group: res(group),
        message_queue: Some(MessageQueue {
            topic: res(topic),
            id: -1,
            ..MessageQueue::default()
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: batch,
        invisible_duration: Some(prost_types::Duration {
            seconds: 30,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: i64::try_from(poll.as_secs()).unwrap_or(1),
            nanos: i32::try_from(poll.subsec_nanos()).unwrap_or(0),
        }),
        attempt_id: None,
    };
    let answers: Vec<ReceiveMessageResponse> = c
        .call("ReceiveMessage", &req)
        .await
        .map_err(|e| format!("receive failed: {e}"))?;
    let mut entries = Vec::new();
    let mut bytes = 0u64;
    for r in answers {
        match r.content {
            Some(Content::Message(m)) => {
                bytes += m.body.len() as u64;
                let sp = m.system_properties.unwrap_or_default();
                entries.push(AckMessageEntry {
                    message_id: sp.message_id,
                    receipt_handle: sp.receipt_handle.unwrap_or_default(),
                    lite_topic: None,
                });
            }
            Some(Content::Status(st))
                if st.code != Code::Ok as i32 && st.code != Code::MessageNotFound as i32 =>
            {
                return Err(format!("receive refused: {} {}", st.code, st.message));
            }
            _ => {}
        }
    }
    if entries.is_empty() {
        return Ok((0, 0));
    }
    let n = entries.len() as u64;
    let answers: Vec<AckMessageResponse> = c
        .call(
            "AckMessage",
            &AckMessageRequest {
                group: res(group),
                topic: res(topic),
                entries,
            },
        )
        .await
        .map_err(|e| format!("ack failed: {e}"))?;
    let r = answers
        .into_iter()
        .next()
        .ok_or("an ack answered with no message")?;
    if r.status.as_ref().map(|s| s.code) != Some(Code::Ok as i32) {
        return Err(format!("ack refused: {:?}", r.status));
    }
    Ok((n, bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_time_is_the_clients_form() {
        assert_eq!(super::date_time(0), "19700101T000000Z");
        assert_eq!(super::date_time(1_796_601_599), "20261206T235959Z");
        assert_eq!(super::date_time(951_782_400), "20000229T000000Z");
    }

    /// A call the endpoint accepts and never answers fails after the client's timeout, so a
    /// `--count` run cannot hang on it.
    #[tokio::test]
    async fn an_unanswered_call_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let silent = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::handshake(tcp).await.unwrap();
            let mut held = Vec::new();
            while let Some(Ok(call)) = conn.accept().await {
                held.push(call);
            }
        });
        let mut client = super::Client {
            conn: super::GrpcConnection::connect(&addr).await.unwrap(),
            creds: None,
            timeout: std::time::Duration::from_millis(200),
        };
        let req = super::SendMessageRequest { messages: vec![] };
        let started = std::time::Instant::now();
        let r: Result<Vec<super::SendMessageResponse>, _> = client.call("SendMessage", &req).await;
        assert!(matches!(r, Err(super::CallError::Timeout(_))), "{r:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        silent.abort();
    }
}
