//! Shared harness for ferromq's integration tests (`mod common;` in each test file, or
//! `#[path = "../common/mod.rs"] mod common;` from a test split into a directory).
//!
//! * [`Server`] (`server.rs`) runs the real `ferromq standalone` binary on free loopback ports and
//!   a temporary data directory, waits for its `ferromq ready` line and keeps its output for
//!   failure reports.
//! * [`run_client`] / [`spawn_client`] (`client.rs`, `client_process.rs`) run the third-party
//!   RocketMQ client scripts under `compat/` (the Apache C++ client through PyPI
//!   `rocketmq==0.4.4`, and npm `ali-ons@3.12.0`) and collect the JSON lines they print
//!   (helpers for those lines in `json.rs`). `compat/setup.sh` must have been run once.
//! * [`mqadmin_ok`] / [`run_mqadmin`] (`mqadmin.rs`) run Apache RocketMQ's own mqadmin.
//! * [`apache`] starts a real Apache RocketMQ name server and broker (`compat/apache`).
//! * [`Captured`] (`process.rs`) runs any other child process with its output collected.
//! * [`SyncClient`] (`sync_client.rs`) drives ferromq's own client synchronously from the test
//!   thread (on a [`runtime`]); [`pull_at`] and [`read_queue`] read messages back.
//! * [`grpc`]: a raw tonic client of the gRPC endpoint, for bad-input tests.
//! * [`free_port`], [`poll_until`], [`rss_kib`] and friends (`util.rs`).
//! * [`scenarios`] holds the client compatibility scenarios shared by `compat_cpp.rs` and
//!   `compat_ali_ons.rs` (and reused by `progress_e2e`).
//!
//! Each test binary uses a subset of this module, hence the `allow`s.
#![allow(dead_code, unused_imports)]

mod admin_cmd;
pub mod apache;
mod client;
mod client_process;
pub mod grpc;
mod json;
mod mirror;
mod mqadmin;
mod process;
pub mod scenarios;
mod server;
mod sync_client;
mod util;

pub use admin_cmd::{admin_ok, run_admin};
pub use client::{client_args, run_client, run_client_output, Client, ClientOutput};
pub use client_process::{spawn_client, ClientProcess, CLIENT_STOP_TIMEOUT};
pub use json::{events, field_i64, field_str, tag_of};
pub use mirror::{mirror_status, start_mirror, topic_error, try_mirror_status};
pub use mqadmin::{
    mqadmin_ok, run_mqadmin, run_mqadmin_in, MQADMIN_FAILURE_MARKS, MQADMIN_TIMEOUT,
};
pub use process::{Captured, OutputLog};
pub use server::{Endpoint, Server, SERVER_READY_TIMEOUT, SERVER_STOP_TIMEOUT};
pub use sync_client::{pull_at, read_queue, runtime, SyncClient};
pub use util::{free_port, poll_until, rss_kib, strings, workspace_root};
