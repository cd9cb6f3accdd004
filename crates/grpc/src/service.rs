//! The endpoint's one dispatch table: every RPC of `MessagingService` and its handler. RPCs not
//! served answer UNIMPLEMENTED with what to use instead, at once.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use ferromq_broker::grpc_clients::GrpcPeer;
use ferromq_broker::Broker;
use ferromq_protocol::grpc::messaging_service_server::MessagingService;
use ferromq_protocol::grpc::*;
use futures::Stream;
use tonic::{Request, Response, Streaming};

use crate::access;
use crate::client_commands::GrpcConsumers;
use crate::status::ok;
use crate::transaction::GrpcProducers;
use crate::{consume, produce, route, telemetry, transaction};

type RpcResult<T> = Result<Response<T>, tonic::Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

#[derive(Clone)]
pub struct Endpoint {
    broker: Arc<Broker>,
    /// Where this endpoint listens (routes name it when the client did not say how it came).
    bound: SocketAddr,
    /// Producers' Telemetry streams, which the broker's transaction check-back asks.
    producers: Arc<GrpcProducers>,
    /// Consumers' Telemetry streams, for the questions the broker relays to one client.
    consumers: Arc<GrpcConsumers>,
}

impl Endpoint {
    pub fn new(broker: Arc<Broker>, bound: SocketAddr) -> Self {
        let producers = Arc::new(GrpcProducers::default());
        broker.transactions.set_remote_producers(producers.clone());
        let consumers = Arc::new(GrpcConsumers::default());
        let _ = broker.remote_consumers.set(consumers.clone());
        Endpoint {
            broker,
            bound,
            producers,
            consumers,
        }
    }
}

fn peer<T>(req: &Request<T>) -> SocketAddr {
    req.remote_addr()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// Who sent a request: its `x-mq-client-id` and `x-mq-language` metadata (all 5.x clients send
/// them) and its address.
fn client<T>(req: &Request<T>) -> GrpcPeer {
    let meta = |k: &str| {
        req.metadata()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect::<String>())
            .unwrap_or_default()
    };
    GrpcPeer {
        client_id: meta("x-mq-client-id"),
        addr: peer(req),
        language: meta("x-mq-language"),
    }
}

/// The client's deadline for this call, from its `grpc-timeout` header (`<digits><unit>`).
fn grpc_timeout<T>(req: &Request<T>) -> Option<std::time::Duration> {
    let v = req.metadata().get("grpc-timeout")?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => std::time::Duration::from_secs(n.checked_mul(3600)?),
        "M" => std::time::Duration::from_secs(n.checked_mul(60)?),
        "S" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_millis(n),
        "u" => std::time::Duration::from_micros(n),
        "n" => std::time::Duration::from_nanos(n),
        _ => return None,
    })
}

/// An answer that carries only a refusal (every unary response has a `status`).
trait Refused: Default {
    fn refused(status: ferromq_protocol::grpc::Status) -> Self;
}

macro_rules! refused {
    ($($t:ty),+ $(,)?) => {$(
        impl Refused for $t {
            fn refused(status: ferromq_protocol::grpc::Status) -> Self {
                #[allow(clippy::field_reassign_with_default)]
                {
                    let mut r = Self::default();
                    r.status = Some(status);
                    r
                }
            }
        }
    )+};
}

refused!(
    QueryRouteResponse,
    HeartbeatResponse,
    QueryAssignmentResponse,
    NotifyClientTerminationResponse,
    SendMessageResponse,
    EndTransactionResponse,
    RecallMessageResponse,
    AckMessageResponse,
    ChangeInvisibleDurationResponse,
    ForwardMessageToDeadLetterQueueResponse,
);

impl Endpoint {
    /// The refusal to answer `req` with when its caller may not make `wanted`.
    fn refuse<T>(
        &self,
        req: &Request<T>,
        wanted: impl FnOnce() -> Vec<ferromq_auth::Request>,
    ) -> Option<ferromq_protocol::grpc::Status> {
        access::check(&self.broker, req, peer(req), wanted).err()
    }
}

fn unimplemented(rpc: &str, instead: &str) -> tonic::Status {
    tonic::Status::unimplemented(format!("ferromq does not serve {rpc} yet; {instead}"))
}

