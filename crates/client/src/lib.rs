//! ferromq's own Remoting client. The admin tool, the mirror, the bench tool and the tests use
//! it; it speaks only the protocol, so it also works against Apache RocketMQ.
//!
//! - [`requests`]: one builder per request code, with upstream's header keys.
//! - [`RemotingClient`]: a pool of connections by address, with timeouts; broker → client
//!   requests (NOTIFY_CONSUMER_IDS_CHANGED, …) are published on a broadcast channel.
//! - [`MqClient`]: name-server lookups and typed calls (send, pull, offsets, topics).
//! - [`table`]: the plain-text tables the command-line tools print.
//! - [`tls_args`]: the TLS and credential options of every tool.

mod mq;
mod remoting;
pub mod requests;
pub mod table;
pub mod tls_args;

pub use ferromq_tls::ClientTls;
pub use mq::{MqClient, PullResult, SendResult};
pub use remoting::{ClientError, ConnectOptions, Credentials, RemotingClient};
pub use tls_args::{ConnectArgs, TlsArgs};
