//! The append path: assigns offsets, patches records, writes the commit log and the
//! consume-queue entries, then publishes them. Runs under the store's writer mutex; never
//! awaits. A failed append publishes nothing and is undone (see [`Writer::append`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferromq_protocol::message::{patch_record, pos};

use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_UNIT};
use crate::error::StoreError;
use crate::mapped::with_write_path;
use crate::record::{self, blank, valid_topic};
use crate::segment::Segment;
use crate::shared::{Counters, Shared};
use crate::types::{AppendRecord, PutResult};

pub(crate) struct Writer {
    /// The segment `pos` is in (or at the end of).
    pub seg: Arc<Segment>,
    /// Where the next record goes.
    pub pos: i64,
    /// Bytes of `seg` from `pos` up to here may hold parts of an append that failed. They are
    /// zeroed before the next append writes anything: recovery must find zeros where the log
    /// ends, not records nobody was told about (whose queue offsets later appends reuse).
    dirty_to: i64,
    scratch: Vec<u8>,
    cq_scratch: Vec<u8>,
}

/// The queues one append touches: `[first, next)` are its queue offsets in `cq`.
struct QueueRun {
    cq: Arc<ConsumeQueue>,
    first: i64,
    next: i64,
}

/// Checks a record before anything is written.
///
/// # Errors
/// [`StoreError::MessageTooLarge`], [`StoreError::InvalidTopic`],
/// [`StoreError::InvalidQueueId`] or [`StoreError::InvalidRecord`] naming the first problem.
pub(crate) fn check(rec: &AppendRecord, limit: usize) -> Result<(), StoreError> {
    if rec.bytes.len() > limit {
        return Err(StoreError::MessageTooLarge {
            size: rec.bytes.len(),
            limit,
        });
    }
    if !valid_topic(&rec.topic) {
        return Err(StoreError::InvalidTopic(rec.topic.clone()));
    }
    if rec.queue_id < 0 {
        return Err(StoreError::InvalidQueueId(rec.queue_id));
    }
    let m = record::parse(&rec.bytes).map_err(StoreError::InvalidRecord)?;
    if m.total != rec.bytes.len() {
        return Err(StoreError::InvalidRecord(
            "totalSize does not match the record length",
        ));
    }
    if m.topic != rec.topic.as_bytes() {
        return Err(StoreError::InvalidRecord(
            "record topic differs from the append topic",
        ));
    }
    Ok(())
}

impl Writer {
    pub fn new(seg: Arc<Segment>, pos: i64) -> Self {
        Writer {
            seg,
            pos,
            dirty_to: pos,
            scratch: Vec::new(),
            cq_scratch: Vec::new(),
        }
    }

    /// Appends `records` contiguously; returns their placement and the new end of the log.
    ///
    /// All or nothing: an append that fails (a full disk: a segment or consume-queue file that
    /// cannot be created, a `pwrite` that fails) publishes nothing, takes back the segments it
    /// created and leaves the writer where it was, so the next append can succeed once there is
    /// room again.
    ///
    /// # Errors
    /// [`StoreError::Io`] when a file cannot be created or written (a full disk), or
    /// [`StoreError::InvalidTopic`] / [`StoreError::InvalidQueueId`] from the queue table; the
    /// append is then undone as described above.
    pub fn append(
        &mut self,
        shared: &Shared,
        records: Vec<AppendRecord>,
        now: i64,
    ) -> Result<(Vec<PutResult>, i64), StoreError> {
        with_write_path(shared.write_path, || {
            self.clear_dirty()?;
            let (seg, pos) = (self.seg.clone(), self.pos);
            let mut queues = Vec::new();
            match self.try_append(shared, records, now, &mut queues) {
                Ok(done) => {
                    self.dirty_to = self.pos;
                    Ok(done)
                }
                Err(e) => {
                    self.roll_back(shared, seg, pos, &queues);
                    Err(e)
                }
            }
        })
    }

    /// Zeroes what a failed append left past the end of the log.
    fn clear_dirty(&mut self) -> Result<(), StoreError> {
        let end = self.dirty_to.min(self.seg.end());
        if end > self.pos {
            self.seg
                .file
                .zero((self.pos - self.seg.start) as u64, (end - self.pos) as u64)?;
            tracing::debug!(
                from = self.pos,
                to = end,
                "cleared the bytes of a failed append"
            );
        }
        self.dirty_to = self.pos;
        Ok(())
    }

    fn roll_back(&mut self, shared: &Shared, seg: Arc<Segment>, pos: i64, queues: &[QueueRun]) {
        shared.log.remove_after(seg.start);
        self.seg = seg;
        self.pos = pos;
        self.scratch.clear();
        for q in queues {
            q.cq.clear_unpublished(q.first, q.next);
        }
        if let Err(e) = self.clear_dirty() {
            tracing::debug!(error = %e, "cannot clear the bytes of a failed append yet; the next append will");
        }
    }

