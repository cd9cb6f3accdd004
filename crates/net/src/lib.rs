//! tokio transport for the Remoting protocol.
//!
//! - [`codec`]: frames in and out of a byte stream, refusing frames over the limit.
//! - [`connection`]: one TCP connection used in both directions: requests out with opaque
//!   correlation and timeouts, oneway sends, and incoming requests handed to a [`Handler`].
//!   The broker uses the same type to call into clients (NOTIFY_CONSUMER_IDS_CHANGED, …).
//! - [`server`]: the accept loop with graceful shutdown.

pub mod codec;
pub mod connection;
pub mod error;
pub mod server;

pub use connection::{ConnConfig, Connection, ConnectionSlot, Handler, NoHandler};
pub use error::NetError;
pub use server::serve;
