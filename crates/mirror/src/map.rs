//! Exact offset translation for one source queue.
//!
//! The mirror copies a source queue into a target queue that may already hold messages, may be
//! written by others at the same time, and does not receive the messages the mirror filters or
//! the target refuses. A consumer group's offset therefore cannot be copied as is: it must be
//! translated through a record of where every copied message landed.
//!
//! [`QueueMap`] is that record. It stores runs of consecutive messages that were copied to
//! consecutive target offsets as [`Segment`]s; a mirror that copies without interruption keeps
//! one segment per queue, however many messages it copies. Source offsets that were skipped and
//! target offsets written by others are never stored one by one: they are the gaps between
//! segments and the distance from the last segment to the map's position (`src_next`,
//! `tgt_next`).
//!
//! Translation is monotone (a later source offset never maps to an earlier target offset), so a
//! group that commits increasing offsets on the source commits increasing offsets on the target.

use serde::{Deserialize, Serialize};

/// Source offsets `src..src+len` were copied to target offsets `tgt..tgt+len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub src: i64,
    pub tgt: i64,
    pub len: i64,
}

impl Segment {
    /// First source offset after the segment. Valid segments never overflow (checked when they
    /// are recorded or loaded).
    fn src_end(&self) -> i64 {
        self.src + self.len
    }

    /// First target offset after the segment.
    fn tgt_end(&self) -> i64 {
        self.tgt + self.len
    }
}

/// How exact a [`Translation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The target offset is where the group's next message is (or will be written).
    Exact,
    /// The group is ahead of what has been mirrored; the target offset is the mirror's current
    /// position and the caller should translate again once the mirror has caught up.
    Held,
    /// The group is before the first message the mirror copied (source retention deleted it, or
    /// the mirror started later); the target offset is the first mirrored message. Messages the
    /// group had not consumed before that point do not exist on the target.
    Clamped,
}

/// The target offset for a source offset, and how exact it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub tgt: i64,
    pub kind: Kind,
}

/// A change that would break the map's invariants. Every one of them is a bug in the caller or
/// corrupt persisted state: accepting it would make translation non-monotone or inexact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A run or skip starts before source offsets the map already accounts for.
    #[error("source offset {src} goes backwards: offsets before {src_next} are already mirrored or skipped")]
    SourceBackwards { src: i64, src_next: i64 },
    /// A run or target advance starts before the target position the map already reached.
    #[error("target offset {tgt} goes backwards: the mirror already wrote or saw offsets before {tgt_next}")]
    TargetBackwards { tgt: i64, tgt_next: i64 },
    /// A run of no messages (or a negative number of them).
    #[error("run length must be positive, got {len}")]
    EmptyRun { len: i64 },
    /// `offset + len` does not fit in an i64.
    #[error("offset {offset} + length {len} overflows")]
    Overflow { offset: i64, len: i64 },
    /// A persisted map whose segments are not sorted, overlap, or lie beyond its position.
    #[error("invalid offset map: {0}")]
    Invalid(String),
}

/// Source → target offset map of one source queue. See the module documentation.
///
/// Invariants (checked on every change and when a map is deserialized):
/// - every segment has `len > 0` and does not overflow;
/// - segments are sorted and non-overlapping in both source and target offsets;
/// - when there are segments, `src_next` and `tgt_next` are set and not before the last
///   segment's end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QueueMapRepr")]
pub struct QueueMap {
    /// Copied runs, sorted.
    segments: Vec<Segment>,
    /// Every source offset below this has been copied (mapped) or skipped.
    src_next: Option<i64>,
    /// The target offset right after the last message the mirror wrote (or saw).
    tgt_next: Option<i64>,
}

/// The serialized form of [`QueueMap`], validated before it becomes one so that a hand-edited or
/// corrupt state file cannot produce a map that translates wrongly.
#[derive(Deserialize)]
struct QueueMapRepr {
    segments: Vec<Segment>,
    src_next: Option<i64>,
    tgt_next: Option<i64>,
}

impl TryFrom<QueueMapRepr> for QueueMap {
    type Error = MapError;

    fn try_from(r: QueueMapRepr) -> Result<Self, MapError> {
        let m = QueueMap {
            segments: r.segments,
            src_next: r.src_next,
            tgt_next: r.tgt_next,
        };
        m.validate()?;
        Ok(m)
    }
}

