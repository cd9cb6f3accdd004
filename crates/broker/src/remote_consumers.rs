//! Consumers the broker reaches another way than a Remoting connection (5.x gRPC clients, over
//! their Telemetry stream), for the requests it relays to one client: thread stacks (mqadmin
//! `consumerStatus`, GET_CONSUMER_RUNNING_INFO) and running one stored message through the
//! client's listener (`consumeMessageDirectly`, CONSUME_MESSAGE_DIRECTLY).

use std::future::Future;
use std::pin::Pin;

use ferromq_protocol::message::DecodedMessage;

/// An answer the client gives later.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send>>;

/// What running a message through the client's listener gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Consumed.
    Consumed,
    /// The listener failed (upstream's CR_LATER).
    Failed,
    /// The client could not decode it (CR_RETURN_NULL).
    Corrupted,
    /// The client does not run messages on request (answered NOT_IMPLEMENTED).
    Unsupported,
}

impl Verified {
    /// Upstream's `CMResult` name.
    pub fn cm_result(self) -> &'static str {
        match self {
            Verified::Consumed => "CR_SUCCESS",
            Verified::Failed => "CR_LATER",
            Verified::Corrupted => "CR_RETURN_NULL",
            Verified::Unsupported => "CR_THROW_EXCEPTION",
        }
    }
}

pub trait RemoteConsumers: Send + Sync {
    /// Whether `client_id`, a member of `group`, is reached this way.
    fn reaches(&self, group: &str, client_id: &str) -> bool;
    /// The client's thread stacks, as text.
    fn thread_stacks(&self, client_id: &str) -> Pending<String>;
    /// Runs `message` through the client's listener.
    fn verify(&self, client_id: &str, message: &DecodedMessage) -> Pending<Verified>;
}
