//! POP consumption state, as RocketMQ 5.x consumers use it: the broker hands out messages with
//! an invisibility window, the consumer acks each one, and what is not acked in time is handed
//! out again with its delivery attempt counted.
//!
//! Map of the crate:
//! - [`queue`]: one group's state in one queue ([`QueueState`]): committed offset, cursor,
//!   leases; the pure rules.
//! - [`table`]: [`PopTable`], all queue states behind the operations the broker calls (pop, ack,
//!   change the window, commit the frontier); each journals before it returns.
//! - [`journal`]: the journal file and its snapshots.
//! - `flush`: the journal's group commit in durable mode (one thread, one `fdatasync` for every
//!   change made before it; answers await it through [`PopTable::durable`]).
//! - [`handle`]: [`ReceiptHandle`], the text a consumer acks with.
//!
//! A group's POP position *is* its offset in the broker's offset table (the frontier below which
//! everything is acked), so describe, lag, reset, export and mirroring treat POP groups like any
//! other; this crate keeps only what is in flight above it.

pub mod error;
mod flush;
pub mod handle;
pub mod journal;
pub mod queue;
pub mod table;

pub use error::PopError;
pub use handle::ReceiptHandle;
pub use queue::{AckOutcome, Lease, QueueState};
pub use table::{Delivery, PendingCommit, PopConfig, PopRequest, PopTable};