    /// Writes `scratch` at `at` in the current segment.
    fn write_scratch(&mut self, at: i64) -> Result<(), StoreError> {
        if self.scratch.is_empty() {
            return Ok(());
        }
        self.dirty_to = self.dirty_to.max(at + self.scratch.len() as i64);
        let r = self
            .seg
            .file
            .write_at((at - self.seg.start) as u64, &self.scratch);
        self.scratch.clear();
        r
    }

    fn try_append(
        &mut self,
        shared: &Shared,
        mut records: Vec<AppendRecord>,
        now: i64,
        queues: &mut Vec<QueueRun>,
    ) -> Result<(Vec<PutResult>, i64), StoreError> {
        // 1. Queue offsets: the slot of each record's queue in `queues`.
        let mut slots: Vec<usize> = Vec::with_capacity(records.len());
        for rec in &records {
            let slot = match queues
                .iter()
                .position(|q| q.cq.queue_id == rec.queue_id && q.cq.topic == rec.topic)
            {
                Some(s) => s,
                None => {
                    let cq = shared.queues.get_or_create(&rec.topic, rec.queue_id)?;
                    let first = cq.max();
                    queues.push(QueueRun {
                        cq,
                        first,
                        next: first,
                    });
                    queues.len() - 1
                }
            };
            queues[slot].next += 1;
            slots.push(slot);
        }
        // 2. Consume-queue files first: creating one is where a full disk shows most often.
        for q in queues.iter() {
            q.cq.prepare(q.first, q.next - q.first)?;
        }
        // 3. The records, rolling to new segments as needed.
        let mut next_qo: Vec<i64> = queues.iter().map(|q| q.first).collect();
        let mut results = Vec::with_capacity(records.len());
        let mut batch_start = self.pos;
        let mut padding = 0u64;
        self.scratch.clear();
        for (rec, &slot) in records.iter_mut().zip(&slots) {
            let qo = next_qo[slot];
            next_qo[slot] += 1;
            let len = rec.bytes.len() as i64;
            if self.pos + len + record::BLANK_LEN as i64 > self.seg.end() {
                self.write_scratch(batch_start)?;
                let remaining = self.seg.end() - self.pos;
                if remaining >= record::BLANK_LEN as i64 {
                    self.dirty_to = self.seg.end();
                    self.seg
                        .file
                        .write_at((self.pos - self.seg.start) as u64, &blank(remaining as i32))?;
                }
                padding += remaining as u64;
                let start = self.seg.end();
                self.seg = shared.log.roll(start)?;
                self.pos = start;
                batch_start = start;
            }
            rec.bytes[pos::QUEUE_ID..pos::QUEUE_ID + 4]
                .copy_from_slice(&rec.queue_id.to_be_bytes());
            patch_record(&mut rec.bytes, qo, self.pos, now);
            self.scratch.extend_from_slice(&rec.bytes);
            results.push(PutResult {
                physical_offset: self.pos,
                queue_offset: qo,
                store_timestamp: now,
                size: len as i32,
            });
            self.pos += len;
            self.seg.note_store_time(now);
        }
        self.write_scratch(batch_start)?;
        // 4. Consume-queue entries, past each queue's max: not visible yet.
        self.write_entries(queues, &slots, &records, &results)?;
        // 5. Publish: the log's end, then the queues (readers check entries against the end).
        shared.log.publish(self.pos);
        for q in queues.iter() {
            q.cq.publish_max(q.next);
        }
        shared.dispatched.store(self.pos, Ordering::Release);
        let c = &shared.counters;
        Counters::add(&c.puts, 1);
        Counters::add(&c.messages, records.len() as u64);
        Counters::add(
            &c.bytes,
            results.iter().map(|r| r.size as u64).sum::<u64>() + padding,
        );
        Ok((results, self.pos))
    }

    /// Writes the consume-queue entries, one write per run of records for the same queue.
    fn write_entries(
        &mut self,
        queues: &[QueueRun],
        slots: &[usize],
        records: &[AppendRecord],
        results: &[PutResult],
    ) -> Result<(), StoreError> {
        let mut at: Vec<i64> = queues.iter().map(|q| q.first).collect();
        let mut i = 0;
        while i < slots.len() {
            let slot = slots[i];
            self.cq_scratch.clear();
            while i < slots.len() && slots[i] == slot {
                let e = CqEntry {
                    phys: results[i].physical_offset,
                    size: results[i].size,
                    tags: records[i].tags_code,
                };
                self.cq_scratch.extend_from_slice(&e.encode());
                i += 1;
            }
            queues[slot].cq.write_at(at[slot], &self.cq_scratch)?;
            at[slot] += (self.cq_scratch.len() / CQ_UNIT) as i64;
        }
        Ok(())
    }
}
