//! All of this crate's integration tests in one binary: each was its own binary before, and
//! each compiled the shared helpers and linked the whole broker again (~55 MB apiece), which
//! made building the tests the longest step of CI. nextest still runs every test in its own
//! process, so a test's servers, statics and environment stay its own.

mod admin;
mod auth_bad_input;
mod bad_input;
mod consumers;
mod exact_plan;
mod go_client_bytes;
mod guards_restart;
mod hardening;
mod message_lookup;
mod metrics;
mod mirror_codes;
mod mqadmin_codes;
mod pop_remoting;
mod progress;
mod reset_held_pulls;
mod send_pull;
mod transactions;
