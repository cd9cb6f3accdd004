//! One module per request family. Each function takes the broker and the request and returns a
//! [`crate::dispatch::Reply`]. A refused request is a typed error (`?` on a header, store,
//! offset, progress, topic or group error) or a [`ferromq_protocol::Refusal`] naming the reason;
//! `crate::error` maps them to response codes in one place, never a handler.

pub mod admin;
pub mod assignment;
pub mod auth_admin;
pub mod broker_config;
pub mod client;
pub mod client_call;
pub mod consume_stats;
pub mod group;
pub mod mirror;
pub mod offset;
pub mod pop;
pub mod progress;
pub mod pull;
pub mod query;
pub mod retry;
pub mod send;
pub mod topic;
pub mod track;
pub mod transaction;

mod store_path;

pub(crate) use store_path::{check_timer, store_messages, store_messages_at, Outgoing, Stored};
