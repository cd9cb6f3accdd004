//! The append path: assigns offsets, patches records, writes the commit log and dispatches
//! consume-queue entries. Runs under the store's writer mutex; never awaits.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferromq_protocol::message::{patch_record, pos};

use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::error::StoreError;
use crate::record::{self, blank, valid_topic};
use crate::segment::Segment;
use crate::shared::{Counters, Shared};
use crate::types::{AppendRecord, PutResult};

pub(crate) struct Writer {
    /// The segment `pos` is in (or at the end of).
    pub seg: Arc<Segment>,
    /// Where the next record goes.
    pub pos: i64,
    scratch: Vec<u8>,
    cq_scratch: Vec<u8>,
}

/// Checks a record before anything is written.
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
            scratch: Vec::new(),
            cq_scratch: Vec::new(),
        }
    }

    /// Writes `scratch` at `at` in the current segment.
    fn write_scratch(&mut self, at: i64) -> Result<(), StoreError> {
        if !self.scratch.is_empty() {
            self.seg
                .file
                .write_at((at - self.seg.start) as u64, &self.scratch)?;
            self.scratch.clear();
        }
        Ok(())
    }

    /// Appends `records` contiguously; returns their placement and the new end of the log.
    pub fn append(
        &mut self,
        shared: &Shared,
        mut records: Vec<AppendRecord>,
        now: i64,
    ) -> Result<(Vec<PutResult>, i64), StoreError> {
        let mut results = Vec::with_capacity(records.len());
        // (queue, next queue offset) for each queue this batch touches.
        let mut queues: Vec<(Arc<ConsumeQueue>, i64)> = Vec::new();
        let mut slots: Vec<usize> = Vec::with_capacity(records.len());
        let mut batch_start = self.pos;
        let mut padding = 0u64;
        self.scratch.clear();
        for rec in records.iter_mut() {
            let slot = match queues
                .iter()
                .position(|(q, _)| q.queue_id == rec.queue_id && q.topic == rec.topic)
            {
                Some(s) => s,
                None => {
                    let q = shared.queues.get_or_create(&rec.topic, rec.queue_id);
                    let next = q.max();
                    queues.push((q, next));
                    queues.len() - 1
                }
            };
            let next = &mut queues[slot].1;
            let qo = *next;
            *next += 1;
            slots.push(slot);
            let len = rec.bytes.len() as i64;
            if self.pos + len + record::BLANK_LEN as i64 > self.seg.end() {
                self.write_scratch(batch_start)?;
                let remaining = self.seg.end() - self.pos;
                if remaining >= record::BLANK_LEN as i64 {
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
        shared.log.publish(self.pos);
        self.dispatch(&queues, &slots, &records, &results)?;
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

    /// Appends the consume-queue entries, one write per run of records for the same queue.
    fn dispatch(
        &mut self,
        queues: &[(Arc<ConsumeQueue>, i64)],
        slots: &[usize],
        records: &[AppendRecord],
        results: &[PutResult],
    ) -> Result<(), StoreError> {
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
            if let Some((q, _)) = queues.get(slot) {
                q.append(&self.cq_scratch)?;
            }
        }
        Ok(())
    }
}
