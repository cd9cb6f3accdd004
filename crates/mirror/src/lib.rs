//! `ferromq mirror`: a long-running process that copies messages queue by queue from a source
//! cluster to a target cluster and keeps consumer-group offsets in sync.
//!
//! Offsets cannot simply be copied: a target queue may already hold messages, the mirror may
//! start after the source's retention deleted the head of a queue, and filtered or refused
//! messages leave holes. The mirror therefore records, per source queue, exactly where every
//! copied run of messages landed and translates group offsets through that record.
//!
//! Map of the crate:
//! - [`map`]: [`map::QueueMap`] — exact source → target offset translation for one queue.
//! - [`state`]: [`state::StateDir`] — the locked, CRC-checked, atomically replaced state
//!   directory that lets translation survive restarts.
//! - [`metrics`]: [`metrics::Metrics`] — counters, rates and lag figures, as a JSON snapshot or
//!   Prometheus text.

pub mod map;
pub mod metrics;
pub mod state;
