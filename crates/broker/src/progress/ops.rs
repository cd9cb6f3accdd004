//! Clone, delete, import, export, history and undo.

use ferromq_offsets::{Intent, IntentSpec};
use ferromq_store::BoundaryType;

use super::model::{
    CloneRequest, DeleteRequest, ExportPage, ExportRequest, HistoryRequest, HistoryResult,
    ImportRequest, OffsetRecord, PlanResult, UndoRequest, MAX_EXPORT_PAGE,
    MAX_HISTORY_PAGE_ENTRIES,
};
use super::plan::{bounds, validate_group, validate_topic, with_impact};
use super::{invalid, Mutation, Progress, ProgressError};
use crate::topics::now_ms;

impl Progress<'_> {
    /// Copies the source group's offsets to the destination group: every topic the source has
    /// offsets for unless topics are named (upstream's CLONE_GROUP_OFFSET without a topic copies
    /// nothing).
    ///
    /// # Errors
    /// Invalid names, or a source without offsets in scope.
    pub async fn clone_offsets(
        &self,
        req: CloneRequest,
        actor: &str,
    ) -> Result<PlanResult, ProgressError> {
        validate_group(&req.from)?;
        validate_group(&req.to)?;
        let topics = req
            .topics
            .clone()
            .unwrap_or_else(|| self.b.offsets.topics_of_group(&req.from));
        let mut queues = Vec::new();
        for topic in &topics {
            validate_topic(topic)?;
            for (q, off) in self.b.offsets.group_topic(&req.from, topic) {
                let current = self.b.offsets.get(&req.to, topic, q);
                queues.push(with_impact(
                    self.b,
                    &req.to,
                    topic,
                    q,
                    current,
                    Some(off),
                    Some(off),
                ));
            }
        }
        if queues.is_empty() {
            return Err(ProgressError::NotFound(format!(
                "group {} has no offsets to clone",
                req.from
            )));
        }
        self.apply(Mutation {
            operation: "clone",
            scope: format!(
                "from={} to={} topics={}",
                req.from,
                req.to,
                topics.join(",")
            ),
            actor: actor.into(),
            queues,
            set_intents: Vec::new(),
            clear_intents: Vec::new(),
            undo_of: None,
            dry_run: req.dry_run,
            expect: req.expect.clone(),
        })
        .await
    }

    /// Deletes a group's offsets (and intents) for some or all topics.
    ///
    /// # Errors
    /// Invalid names.
    pub async fn delete_offsets(
        &self,
        req: DeleteRequest,
        actor: &str,
    ) -> Result<PlanResult, ProgressError> {
        validate_group(&req.group)?;
        let topics = req.topics.clone().unwrap_or_else(|| {
            let mut t = self.b.offsets.topics_of_group(&req.group);
            t.extend(
                self.b
                    .offsets
                    .intents(Some(&req.group))
                    .into_iter()
                    .map(|i| i.topic),
            );
            t.sort();
            t.dedup();
            t
        });
        let mut queues = Vec::new();
        let mut clear = Vec::new();
        for topic in &topics {
            validate_topic(topic)?;
            for (q, off) in self.b.offsets.group_topic(&req.group, topic) {
                queues.push(with_impact(
                    self.b,
                    &req.group,
                    topic,
                    q,
                    Some(off),
                    None,
                    None,
                ));
            }
            clear.extend(
                self.b
                    .offsets
                    .intents(Some(&req.group))
                    .into_iter()
                    .filter(|i| &i.topic == topic),
            );
        }
        let result = self
            .apply(Mutation {
                operation: "delete",
                scope: format!("group={} topics={}", req.group, topics.join(",")),
                actor: actor.into(),
                queues,
                set_intents: Vec::new(),
                clear_intents: clear,
                undo_of: None,
                dry_run: req.dry_run,
                expect: req.expect.clone(),
            })
            .await?;
        Ok(result)
    }

    /// Imports offsets: explicit records, or an Apache RocketMQ `consumerOffset.json`. Queues
    /// that do not exist here yet become intents (a backup cluster may not have the topic yet).
    ///
    /// # Errors
    /// Invalid names or offsets, or a document that does not parse.
    pub async fn import(
        &self,
        req: ImportRequest,
        actor: &str,
    ) -> Result<PlanResult, ProgressError> {
        let mut records = req.records.clone();
        if let Some(doc) = &req.rocketmq_json {
            let parsed = ferromq_protocol::body::consumer_offset::parse(doc.as_bytes())
                .map_err(|e| invalid(e.to_string()))?;
            records.extend(parsed.into_iter().map(|(k, off)| OffsetRecord {
                group: k.group,
                topic: k.topic,
                queue_id: k.queue_id,
                offset: off,
                store_time_ms: None,
            }));
        }
        if records.is_empty() {
            return Err(invalid("nothing to import"));
        }
        let mut queues = Vec::new();
        let mut intents = Vec::new();
        for (row, r) in records.iter().enumerate() {
            let at = |e: ProgressError| invalid(format!("record {}: {e}", row + 1));
            validate_group(&r.group).map_err(at)?;
            validate_topic(&r.topic).map_err(at)?;
            if r.queue_id < 0 || r.offset < 0 {
                return Err(invalid(format!(
                    "record {}: queue id and offset must not be negative",
                    row + 1
                )));
            }
            let by_time = req.by_time.then_some(r.store_time_ms).flatten();
            let exists = self
                .b
                .topics
                .get(&r.topic)
                .is_some_and(|c| r.queue_id < c.queue_count());
            if !exists {
                let spec = by_time
                    .map(IntentSpec::Timestamp)
                    .unwrap_or(IntentSpec::Offset(r.offset));
                intents.push(Intent {
                    group: r.group.clone(),
                    topic: r.topic.clone(),
                    queue_id: Some(r.queue_id),
                    spec,
                    created_ms: now_ms(),
                });
                continue;
            }
            let (min, max) = bounds(self.b, &r.topic, r.queue_id);
            let requested = match by_time {
                Some(ts) => {
                    self.b
                        .store
                        .offset_by_time(&r.topic, r.queue_id, ts, BoundaryType::Lower)
                }
                None => r.offset,
            };
            let current = self.b.offsets.get(&r.group, &r.topic, r.queue_id);
            queues.push(with_impact(
                self.b,
                &r.group,
                &r.topic,
                r.queue_id,
                current,
                Some(requested.clamp(min, max)),
                Some(requested),
            ));
        }
        self.apply(Mutation {
            operation: "import",
            scope: format!(
                "{} records{}",
                records.len(),
                if req.by_time { " by time" } else { "" }
            ),
            actor: actor.into(),
            queues,
            set_intents: intents,
            clear_intents: Vec::new(),
            undo_of: None,
            dry_run: req.dry_run,
            expect: req.expect.clone(),
        })
        .await
    }

    /// Every committed offset of the groups, with the store time of the message at it.
    /// One page of the offset table (every group, or the ones asked for), in key order.
    pub fn export(&self, req: &ExportRequest) -> ExportPage {
        let wanted: Option<std::collections::HashSet<&str>> = req
            .groups
            .as_ref()
            .map(|g| g.iter().map(String::as_str).collect());
        let limit = req
            .limit
            .unwrap_or(MAX_EXPORT_PAGE)
            .clamp(1, MAX_EXPORT_PAGE);
        let (entries, more) = self.b.offsets.page(req.after.as_ref(), limit, |k| {
            wanted.as_ref().is_none_or(|g| g.contains(k.group.as_str()))
        });
        let next = more
            .then(|| entries.last().map(|(k, _)| k.clone()))
            .flatten();
        ExportPage {
            records: entries
                .into_iter()
                .map(|(k, off)| OffsetRecord {
                    store_time_ms: self.b.store.store_time_at(&k.topic, k.queue_id, off),
                    group: k.group,
                    topic: k.topic,
                    queue_id: k.queue_id,
                    offset: off,
                })
                .collect(),
            next,
        }
    }

    pub fn history(&self, req: &HistoryRequest) -> HistoryResult {
        let (changes, next_before) = self.b.offsets.history_page(
            req.group.as_deref(),
            req.before,
            req.limit.clamp(1, 10_000),
            MAX_HISTORY_PAGE_ENTRIES,
        );
        HistoryResult {
            changes,
            next_before,
        }
    }

    /// Restores a change's before-values (and its intents), recorded as a change of its own.
    ///
    /// # Errors
    /// An unknown change id.
    pub async fn undo(&self, req: UndoRequest, actor: &str) -> Result<PlanResult, ProgressError> {
        let change = self.b.offsets.change(req.change_id).ok_or_else(|| {
            ProgressError::NotFound(format!(
                "no change with id {} in the history",
                req.change_id
            ))
        })?;
        let queues = change
            .entries
            .iter()
            .map(|e| {
                let (t, q) = (&e.key.topic, e.key.queue_id);
                let current = self.b.offsets.get(&e.key.group, t, q);
                with_impact(self.b, &e.key.group, t, q, current, e.before, e.before)
            })
            .collect();
        self.apply(Mutation {
            operation: "undo",
            scope: format!("undo of change {} ({})", change.id, change.operation),
            actor: actor.into(),
            queues,
            set_intents: change.intents_cleared.clone(),
            clear_intents: change.intents_set.clone(),
            undo_of: Some(change.id),
            dry_run: req.dry_run,
            expect: req.expect.clone(),
        })
        .await
    }
}
