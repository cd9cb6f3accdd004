//! The progress service's requests and results: the wire types of codes 9000–9009, defined
//! once in the protocol crate and re-exported here for the service's signatures.

pub use ferromq_protocol::body::progress::*;