fn checked_end(offset: i64, len: i64) -> Result<i64, MapError> {
    offset
        .checked_add(len)
        .ok_or(MapError::Overflow { offset, len })
}

impl QueueMap {
    /// An empty map positioned at `src` on the source and `tgt` on the target: the mirror will
    /// copy the source from `src` and the next message it writes will land at `tgt`.
    pub fn starting_at(src: i64, tgt: i64) -> Self {
        QueueMap {
            segments: Vec::new(),
            src_next: Some(src),
            tgt_next: Some(tgt),
        }
    }

    /// `len` messages were copied: source offsets `src..src+len` landed at target offsets
    /// `tgt..tgt+len`. Source offsets between the previous position and `src` count as skipped;
    /// target offsets between the previous position and `tgt` were written by others.
    ///
    /// A run contiguous with the last segment in both source and target extends it, so an
    /// uninterrupted mirror keeps a single segment.
    ///
    /// # Errors
    /// [`MapError::EmptyRun`] for `len <= 0`, [`MapError::SourceBackwards`] /
    /// [`MapError::TargetBackwards`] for a run before the map's position, and
    /// [`MapError::Overflow`] when the run's end does not fit in an `i64`. The map is unchanged.
    pub fn record_run(&mut self, src: i64, tgt: i64, len: i64) -> Result<(), MapError> {
        if len <= 0 {
            return Err(MapError::EmptyRun { len });
        }
        if let Some(src_next) = self.src_next {
            if src < src_next {
                return Err(MapError::SourceBackwards { src, src_next });
            }
        }
        if let Some(tgt_next) = self.tgt_next {
            if tgt < tgt_next {
                return Err(MapError::TargetBackwards { tgt, tgt_next });
            }
        }
        let src_end = checked_end(src, len)?;
        let tgt_end = checked_end(tgt, len)?;
        match self.segments.last_mut() {
            Some(last) if last.src_end() == src && last.tgt_end() == tgt => last.len += len,
            _ => self.segments.push(Segment { src, tgt, len }),
        }
        self.src_next = Some(src_end);
        self.tgt_next = Some(tgt_end);
        Ok(())
    }

    /// Source offsets `[src_next, src_end)` were skipped (filtered, or refused by the target):
    /// they will never exist on the target. On a map without a source position this sets it.
    ///
    /// # Errors
    /// [`MapError::SourceBackwards`] when `src_end` is before the map's source position.
    pub fn skip(&mut self, src_end: i64) -> Result<(), MapError> {
        if let Some(src_next) = self.src_next {
            if src_end < src_next {
                return Err(MapError::SourceBackwards {
                    src: src_end,
                    src_next,
                });
            }
        }
        self.src_next = Some(src_end);
        Ok(())
    }

    /// Messages the mirror did not write occupy the target up to `tgt` (exclusive): the next
    /// copied message will land at `tgt` or later. On a map without a target position this sets
    /// it.
    ///
    /// # Errors
    /// [`MapError::TargetBackwards`] when `tgt` is before the map's target position.
    pub fn advance_target(&mut self, tgt: i64) -> Result<(), MapError> {
        if let Some(tgt_next) = self.tgt_next {
            if tgt < tgt_next {
                return Err(MapError::TargetBackwards { tgt, tgt_next });
            }
        }
        self.tgt_next = Some(tgt);
        Ok(())
    }

    /// Every source offset below this has been copied or skipped.
    pub fn src_next(&self) -> Option<i64> {
        self.src_next
    }

    /// The target offset right after the last message the mirror wrote (or saw).
    pub fn tgt_next(&self) -> Option<i64> {
        self.tgt_next
    }

