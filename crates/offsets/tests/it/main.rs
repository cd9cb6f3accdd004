//! All of this crate's integration tests in one binary: each was its own binary before, and
//! each compiled the shared helpers and linked the whole broker again (~55 MB apiece), which
//! made building the tests the longest step of CI. nextest still runs every test in its own
//! process, so a test's servers, statics and environment stay its own.

mod changes;
mod common;
mod crash;
mod durable;
mod exact_changes;
mod model;
mod rocketmq;
mod semantics;
mod write_behind;
