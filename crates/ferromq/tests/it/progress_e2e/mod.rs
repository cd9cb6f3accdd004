//! End-to-end tests of consumer progress (offset) management with the real third-party clients
//! (the Apache C++ client through PyPI `rocketmq==0.4.4`, and npm `ali-ons@3.12.0`, see
//! `compat/README.md`; run `compat/setup.sh` once) and ferromq's own client for the admin codes.
//!
//! * pre-set offsets for a group that was never online survive a SIGKILL, and a consumer of that
//!   group starts exactly there;
//! * a backward reset of a running group replays from the target (C++: RESET_CONSUMER_CLIENT_OFFSET,
//!   ali-ons: PULL_OFFSET_MOVED), and no stale client commit moves the stored offset past what was
//!   delivered again (the replay is slowed with `--redelivery-delay-ms` so that the clients' periodic
//!   commits land while it runs); a forward reset to the end skips the backlog built while the group
//!   was offline;
//! * `--offset-durability durable`: every acknowledged UPDATE_CONSUMER_OFFSET survives SIGKILL;
//! * FERRO_UNDO restores a reset's before-values and is recorded in FERRO_HISTORY.
//!
//! Every test runs on its own server and stays within [`scenarios::TEST_BUDGET`] (90 s). Failures
//! carry the clients' diagnostics and the server's output tail (printed by the harness on drop).
//!
//! Layout: `fixtures.rs` (ferromq's client as an admin, deliveries parsed from the scripts'
//! output), then one module per scenario: `preset.rs` (1), `reset.rs` (2), `durable.rs` (3),
//! `undo.rs` (4).

mod durable;
mod fixtures;
mod preset;
mod reset;
mod undo;
