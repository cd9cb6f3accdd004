//! Model test: random commit batches, operator changes (sets, deletes, intents) and undos of
//! earlier changes, deletes, compactions and reopens (clean, crash with a garbage tail, crash
//! with the last record torn) against an oracle of BTreeMaps plus a Vec history.

use crate::common;
use common::*;

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferromq_offsets::{
    Change, ChangeDraft, ChangeEntry, ChangeUndo, Intent, IntentKey, IntentSpec, QueueKey, Tuning,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Commit(Vec<(u8, u8, i32, i64)>),
    DeleteGroup(u8),
    DeleteTopic(u8),
    DeleteGroupTopic(u8, u8),
    Change {
        set: Vec<(u8, u8, i32, Option<i64>)>,
        intents: Vec<(u8, u8, Option<i32>, u8, i64)>,
        clear: Vec<(u8, u8, Option<i32>)>,
    },
    Undo(u16),
    Compact,
    ReopenClean,
    CrashGarbage(Vec<u8>),
    CrashTornLast(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::collection::vec((0u8..4, 0u8..4, 0i32..5, any::<i64>()), 1..8).prop_map(Op::Commit),
        4 => (
            prop::collection::vec((0u8..4, 0u8..4, 0i32..5, prop::option::of(-5i64..1000)), 0..6),
            prop::collection::vec((0u8..4, 0u8..4, prop::option::of(0i32..3), 0u8..4, -5i64..5), 0..3),
            prop::collection::vec((0u8..4, 0u8..4, prop::option::of(0i32..3)), 0..3),
        )
            .prop_map(|(set, intents, clear)| Op::Change { set, intents, clear }),
        2 => any::<u16>().prop_map(Op::Undo),
        1 => (0u8..4).prop_map(Op::DeleteGroup),
        1 => (0u8..4).prop_map(Op::DeleteTopic),
        1 => (0u8..4, 0u8..4).prop_map(|(g, t)| Op::DeleteGroupTopic(g, t)),
        1 => Just(Op::Compact),
        1 => Just(Op::ReopenClean),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::CrashGarbage),
        1 => any::<u16>().prop_map(Op::CrashTornLast),
    ]
}

const HISTORY_LIMIT: usize = 6;

#[derive(Clone, Debug, Default)]
struct Model {
    offsets: BTreeMap<QueueKey, i64>,
    intents: BTreeMap<IntentKey, Intent>,
    /// Oldest first, at most HISTORY_LIMIT.
    history: Vec<Change>,
    next_id: u64,
}

impl Model {
    fn new() -> Self {
        Model {
            next_id: 1,
            ..Model::default()
        }
    }

    /// The model's own reading of apply_change: returns the expected Change (time from the store).
    fn apply(&mut self, d: &ChangeDraft, time_ms: i64) -> Change {
        let mut set: BTreeMap<QueueKey, Option<i64>> = BTreeMap::new();
        for (k, v) in &d.set {
            set.insert(k.clone(), *v);
        }
        let mut intents_set: BTreeMap<IntentKey, Intent> = BTreeMap::new();
        for i in &d.set_intents {
            intents_set.insert(i.key(), i.clone());
        }
        let mut cleared: BTreeMap<IntentKey, Intent> = BTreeMap::new();
        for key in d.clear_intents.iter().chain(intents_set.keys()) {
            if let Some(i) = self.intents.get(key) {
                cleared.insert(key.clone(), i.clone());
            }
        }
        let entries = set
            .iter()
            .map(|(k, after)| ChangeEntry {
                key: k.clone(),
                before: self.offsets.get(k).copied(),
                after: *after,
            })
            .collect();
        for (k, v) in &set {
            match v {
                Some(v) => self.offsets.insert(k.clone(), *v),
                None => self.offsets.remove(k),
            };
        }
        for key in cleared.keys() {
            self.intents.remove(key);
        }
        for (key, i) in &intents_set {
            self.intents.insert(key.clone(), i.clone());
        }
        let c = Change {
            id: self.next_id,
            time_ms,
            actor: d.actor.clone(),
            operation: d.operation.clone(),
            scope: d.scope.clone(),
            entries,
            intents_set: intents_set.into_values().collect(),
            intents_cleared: cleared.into_values().collect(),
            undo_of: d.undo_of,
        };
        self.next_id += 1;
        self.history.push(c.clone());
        if self.history.len() > HISTORY_LIMIT {
            self.history.remove(0);
        }
        c
    }

    fn delete(&mut self, f: impl Fn(&str, &str) -> bool) -> usize {
        let m0 = self.offsets.len();
        self.offsets.retain(|k, _| !f(&k.group, &k.topic));
        self.intents.retain(|k, _| !f(&k.0, &k.1));
        m0 - self.offsets.len()
    }
}

fn spec(kind: u8, v: i64) -> IntentSpec {
    match kind {
        0 => IntentSpec::Earliest,
        1 => IntentSpec::Latest,
        2 => IntentSpec::Timestamp(v),
        _ => IntentSpec::Offset(v),
    }
}

fn g(i: u8) -> String {
    format!("group{i}")
}
fn t(i: u8) -> String {
    format!("topic{i}")
}

