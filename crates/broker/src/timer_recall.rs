//! [`Recalls`]: timed messages recalled before their delivery time (5.x RecallMessage). A
//! recall is written to `config/timerRecalled.json` before it is answered, by the file's
//! background writer ([`persist::ConfigWriter`]: the request waits without holding a thread,
//! and a burst of recalls is one write); the timer drops a recalled message at its next move
//! ([`crate::schedule`]) and forgets the recall once the message's time has passed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::persist;

/// Longest a recall waits for its write before it is answered as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many recalls wait for their messages' times.
pub const MAX_RECALLS: usize = 100_000;
/// A recall is kept this long past its message's time (a move may be late).
const KEEP_AFTER_MS: i64 = 60_000;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RecallFile {
    /// `topic` → message id → delivery time (ms).
    recalled: BTreeMap<String, BTreeMap<String, i64>>,
}

pub struct Recalls {
    file: Arc<RwLock<RecallFile>>,
    writer: persist::ConfigWriter,
}

/// Why a recall was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecallError {
    /// Not a recall handle this broker issued for that topic.
    #[error("recall handle is invalid: {0:?}")]
    Invalid(String),
    /// Its time has passed: it was delivered (or is about to be).
    #[error("message {0} was already delivered (its delivery time has passed)")]
    Delivered(String),
    #[error("{MAX_RECALLS} recalls are waiting; try again later")]
    Full,
    #[error("recording the recall failed: {0}")]
    Io(String),
}

impl Recalls {
    /// Loads the recalls (none when the file is absent).
    ///
    /// # Errors
    /// A corrupt file.
    pub fn load(path: PathBuf) -> Result<Self, String> {
        let file = Arc::new(RwLock::new(persist::load_json::<RecallFile>(&path)?));
        Ok(Recalls {
            writer: persist::ConfigWriter::for_table(path, file.clone()),
            file,
        })
    }

    /// Recalls message `id` of `topic`, due at `deliver_ms`; durable when it returns Ok.
    ///
    /// # Errors
    /// [`RecallError`].
    pub async fn recall(
        &self,
        topic: &str,
        id: &str,
        deliver_ms: i64,
        now_ms: i64,
    ) -> Result<(), RecallError> {
        let generation = self.record(topic, id, deliver_ms, now_ms)?;
        self.writer
            .wait(generation, WRITE_TIMEOUT)
            .await
            .map_err(RecallError::Io)
    }

    /// Adds the recall to the table; returns the write generation that makes it durable.
    fn record(
        &self,
        topic: &str,
        id: &str,
        deliver_ms: i64,
        now_ms: i64,
    ) -> Result<u64, RecallError> {
        if deliver_ms <= now_ms {
            return Err(RecallError::Delivered(id.to_string()));
        }
        // Handles are not signed: a time the timer could never hold names no message of ours
        // (and would keep its entry, and its place under MAX_RECALLS, for good).
        if deliver_ms.saturating_sub(now_ms) > crate::timer::MAX_DELAY_MS {
            return Err(RecallError::Invalid(format!(
                "delivery time {deliver_ms} is more than the timer's {} ms ahead",
                crate::timer::MAX_DELAY_MS
            )));
        }
        let mut f = self.file.write();
        let count: usize = f.recalled.values().map(BTreeMap::len).sum();
        if count >= MAX_RECALLS {
            return Err(RecallError::Full);
        }
        f.recalled
            .entry(topic.to_string())
            .or_default()
            .insert(id.to_string(), deliver_ms);
        Ok(self.writer.mark())
    }

    /// Whether message `id` of `topic` was recalled; a recalled message is forgotten here (the
    /// caller drops it).
    pub fn take(&self, topic: &str, id: &str) -> bool {
        let mut f = self.file.write();
        let Some(ids) = f.recalled.get_mut(topic) else {
            return false;
        };
        if ids.remove(id).is_none() {
            return false;
        }
        if ids.is_empty() {
            f.recalled.remove(topic);
        }
        // Forgetting is not urgent: a recall left on disk only expires later.
        self.writer.mark();
        true
    }

    /// Forgets recalls whose messages' times are long past.
    pub fn expire(&self, now_ms: i64) {
        let mut f = self.file.write();
        let before: usize = f.recalled.values().map(BTreeMap::len).sum();
        for ids in f.recalled.values_mut() {
            ids.retain(|_, at| at.saturating_add(KEEP_AFTER_MS) > now_ms);
        }
        f.recalled.retain(|_, ids| !ids.is_empty());
        let after: usize = f.recalled.values().map(BTreeMap::len).sum();
        if after != before {
            self.writer.mark();
        }
    }

    /// Writes pending changes now (shutdown).
    ///
    /// # Errors
    /// The file cannot be written in time.
    pub fn flush(&self) -> Result<(), String> {
        self.writer.flush(WRITE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recall_is_durable_taken_once_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timerRecalled.json");
        let r = Recalls::load(path.clone()).unwrap();
        assert_eq!(
            r.recall("T", "old", 100, 200).await,
            Err(RecallError::Delivered("old".into()))
        );
        r.recall("T", "a", 5_000, 1_000).await.unwrap();
        r.recall("T", "b", 5_000, 1_000).await.unwrap();
        // Answered means written: a new table (a restart) reads both.
        let again = Recalls::load(path).unwrap();
        assert!(again.take("T", "a"));
        assert!(!again.take("T", "a"), "taken once");
        again.expire(5_000 + KEEP_AFTER_MS);
        assert!(!again.take("T", "b"), "expired");
    }

    /// Found in review: a forged handle's far-future time kept its entry for good, and
    /// `i64::MAX` overflowed the expiry.
    #[tokio::test]
    async fn times_the_timer_cannot_hold_are_refused_and_expiry_never_overflows() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recalls::load(dir.path().join("timerRecalled.json")).unwrap();
        let now = 1_700_000_000_000;
        assert!(matches!(
            r.recall("T", "far", i64::MAX, now).await,
            Err(RecallError::Invalid(_))
        ));
        r.recall("T", "near", now + crate::timer::MAX_DELAY_MS, now)
            .await
            .unwrap();
        // A file written by hand (or an older version) may still hold one.
        r.file
            .write()
            .recalled
            .entry("T".into())
            .or_default()
            .insert("max".into(), i64::MAX);
        r.expire(now);
        assert!(
            r.take("T", "max"),
            "kept until its time, without overflowing"
        );
    }
}
