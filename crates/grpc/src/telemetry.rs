//! The Telemetry stream: a client sends its settings and the endpoint answers with the settings
//! it will apply (clients block their start until that answer arrives: the Node client without
//! a timeout, the Python push consumer for 10 s). A producer's stream also carries the broker's
//! questions about its orphaned transactions ([`crate::transaction`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_broker::grpc_clients::GrpcPeer;
use ferromq_broker::Broker;
use ferromq_protocol::grpc::{
    retry_policy, settings, telemetry_command, ClientType, ExponentialBackoff, RetryPolicy,
    Settings, TelemetryCommand,
};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::client_commands::GrpcConsumers;
use crate::convert::duration;
use crate::status::ok;
use crate::transaction::GrpcProducers;

/// Where a stream's commands to its client go.
pub type CommandSender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

pub type TelemetryStream =
    Pin<Box<dyn Stream<Item = Result<TelemetryCommand, tonic::Status>> + Send + 'static>>;

/// Answers queued for one client stream; a client that does not read them is not waited for.
const OUT_QUEUE: usize = 16;

/// Names each stream for the producer registry.
static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

pub fn telemetry(
    b: Arc<Broker>,
    producers: Arc<GrpcProducers>,
    consumers: Arc<GrpcConsumers>,
    who: GrpcPeer,
    mut incoming: tonic::Streaming<TelemetryCommand>,
) -> TelemetryStream {
    let (tx, rx) = mpsc::channel(OUT_QUEUE);
    let stream_id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                n = incoming.next() => n,
                _ = b.shutdown.cancelled() => break,
            };
            let cmd = match next {
                Some(Ok(c)) => c,
                // Closed by the client, or a malformed frame (tonic has answered it).
                Some(Err(_)) | None => break,
            };
            let Some(telemetry_command::Command::Settings(s)) = cmd.command else {
                // The answer to a question the broker relayed (stacks, a verified message).
                consumers.answered(cmd);
                continue;
            };
            if let Some(settings::PubSub::Publishing(p)) = &s.pub_sub {
                // Whom to ask about an orphaned transaction of these topics.
                let topics = p.topics.iter().map(|t| t.name.clone()).collect();
                producers.publishing(stream_id, topics, tx.clone());
            }
            if let Some(settings::PubSub::Subscription(sub)) = &s.pub_sub {
                let group = sub
                    .group
                    .as_ref()
                    .map(|g| g.name.as_str())
                    .unwrap_or_default();
                let push = s.client_type.map(|t| t == ClientType::PushConsumer as i32);
                for e in &sub.subscriptions {
                    let topic = e.topic.as_ref().map(|t| t.name.as_str());
                    b.grpc_clients.seen(group, &who, topic, push);
                }
                consumers.subscribing(stream_id, group, &who.client_id, tx.clone());
            }
            let answer = TelemetryCommand {
                status: Some(ok()),
                command: Some(telemetry_command::Command::Settings(applied(&b, s))),
            };
            if tx.try_send(Ok(answer)).is_err() {
                break;
            }
        }
        producers.closed(stream_id);
        consumers.closed(stream_id);
    });
    Box::pin(ReceiverStream::new(rx))
}

/// The settings the endpoint applies: the client's, with the server-side parts filled in.
pub fn applied(b: &Broker, mut s: Settings) -> Settings {
    let producer = s.client_type == Some(ClientType::Producer as i32);
    let backoff = ExponentialBackoff {
        initial: Some(duration(Duration::from_secs(1))),
        max: Some(duration(Duration::from_secs(10))),
        multiplier: 2.0,
    };
    s.backoff_policy = Some(RetryPolicy {
        max_attempts: if producer { 3 } else { 17 },
        strategy: Some(retry_policy::Strategy::ExponentialBackoff(backoff)),
    });
    match s.pub_sub.as_mut() {
        Some(settings::PubSub::Publishing(p)) => {
            p.max_body_size = i32::try_from(b.cfg.max_message_size).unwrap_or(i32::MAX);
            p.validate_message_type = true;
        }
        Some(settings::PubSub::Subscription(sub)) => {
            let group = sub
                .group
                .as_ref()
                .map(|g| g.name.clone())
                .unwrap_or_default();
            let cfg = b.groups.get(&group);
            if let Some(cfg) = &cfg {
                // The group's own retry policy decides how often a push consumer retries.
                if let Some(p) = s.backoff_policy.as_mut() {
                    p.max_attempts = cfg.retry_max_times.saturating_add(1);
                }
            }
            sub.fifo = Some(cfg.is_some_and(|c| c.consume_message_orderly));
            sub.receive_batch_size = Some(sub.receive_batch_size.unwrap_or(32).clamp(1, 32));
            sub.long_polling_timeout = Some(duration(Duration::from_secs(20)));
        }
        None => {}
    }
    s
}