/// The last record written: its segment, its byte range, and the model before it.
struct LastWrite {
    seg: PathBuf,
    start: u64,
    end: u64,
    before: Model,
}

fn run(ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = tempdir();
    let tuning = Tuning {
        compact_min_log_bytes: 600,
        compact_log_ratio: 0.5,
        history_limit: HISTORY_LIMIT,
        ..Tuning::default()
    };
    let mut store = open_tuned(d.path(), tuning.clone());
    let mut model = Model::new();
    let mut last: Option<LastWrite> = None;
    for op in ops {
        let seg = last_segment(d.path());
        let start = file_len(&seg);
        let before = model.clone();
        let apply = |store: &ferromq_offsets::OffsetStore, model: &mut Model, d: ChangeDraft| {
            let got = rt.block_on(store.apply_change(d.clone())).unwrap();
            let expect = model.apply(&d, got.time_ms);
            assert_eq!(got, expect);
        };
        let wrote = match &op {
            Op::Commit(batch) => {
                let entries: Vec<_> = batch
                    .iter()
                    .map(|&(gi, ti, q, o)| (QueueKey::new(g(gi), t(ti), q), o))
                    .collect();
                rt.block_on(store.commit(entries.clone())).unwrap();
                for (k, o) in entries {
                    model.offsets.insert(k, o);
                }
                true
            }
            Op::Change {
                set,
                intents,
                clear,
            } => {
                let d = ChangeDraft {
                    actor: "model".into(),
                    operation: "reset".into(),
                    scope: format!("{} keys", set.len()),
                    set: set
                        .iter()
                        .map(|&(gi, ti, q, o)| (QueueKey::new(g(gi), t(ti), q), o))
                        .collect(),
                    set_intents: intents
                        .iter()
                        .map(|&(gi, ti, q, kind, v)| Intent {
                            group: g(gi),
                            topic: t(ti),
                            queue_id: q,
                            spec: spec(kind, v),
                            created_ms: v,
                        })
                        .collect(),
                    clear_intents: clear.iter().map(|&(gi, ti, q)| (g(gi), t(ti), q)).collect(),
                    undo_of: None,
                    expect: Vec::new(),
                };
                apply(&store, &mut model, d);
                true
            }
            Op::Undo(i) => {
                if model.history.is_empty() {
                    false
                } else {
                    let target = model.history[*i as usize % model.history.len()].clone();
                    apply(&store, &mut model, target.undo_draft("model"));
                    true
                }
            }
            Op::DeleteGroup(gi) => {
                let n = rt.block_on(store.delete_group(&g(*gi))).unwrap();
                assert_eq!(n, model.delete(|mg, _| mg == g(*gi)));
                true
            }
            Op::DeleteTopic(ti) => {
                let n = rt.block_on(store.delete_topic(&t(*ti))).unwrap();
                assert_eq!(n, model.delete(|_, mt| mt == t(*ti)));
                true
            }
            Op::DeleteGroupTopic(gi, ti) => {
                let n = rt
                    .block_on(store.delete_group_topic(&g(*gi), &t(*ti)))
                    .unwrap();
                assert_eq!(n, model.delete(|mg, mt| mg == g(*gi) && mt == t(*ti)));
                true
            }
            Op::Compact => {
                store.compact().unwrap();
                last = None;
                false
            }
            Op::ReopenClean => {
                store.shutdown().unwrap();
                drop(store);
                store = open_tuned(d.path(), tuning.clone());
                last = None;
                false
            }
            Op::CrashGarbage(bytes) => {
                drop(store);
                append_bytes(&last_segment(d.path()), bytes);
                store = open_tuned(d.path(), tuning.clone());
                last = None;
                false
            }
            Op::CrashTornLast(cut) => {
                drop(store);
                if let Some(lw) = last.take() {
                    // Only a record in the active segment can be torn by a crash.
                    if lw.seg == last_segment(d.path()) && file_len(&lw.seg) == lw.end {
                        let keep = lw.start + u64::from(*cut) % (lw.end - lw.start);
                        truncate(&lw.seg, keep);
                        model = lw.before;
                    }
                }
                store = open_tuned(d.path(), tuning.clone());
                false
            }
        };
        if wrote {
            // A write op may append nothing (e.g. a delete matching nothing): then the previous
            // record stays the last one.
            let seg_now = last_segment(d.path());
            if seg_now != seg {
                last = None;
            } else if file_len(&seg) > start {
                last = Some(LastWrite {
                    seg: seg.clone(),
                    start,
                    end: file_len(&seg),
                    before,
                });
            }
        }
        let got: BTreeMap<QueueKey, i64> = store.all().into_iter().collect();
        assert_eq!(got, model.offsets, "after {op:?}");
        assert_eq!(store.entry_count(), model.offsets.len());
        let intents: Vec<Intent> = model.intents.values().cloned().collect();
        assert_eq!(store.intents(None), intents, "intents after {op:?}");
        let mut history = model.history.clone();
        history.reverse();
        assert_eq!(
            store.history(None, usize::MAX),
            history,
            "history after {op:?}"
        );
        assert_eq!(
            store.next_change_id(),
            model.next_id,
            "next id after {op:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