    /// The copied runs, sorted.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Translates `src`, the offset of the next message a group would consume on the source, to
    /// the offset of the next message it should consume on the target. `None` until the map has
    /// both a source and a target position.
    ///
    /// - inside a segment: the message's own target offset ([`Kind::Exact`]);
    /// - at `src_next`: `tgt_next`, where the group's next message will be written (Exact);
    /// - past `src_next`: `tgt_next` ([`Kind::Held`]);
    /// - before the first segment: the first segment's target offset, or `tgt_next` without
    ///   segments ([`Kind::Clamped`]);
    /// - in a gap between segments or a skipped range after the last one: the target offset of
    ///   the next copied message, or `tgt_next` if none (Exact — skipped messages do not exist
    ///   on the target, so the next existing one is what the group consumes next).
    pub fn translate(&self, src: i64) -> Option<Translation> {
        let src_next = self.src_next?;
        let tgt_next = self.tgt_next?;
        let exact = |tgt| Translation {
            tgt,
            kind: Kind::Exact,
        };
        // The first segment that ends after `src`: it contains `src` or is the next one after.
        let idx = self.segments.partition_point(|s| s.src_end() <= src);
        if let Some(seg) = self.segments.get(idx) {
            return Some(if src >= seg.src {
                exact(seg.tgt + (src - seg.src))
            } else if idx == 0 {
                Translation {
                    tgt: seg.tgt,
                    kind: Kind::Clamped,
                }
            } else {
                exact(seg.tgt)
            });
        }
        // At or after the end of the last segment (segments never reach past src_next).
        Some(if src > src_next {
            Translation {
                tgt: tgt_next,
                kind: Kind::Held,
            }
        } else if src < src_next && self.segments.is_empty() {
            Translation {
                tgt: tgt_next,
                kind: Kind::Clamped,
            }
        } else {
            exact(tgt_next)
        })
    }

