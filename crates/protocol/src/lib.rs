//! The RocketMQ Remoting protocol, as bytes and types, with no I/O.
//!
//! Map of the crate:
//! - [`frame`]: one frame on the wire (`length | header-len-and-type | header | body`) and its
//!   decoding with every length checked before anything is allocated.
//! - [`command`]: [`RemotingCommand`], the logical request/response, and typed access to its
//!   `extFields` that tolerates the dialects of real clients (numbers, `"0"`/`"1"` booleans).
//! - [`header`]: the two header encodings, JSON (type 0) and the compact ROCKETMQ binary (type 1).
//! - [`codes`]: request and response codes, including ferromq's own reserved range.
//! - [`json`]: a normaliser for fastjson's non-standard output (unquoted numeric keys, object keys).
//! - [`message`]: the stored message record (the bytes a pull returns), properties, msgId, tag hash.
//! - [`body`]: JSON bodies (heartbeat, route, topic and group configs, message queues).
//! - [`names`]: topic and group name rules and the retry/DLQ naming scheme.
//! - [`limits`]: every count a request can carry, checked in one place.
//! - [`time`]: the one clock for timestamps (ms since the epoch).
//! - [`transaction`]: half-message topics and properties, END_TRANSACTION and check-back headers.
//! - `grpc` (feature `grpc`): the RocketMQ 5.x gRPC messages and service, generated from
//!   `proto/`; [`proto_source`]: the check that the generated code is current.
//! - [`error`]: decode errors, and [`Refusal`]: every reason a request is refused, mapped to its
//!   response code in one table.

pub mod body;
pub mod codes;
pub mod command;
pub mod error;
pub mod frame;
pub mod header;
pub mod json;
pub mod limits;
pub mod message;
pub mod names;
pub mod proto_source;
pub mod recall;
pub mod time;
pub mod transaction;

pub use command::{LanguageCode, RemotingCommand, SerializeType};
pub use error::{not_supported, HeaderError, ProtocolError, Refusal};
pub use frame::{decode_frame, encode_frame_header, DEFAULT_MAX_FRAME};

/// The RocketMQ 5.x gRPC API (`apache.rocketmq.v2`): messages and the `MessagingService`
/// server trait and client, generated from `proto/` by `tools/protogen` (see [`proto_source`]).
#[cfg(feature = "grpc")]
pub mod grpc {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
    include!("grpc/apache.rocketmq.v2.rs");
}
