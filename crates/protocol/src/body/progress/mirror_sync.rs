//! FERRO_SYNC_OFFSETS (9011): offsets `ferromq mirror` translated from a source cluster.
//! (FERRO_MIRROR_APPEND, 9010, carries message records and header fields only.)

use serde::{Deserialize, Serialize};

/// One offset to store (the mirror writes translated offsets with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOffsetEntry {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
}

/// FERRO_SYNC_OFFSETS request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOffsetsRequest {
    pub entries: Vec<SyncOffsetEntry>,
    /// Leave groups with consumers connected to the broker alone (the default).
    #[serde(default = "yes")]
    pub skip_online_groups: bool,
}

fn yes() -> bool {
    true
}

/// An entry the broker refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedOffset {
    #[serde(flatten)]
    pub entry: SyncOffsetEntry,
    pub reason: String,
}

/// FERRO_SYNC_OFFSETS answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncOffsetsResult {
    pub applied: usize,
    pub skipped_online_groups: Vec<String>,
    pub rejected: Vec<RejectedOffset>,
}
