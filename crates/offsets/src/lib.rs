//! ferromq's durable consumer-offset table.
//!
//! Map of the crate:
//! - [`store`]: [`OffsetStore`], the public API (open, commit, delete, flush, shutdown). Its
//!   private submodules hold the machinery: `store/state` (shared state), `store/append` (the
//!   append path and write-behind), `store/flusher` (flusher thread, group commit, rollback
//!   after a failed fsync), `store/compaction` (snapshots and cleanup), `store/changes`
//!   (operator changes) and `store/queries` (read-only queries).
//! - `table`: the in-memory `group → topic → queues` table with a `topic → groups` index.
//! - `codec`: binary log records and snapshot images (format in `docs/offsets.md`).
//! - `files` / `recovery`: file naming, snapshot I/O, and opening a directory after a crash.
//! - `change`: offset intents and the change history ([`Change`], [`Intent`]).
//! - `decode`: the on-disk decoders over plain byte slices (used by the fuzz targets).
//! - [`rocketmq`]: the table as Apache RocketMQ's `consumerOffset.json`.
//!
//! On disk: `log-<seq>.wal` segments of CRC-checked records, and `snapshot-<base>.snap` images
//! of the whole table that make segments before `<base>` unnecessary.

mod change;
mod codec;
mod config;
#[doc(hidden)]
pub mod decode;
mod error;
mod files;
mod key;
mod recovery;
pub mod rocketmq;
pub mod store;
mod table;

#[cfg(test)]
mod disk_full_tests;

pub use change::{
    Change, ChangeDraft, ChangeEntry, ChangeUndo, Intent, IntentKey, IntentSpec, MovedQueue,
};
pub use config::{Durability, OffsetStoreConfig, Tuning};
pub use error::OffsetError;
pub use key::{validate_name, QueueKey};
pub use store::{OffsetStore, OffsetStoreStats};