#[tonic::async_trait]
impl MessagingService for Endpoint {
    async fn query_route(&self, req: Request<QueryRouteRequest>) -> RpcResult<QueryRouteResponse> {
        if let Some(st) = self.refuse(&req, || access::route(&req.get_ref().topic)) {
            return Ok(Response::new(QueryRouteResponse::refused(st)));
        }
        Ok(Response::new(route::query_route(
            &self.broker,
            self.bound,
            req.into_inner(),
        )))
    }

    async fn heartbeat(&self, req: Request<HeartbeatRequest>) -> RpcResult<HeartbeatResponse> {
        if let Some(st) = self.refuse(&req, || {
            if req.get_ref().client_type == ClientType::Producer as i32 {
                vec![]
            } else {
                access::subscribe(&req.get_ref().group, None)
            }
        }) {
            return Ok(Response::new(HeartbeatResponse::refused(st)));
        }
        let who = client(&req);
        let r = req.into_inner();
        let consumer = r.client_type != ClientType::Producer as i32;
        if let (true, Some(g)) = (consumer, r.group) {
            let push = r.client_type == ClientType::PushConsumer as i32;
            self.broker
                .grpc_clients
                .seen(&g.name, &who, None, Some(push));
        }
        Ok(Response::new(HeartbeatResponse { status: Some(ok()) }))
    }