    /// Checks the invariants listed on [`QueueMap`].
    ///
    /// # Errors
    /// [`MapError::Invalid`] naming the first broken invariant, [`MapError::Overflow`] for a
    /// segment whose end does not fit in an `i64`.
    pub fn validate(&self) -> Result<(), MapError> {
        let invalid = |msg: String| Err(MapError::Invalid(msg));
        let mut prev: Option<&Segment> = None;
        for seg in &self.segments {
            if seg.len <= 0 {
                return invalid(format!("segment {seg:?} has length {}", seg.len));
            }
            checked_end(seg.src, seg.len)?;
            checked_end(seg.tgt, seg.len)?;
            if let Some(p) = prev {
                if seg.src < p.src_end() || seg.tgt < p.tgt_end() {
                    return invalid(format!("segment {seg:?} overlaps or precedes {p:?}"));
                }
            }
            prev = Some(seg);
        }
        if let Some(last) = prev {
            match (self.src_next, self.tgt_next) {
                (Some(s), Some(t)) if s >= last.src_end() && t >= last.tgt_end() => {}
                (s, t) => {
                    return invalid(format!(
                    "position src_next={s:?} tgt_next={t:?} is before the end of segment {last:?}"
                ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(src: i64, tgt: i64, len: i64) -> Segment {
        Segment { src, tgt, len }
    }

    fn t(tgt: i64, kind: Kind) -> Option<Translation> {
        Some(Translation { tgt, kind })
    }

    #[test]
    fn starting_at_positions_an_empty_map() {
        let m = QueueMap::starting_at(100, 500);
        assert_eq!(m.src_next(), Some(100));
        assert_eq!(m.tgt_next(), Some(500));
        assert!(m.segments().is_empty());
        assert_eq!(m.translate(100), t(500, Kind::Exact));
        assert_eq!(m.translate(101), t(500, Kind::Held));
        assert_eq!(m.translate(99), t(500, Kind::Clamped));
        assert_eq!(m.translate(0), t(500, Kind::Clamped));
    }

    #[test]
    fn unpositioned_map_translates_nothing() {
        let mut m = QueueMap::default();
        assert_eq!(m.translate(0), None);
        m.skip(10).unwrap();
        assert_eq!(m.translate(10), None, "no target position yet");
        m.advance_target(7).unwrap();
        assert_eq!(m.translate(10), t(7, Kind::Exact));
    }

    #[test]
    fn contiguous_runs_merge_into_one_segment() {
        let mut m = QueueMap::starting_at(0, 1000);
        for i in 0..100 {
            m.record_run(i * 10, 1000 + i * 10, 10).unwrap();
        }
        assert_eq!(m.segments(), &[seg(0, 1000, 1000)]);
        assert_eq!(m.src_next(), Some(1000));
        assert_eq!(m.tgt_next(), Some(2000));
    }

    #[test]
    fn runs_on_an_unpositioned_map_set_the_position() {
        let mut m = QueueMap::default();
        m.record_run(5, 9, 3).unwrap();
        assert_eq!(m.segments(), &[seg(5, 9, 3)]);
        assert_eq!((m.src_next(), m.tgt_next()), (Some(8), Some(12)));
    }

    #[test]
    fn non_contiguous_runs_start_new_segments() {
        let mut m = QueueMap::starting_at(0, 0);
        m.record_run(0, 0, 5).unwrap();
        // Foreign messages on the target: contiguous in src only.
        m.record_run(5, 8, 5).unwrap();
        // Skipped source messages: contiguous in tgt only.
        m.record_run(12, 13, 2).unwrap();
        assert_eq!(m.segments(), &[seg(0, 0, 5), seg(5, 8, 5), seg(12, 13, 2)]);
        // After an explicit skip / target advance the next run is not contiguous either.
        m.skip(20).unwrap();
        m.record_run(20, 15, 1).unwrap();
        m.advance_target(30).unwrap();
        m.record_run(21, 30, 1).unwrap();
        assert_eq!(m.segments().len(), 5);
        m.validate().unwrap();
    }

    #[test]
    fn monotonicity_is_enforced() {
        let mut m = QueueMap::starting_at(10, 20);
        assert_eq!(
            m.record_run(9, 20, 1),
            Err(MapError::SourceBackwards {
                src: 9,
                src_next: 10
            })
        );
        assert_eq!(
            m.record_run(10, 19, 1),
            Err(MapError::TargetBackwards {
                tgt: 19,
                tgt_next: 20
            })
        );
        assert_eq!(m.record_run(10, 20, 0), Err(MapError::EmptyRun { len: 0 }));
        assert_eq!(
            m.record_run(10, 20, -3),
            Err(MapError::EmptyRun { len: -3 })
        );
        assert!(matches!(
            m.record_run(i64::MAX - 1, 20, 5),
            Err(MapError::Overflow { .. })
        ));
        assert!(matches!(m.skip(9), Err(MapError::SourceBackwards { .. })));
        assert!(matches!(
            m.advance_target(19),
            Err(MapError::TargetBackwards { .. })
        ));
        // Failed calls change nothing.
        assert_eq!(m, QueueMap::starting_at(10, 20));
        // Equal positions are fine (no-ops).
        m.skip(10).unwrap();
        m.advance_target(20).unwrap();
        assert_eq!(m, QueueMap::starting_at(10, 20));
    }

    /// Source 100..110 → target 500..510, 110..115 skipped, 115..120 → 520..525 (510..520
    /// foreign), 120..130 skipped, target advanced to 540.
    fn sample() -> QueueMap {
        let mut m = QueueMap::starting_at(100, 500);
        m.record_run(100, 500, 10).unwrap();
        m.record_run(115, 520, 5).unwrap();
        m.skip(130).unwrap();
        m.advance_target(540).unwrap();
        m
    }

    #[test]
    fn translate_inside_a_segment_is_exact() {
        let m = sample();
        assert_eq!(m.translate(100), t(500, Kind::Exact));
        assert_eq!(m.translate(109), t(509, Kind::Exact));
        assert_eq!(m.translate(115), t(520, Kind::Exact));
        assert_eq!(m.translate(119), t(524, Kind::Exact));
    }

    #[test]
    fn translate_at_src_next_is_tgt_next() {
        let m = sample();
        assert_eq!(m.translate(130), t(540, Kind::Exact));
        // Right at the end of a segment that ends at src_next.
        let mut m = QueueMap::starting_at(0, 0);
        m.record_run(0, 0, 10).unwrap();
        assert_eq!(m.translate(10), t(10, Kind::Exact));
    }

    #[test]
    fn translate_past_src_next_is_held() {
        let m = sample();
        assert_eq!(m.translate(131), t(540, Kind::Held));
        assert_eq!(m.translate(i64::MAX), t(540, Kind::Held));
    }

    #[test]
    fn translate_before_the_first_segment_is_clamped() {
        let m = sample();
        assert_eq!(m.translate(99), t(500, Kind::Clamped));
        assert_eq!(m.translate(0), t(500, Kind::Clamped));
        assert_eq!(m.translate(i64::MIN), t(500, Kind::Clamped));
        // The first segment is not at the map's start: a skipped head is clamped as well.
        let mut m = QueueMap::starting_at(0, 50);
        m.record_run(10, 60, 5).unwrap();
        assert_eq!(m.translate(3), t(60, Kind::Clamped));
    }

    #[test]
    fn translate_in_a_gap_is_the_next_copied_message() {
        let m = sample();
        // 110..115 skipped: the group's next message on the target is 115's copy at 520.
        assert_eq!(m.translate(110), t(520, Kind::Exact));
        assert_eq!(m.translate(114), t(520, Kind::Exact));
    }

    #[test]
    fn translate_in_a_skipped_tail_is_tgt_next() {
        let m = sample();
        assert_eq!(m.translate(120), t(540, Kind::Exact));
        assert_eq!(m.translate(129), t(540, Kind::Exact));
    }

    #[test]
    fn translate_is_monotone_exhaustively_on_the_sample() {
        let m = sample();
        let mut prev = i64::MIN;
        for src in 90..140 {
            let tr = m.translate(src).unwrap();
            assert!(tr.tgt >= prev, "src {src}: {} < {prev}", tr.tgt);
            prev = tr.tgt;
        }
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let m = sample();
        let json = serde_json::to_string(&m).unwrap();
        let back: QueueMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);

        for bad in [
            // overlapping segments
            r#"{"segments":[{"src":0,"tgt":0,"len":5},{"src":3,"tgt":10,"len":1}],"src_next":10,"tgt_next":20}"#,
            // target going backwards
            r#"{"segments":[{"src":0,"tgt":10,"len":5},{"src":5,"tgt":0,"len":1}],"src_next":10,"tgt_next":20}"#,
            // zero length
            r#"{"segments":[{"src":0,"tgt":0,"len":0}],"src_next":10,"tgt_next":20}"#,
            // position before the last segment's end
            r#"{"segments":[{"src":0,"tgt":0,"len":5}],"src_next":4,"tgt_next":20}"#,
            // segments without a position
            r#"{"segments":[{"src":0,"tgt":0,"len":5}],"src_next":null,"tgt_next":null}"#,
            // overflow
            r#"{"segments":[{"src":9223372036854775807,"tgt":0,"len":5}],"src_next":0,"tgt_next":20}"#,
        ] {
            let err = serde_json::from_str::<QueueMap>(bad).unwrap_err();
            assert!(err.to_string().contains("offset"), "{bad}: {err}");
        }
    }

    /// One mirror step, generated with small non-negative deltas so that every step is valid.
    #[derive(Debug, Clone)]
    enum Op {
        Run {
            src_gap: i64,
            tgt_gap: i64,
            len: i64,
        },
        Skip(i64),
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0i64..4, 0i64..4, 1i64..6).prop_map(|(src_gap, tgt_gap, len)| Op::Run {
                src_gap,
                tgt_gap,
                len
            }),
            (0i64..5).prop_map(Op::Skip),
            (0i64..5).prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// src1 ≤ src2 ⇒ tgt1 ≤ tgt2, over every source offset around the mapped range; and
        /// copied messages translate exactly to where they were written.
        #[test]
        fn translation_is_monotone_and_exact(
            start_src in 0i64..20,
            start_tgt in 0i64..20,
            ops in proptest::collection::vec(op(), 0..25),
        ) {
            let mut m = QueueMap::starting_at(start_src, start_tgt);
            let mut copied = Vec::new();
            for op in ops {
                let (s, t) = (m.src_next().unwrap(), m.tgt_next().unwrap());
                match op {
                    Op::Run { src_gap, tgt_gap, len } => {
                        m.record_run(s + src_gap, t + tgt_gap, len).unwrap();
                        copied.extend((0..len).map(|i| (s + src_gap + i, t + tgt_gap + i)));
                    }
                    Op::Skip(n) => m.skip(s + n).unwrap(),
                    Op::Advance(n) => m.advance_target(t + n).unwrap(),
                }
                m.validate().unwrap();
            }
            let src_next = m.src_next().unwrap();
            let mut prev: Option<Translation> = None;
            for src in -2..src_next + 3 {
                let tr = m.translate(src).unwrap();
                if let Some(p) = prev {
                    prop_assert!(p.tgt <= tr.tgt, "src {}: {:?} then {:?}", src, p, tr);
                }
                prop_assert_eq!(tr.kind == Kind::Held, src > src_next);
                prev = Some(tr);
            }
            for (s, t) in copied {
                prop_assert_eq!(m.translate(s), Some(Translation { tgt: t, kind: Kind::Exact }));
            }
            // Contiguous runs merged: adjacent segments are never contiguous in both.
            for w in m.segments().windows(2) {
                prop_assert!(w[0].src_end() != w[1].src || w[0].tgt_end() != w[1].tgt);
            }
        }
    }
}
