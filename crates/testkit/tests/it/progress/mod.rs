//! Consumer progress through the broker's service: pre-set offsets for never-seen groups,
//! intents, dry runs with impact, clamping, all-or-nothing multi-group resets, reset guards
//! against stale commits, clone/delete/import/export, history and undo, lag, and upstream's
//! 222/314/208 codes.
//!
//! Layout: `fixtures.rs` (a one-broker cluster with its client, and the requests the tests
//! share), then one module per theme: `reset.rs`, `changes.rs` (clone, delete, undo, history),
//! `import_export.rs` and `upstream.rs`.

mod changes;
mod fixtures;
mod import_export;
mod reset;
mod upstream;
