//! tokio transport for the Remoting protocol.
//!
//! - [`codec`]: frames in and out of a byte stream, refusing frames over the limit.
//! - [`connection`]: one TCP connection used in both directions: requests out with opaque
//!   correlation and timeouts, oneway sends, and incoming requests handed to a [`Handler`].
//!   The broker uses the same type to call into clients (NOTIFY_CONSUMER_IDS_CHANGED, …).
//! - [`server`]: the accept loop with graceful shutdown.
//! - [`slot`]: a connection's place under `max_connections`, given back when dropped.

pub mod codec;
pub mod connection;
pub mod error;
pub mod server;
pub mod slot;

pub use connection::{ConnConfig, Connection, Handler, NoHandler};
pub use error::NetError;
pub use server::serve;
pub use slot::ConnectionSlot;
