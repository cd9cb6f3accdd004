//! Model test: random commit batches, deletes, compactions and reopens (clean, crash with a
//! garbage tail, crash with the last record torn) against a BTreeMap oracle.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferromq_offsets::{QueueKey, Tuning};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Commit(Vec<(u8, u8, i32, i64)>),
    DeleteGroup(u8),
    DeleteTopic(u8),
    DeleteGroupTopic(u8, u8),
    Compact,
    ReopenClean,
    CrashGarbage(Vec<u8>),
    CrashTornLast(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::collection::vec((0u8..4, 0u8..4, 0i32..5, any::<i64>()), 1..8).prop_map(Op::Commit),
        1 => (0u8..4).prop_map(Op::DeleteGroup),
        1 => (0u8..4).prop_map(Op::DeleteTopic),
        1 => (0u8..4, 0u8..4).prop_map(|(g, t)| Op::DeleteGroupTopic(g, t)),
        1 => Just(Op::Compact),
        1 => Just(Op::ReopenClean),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::CrashGarbage),
        1 => any::<u16>().prop_map(Op::CrashTornLast),
    ]
}

type Model = BTreeMap<QueueKey, i64>;

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
        ..Tuning::default()
    };
    let mut store = open_tuned(d.path(), tuning.clone());
    let mut model = Model::new();
    let mut last: Option<LastWrite> = None;
    for op in ops {
        let seg = last_segment(d.path());
        let start = file_len(&seg);
        let before = model.clone();
        let wrote = match &op {
            Op::Commit(batch) => {
                let entries: Vec<_> = batch
                    .iter()
                    .map(|&(gi, ti, q, o)| (QueueKey::new(g(gi), t(ti), q), o))
                    .collect();
                rt.block_on(store.commit(entries.clone())).unwrap();
                for (k, o) in entries {
                    model.insert(k, o);
                }
                true
            }
            Op::DeleteGroup(gi) => {
                let n = rt.block_on(store.delete_group(&g(*gi))).unwrap();
                let m0 = model.len();
                model.retain(|k, _| k.group != g(*gi));
                assert_eq!(n, m0 - model.len());
                n > 0
            }
            Op::DeleteTopic(ti) => {
                let n = rt.block_on(store.delete_topic(&t(*ti))).unwrap();
                let m0 = model.len();
                model.retain(|k, _| k.topic != t(*ti));
                assert_eq!(n, m0 - model.len());
                n > 0
            }
            Op::DeleteGroupTopic(gi, ti) => {
                let n = rt
                    .block_on(store.delete_group_topic(&g(*gi), &t(*ti)))
                    .unwrap();
                let m0 = model.len();
                model.retain(|k, _| !(k.group == g(*gi) && k.topic == t(*ti)));
                assert_eq!(n, m0 - model.len());
                n > 0
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
            let seg_now = last_segment(d.path());
            last = (seg_now == seg).then(|| LastWrite {
                seg: seg.clone(),
                start,
                end: file_len(&seg),
                before,
            });
        }
        let got: Model = store.all().into_iter().collect();
        assert_eq!(got, model, "after {op:?}");
        assert_eq!(store.entry_count(), model.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
