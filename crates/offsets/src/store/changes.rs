//! Operator changes: [`OffsetStore::apply_change`] and
//! [`OffsetStore::apply_change_then`], which record values, intents and a history entry as one
//! log record.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{now_ms, OffsetStore};
use crate::change::{Change, ChangeDraft, ChangeEntry, Intent, MovedQueue, NormalDraft};
use crate::codec;
use crate::error::OffsetError;
use crate::key::validate_name;

impl OffsetStore {
    /// Applies an operator change atomically and records it in the history.
    ///
    /// Under the store's write path lock it reads each key's current value as `before`, applies
    /// `set` (`None` deletes), clears then sets intents, assigns the next change id, and appends
    /// ONE log record holding all of it; after a crash either the whole change (values, intents,
    /// history entry) is present or none of it. Durable like [`commit`](Self::commit). Entries
    /// whose before equals after are still listed. An empty draft is recorded too.
    ///
    /// # Errors
    /// As [`commit`](Self::commit); [`OffsetError::InvalidKey`] also for a change whose record
    /// would exceed 64 MiB.
    pub async fn apply_change(&self, draft: ChangeDraft) -> Result<Change, OffsetError> {
        self.apply_change_then(draft, |_| {}).await
    }

    /// Like [`apply_change`](Self::apply_change); `then` runs under the log lock right after the
    /// change is applied to the table, before any other write (the broker installs its reset
    /// guards there, so no client commit can slip in between).
    ///
    /// # Errors
    /// As [`apply_change`](Self::apply_change).
    pub async fn apply_change_then(
        &self,
        mut draft: ChangeDraft,
        then: impl FnOnce(&Change),
    ) -> Result<Change, OffsetError> {
        for (k, _) in &draft.set {
            validate_name("group", &k.group)?;
            validate_name("topic", &k.topic)?;
        }
        for i in &draft.set_intents {
            validate_name("group", &i.group)?;
            validate_name("topic", &i.topic)?;
        }
        for (g, t, _) in &draft.clear_intents {
            validate_name("group", g)?;
            validate_name("topic", t)?;
        }
        let d = NormalDraft::new(&mut draft);
        let expect = std::mem::take(&mut draft.expect);
        let ts = now_ms();
        let mut applied = None;
        let lsn = self.inner.append_with(
            ts,
            |t| {
                let moved: Vec<MovedQueue> = expect
                    .iter()
                    .filter_map(|(k, expected)| {
                        let actual = t.get(&k.group, &k.topic, k.queue_id);
                        (actual != *expected).then(|| MovedQueue {
                            key: k.clone(),
                            expected: *expected,
                            actual,
                        })
                    })
                    .collect();
                if !moved.is_empty() {
                    return Err(OffsetError::Moved(moved));
                }
                let entries = d
                    .set
                    .iter()
                    .map(|(k, after)| ChangeEntry {
                        key: k.clone(),
                        before: t.get(&k.group, &k.topic, k.queue_id),
                        after: *after,
                    })
                    .collect();
                let mut cleared: BTreeMap<_, Intent> = BTreeMap::new();
                let replaced = d.set_intents.iter().map(Intent::key);
                for key in d.clear.iter().cloned().chain(replaced) {
                    if let Some(old) = t.changes.intents.get(&key) {
                        cleared.insert(key, old.clone());
                    }
                }
                let change = Change {
                    id: t.changes.next_id,
                    time_ms: ts as i64,
                    actor: std::mem::take(&mut draft.actor),
                    operation: std::mem::take(&mut draft.operation),
                    scope: std::mem::take(&mut draft.scope),
                    entries,
                    intents_set: d.set_intents.clone(),
                    intents_cleared: cleared.into_values().collect(),
                    undo_of: draft.undo_of,
                };
                let rec = codec::encode_change(ts, &change).map_err(OffsetError::InvalidKey)?;
                Ok(Some((Cow::Owned(rec), Arc::new(change))))
            },
            |t, change| {
                applied = Some(change.clone());
                t.apply_change(change);
                if let Some(c) = &applied {
                    then(c);
                }
            },
        )?;
        let change = applied.ok_or(OffsetError::Closed)?;
        // Operator changes are written through even with write-behind: a reset acknowledged
        // to an operator must survive a SIGKILL right after it.
        self.inner.write_out()?;
        self.wait_durable(lsn).await?;
        Ok((*change).clone())
    }
}
