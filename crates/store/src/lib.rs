//! ferromq's message store: a segmented commit log (the truth) and per-queue consume queues
//! (caches rebuilt from it), laid out like Apache RocketMQ's store. See `docs/store.md` for
//! the on-disk format and the durability contract.
//!
//! Map of the crate:
//! - [`MessageStore`] (`store`): open, put, get, offsets, retention, shutdown.
//! - `config`: [`StoreConfig`], [`FlushMode`]. `error`: [`StoreError`]. `types`: the values
//!   passed in and out ([`AppendRecord`], [`PutResult`], [`GetResult`], [`GetStatus`], ...).
//! - `writer`: the append path (offsets, patching, BLANK padding and segment roll, dispatch).
//! - `commit_log` / `segment`: the ordered segment files and reads of records by offset.
//! - `consume_queue` / `queues`: 20-byte entries per (topic, queue) and the table of queues.
//! - `mapped`: a preallocated file read through a shared mapping and written through it or
//!   with `pwrite` ([`WriteMode`]); `statfs` detection of copy-on-write file systems.
//! - `record`: allocation-free checks of stored records (layout from `ferromq_protocol`).
//! - `flusher`: the fdatasync thread, group commit and the published flushed offset.
//! - `checkpoint`: the `checkpoint` file and the `abort` marker.
//! - `scan` / `recovery`: finding the valid end of the log and repairing consume queues.
//! - `decode`: the on-disk decoders over plain byte slices (used by the fuzz targets).
//! - `index` / `indexer`: the in-memory message index by key and unique key, fed by its own
//!   thread from the published log and rebuilt from the commit log at open (QUERY_MESSAGE).
//! - `read`: `get`. `search`: binary searches by store time. `retention`: deleting old segments.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod checkpoint;
mod commit_log;
mod config;
mod consume_queue;
#[doc(hidden)]
pub mod decode;
mod error;
mod flusher;
mod index;
mod indexer;
mod mapped;
mod prefault;
mod queues;
mod read;
mod record;
mod recovery;
mod retention;
mod scan;
mod search;
mod segment;
mod shared;
mod store;
mod types;
mod writer;

#[cfg(test)]
mod disk_full_tests;

pub use config::{
    FlushMode, StoreConfig, WriteMode, DEFAULT_INDEX_MAX_ENTRIES, DEFAULT_PREFAULT_AHEAD,
    MAX_INDEX_ENTRIES, MAX_PREFAULT_AHEAD, MIN_SEGMENT_SIZE,
};
pub use error::StoreError;
pub use index::KeyKind;
pub use indexer::{MessageQuery, QueryResult};
pub use read::{MessageFilter, MAX_SCAN_ENTRIES};
pub use store::{MessageStore, WRITE_MODE_ENV};
pub use types::{AppendRecord, BoundaryType, GetResult, GetStatus, PutResult, StoreStats};