    async fn query_assignment(
        &self,
        req: Request<QueryAssignmentRequest>,
    ) -> RpcResult<QueryAssignmentResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::subscribe(&req.get_ref().group, Some(&req.get_ref().topic))
        }) {
            return Ok(Response::new(QueryAssignmentResponse::refused(st)));
        }
        Ok(Response::new(route::query_assignment(
            &self.broker,
            self.bound,
            req.into_inner(),
        )))
    }

    async fn notify_client_termination(
        &self,
        req: Request<NotifyClientTerminationRequest>,
    ) -> RpcResult<NotifyClientTerminationResponse> {
        if let Some(st) = self.refuse(&req, || access::subscribe(&req.get_ref().group, None)) {
            return Ok(Response::new(NotifyClientTerminationResponse::refused(st)));
        }
        let who = client(&req);
        if let Some(g) = req.into_inner().group {
            self.broker.grpc_clients.gone(&g.name, &who.client_id);
        }
        Ok(Response::new(NotifyClientTerminationResponse {
            status: Some(ok()),
        }))
    }

    type TelemetryStream = telemetry::TelemetryStream;

    async fn telemetry(
        &self,
        req: Request<Streaming<TelemetryCommand>>,
    ) -> RpcResult<Self::TelemetryStream> {
        // Who, only: what a client then does (sends, receives) is authorized call by call.
        if let Some(st) = self.refuse(&req, Vec::new) {
            let refused = TelemetryCommand {
                status: Some(st),
                command: None,
            };
            return Ok(Response::new(Box::pin(futures::stream::iter([Ok(
                refused,
            )]))));
        }
        let who = client(&req);
        Ok(Response::new(telemetry::telemetry(
            self.broker.clone(),
            self.producers.clone(),
            self.consumers.clone(),
            who,
            req.into_inner(),
        )))
    }

    async fn send_message(
        &self,
        req: Request<SendMessageRequest>,
    ) -> RpcResult<SendMessageResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::publish(req.get_ref().messages.iter().map(|m| &m.topic))
        }) {
            return Ok(Response::new(SendMessageResponse::refused(st)));
        }
        let peer = peer(&req);
        Ok(Response::new(
            produce::send_message(&self.broker, peer, req.into_inner()).await,
        ))
    }

    async fn end_transaction(
        &self,
        req: Request<EndTransactionRequest>,
    ) -> RpcResult<EndTransactionResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::publish(std::iter::once(&req.get_ref().topic))
        }) {
            return Ok(Response::new(EndTransactionResponse::refused(st)));
        }
        Ok(Response::new(
            transaction::end_transaction(&self.broker, req.into_inner()).await,
        ))
    }

    async fn recall_message(
        &self,
        req: Request<RecallMessageRequest>,
    ) -> RpcResult<RecallMessageResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::publish(std::iter::once(&req.get_ref().topic))
        }) {
            return Ok(Response::new(RecallMessageResponse::refused(st)));
        }
        Ok(Response::new(
            produce::recall_message(&self.broker, req.into_inner()).await,
        ))
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        req: Request<ReceiveMessageRequest>,
    ) -> RpcResult<Self::ReceiveMessageStream> {
        let wanted = || {
            access::subscribe(
                &req.get_ref().group,
                req.get_ref().message_queue.as_ref().map(|q| &q.topic),
            )
        };
        if let Some(st) = self.refuse(&req, wanted) {
            let refused = ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Status(st)),
            };
            return Ok(Response::new(Box::pin(futures::stream::iter([Ok(
                refused,
            )]))));
        }
        let deadline = grpc_timeout(&req);
        let who = client(&req);
        let r = req.into_inner();
        if let (Some(g), Some(t)) = (
            &r.group,
            r.message_queue.as_ref().and_then(|q| q.topic.as_ref()),
        ) {
            self.broker
                .grpc_clients
                .seen(&g.name, &who, Some(&t.name), None);
        }
        let replies = consume::receive(&self.broker, r, deadline).await;
        Ok(Response::new(Box::pin(futures::stream::iter(
            replies.into_iter().map(Ok),
        ))))
    }

    async fn ack_message(&self, req: Request<AckMessageRequest>) -> RpcResult<AckMessageResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::subscribe(&req.get_ref().group, Some(&req.get_ref().topic))
        }) {
            return Ok(Response::new(AckMessageResponse::refused(st)));
        }
        Ok(Response::new(
            consume::ack(&self.broker, req.into_inner()).await,
        ))
    }

    async fn change_invisible_duration(
        &self,
        req: Request<ChangeInvisibleDurationRequest>,
    ) -> RpcResult<ChangeInvisibleDurationResponse> {
        if let Some(st) = self.refuse(&req, || access::subscribe(&req.get_ref().group, None)) {
            return Ok(Response::new(ChangeInvisibleDurationResponse::refused(st)));
        }
        Ok(Response::new(
            consume::change_invisible(&self.broker, req.into_inner()).await,
        ))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        req: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> RpcResult<ForwardMessageToDeadLetterQueueResponse> {
        if let Some(st) = self.refuse(&req, || {
            access::subscribe(&req.get_ref().group, Some(&req.get_ref().topic))
        }) {
            return Ok(Response::new(
                ForwardMessageToDeadLetterQueueResponse::refused(st),
            ));
        }
        Ok(Response::new(
            consume::forward_to_dead_letter(&self.broker, req.into_inner()).await,
        ))
    }

    async fn sync_lite_subscription(
        &self,
        _req: Request<SyncLiteSubscriptionRequest>,
    ) -> RpcResult<SyncLiteSubscriptionResponse> {
        Err(unimplemented(
            "SyncLiteSubscription",
            "lite topics are not served",
        ))
    }

    type PullMessageStream = BoxStream<PullMessageResponse>;

    async fn pull_message(
        &self,
        _req: Request<PullMessageRequest>,
    ) -> RpcResult<Self::PullMessageStream> {
        Err(unimplemented(
            "PullMessage",
            "pull consumers are served over Remoting (PULL_MESSAGE)",
        ))
    }

    async fn update_offset(
        &self,
        _req: Request<UpdateOffsetRequest>,
    ) -> RpcResult<UpdateOffsetResponse> {
        Err(unimplemented(
            "UpdateOffset",
            "use UPDATE_CONSUMER_OFFSET over Remoting or `ferromq admin offsets`",
        ))
    }

    async fn get_offset(&self, _req: Request<GetOffsetRequest>) -> RpcResult<GetOffsetResponse> {
        Err(unimplemented(
            "GetOffset",
            "use QUERY_CONSUMER_OFFSET over Remoting or `ferromq admin offsets describe`",
        ))
    }

    async fn query_offset(
        &self,
        _req: Request<QueryOffsetRequest>,
    ) -> RpcResult<QueryOffsetResponse> {
        Err(unimplemented(
            "QueryOffset",
            "use GET_MAX_OFFSET/SEARCH_OFFSET_BY_TIMESTAMP over Remoting",
        ))
    }
}
