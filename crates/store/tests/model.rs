//! Random operation sequences checked against an in-memory model, with clean and unclean
//! reopens in between.

mod common;

use std::collections::BTreeMap;

use common::*;
use ferromq_store::GetStatus;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// (queue, body length) records in one batch.
    Put(Vec<(u8, u16)>),
    Get {
        queue: u8,
        offset: u8,
        max: u8,
    },
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0u8..4, 0u16..3000), 1..5).prop_map(Op::Put),
        3 => (0u8..4, 0u8..40, 1u8..10).prop_map(|(queue, offset, max)| Op::Get { queue, offset, max }),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

fn run(ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(open(dir.path()));
    let mut model: BTreeMap<u8, Vec<Vec<u8>>> = BTreeMap::new();
    let mut seq = 0u32;
    for op in ops {
        let s = store.as_ref().unwrap();
        match op {
            Op::Put(items) => {
                let mut recs = Vec::new();
                let mut bodies = Vec::new();
                for (q, len) in items {
                    seq += 1;
                    let mut body = seq.to_be_bytes().to_vec();
                    body.resize(len as usize + 4, (seq % 251) as u8);
                    recs.push(record("M", q as i32, &body, None));
                    bodies.push((q, body));
                }
                let res = rt.block_on(s.put(recs)).unwrap();
                for ((q, body), r) in bodies.into_iter().zip(res) {
                    let v = model.entry(q).or_default();
                    assert_eq!(r.queue_offset, v.len() as i64);
                    v.push(body);
                }
            }
            Op::Get { queue, offset, max } => {
                let v = model.get(&queue).cloned().unwrap_or_default();
                let g = s.get(
                    "M",
                    queue as i32,
                    offset as i64,
                    max as usize,
                    1 << 20,
                    &all,
                );
                let off = offset as usize;
                if v.is_empty() {
                    assert_eq!(g.status, GetStatus::NoMatchedLogicQueue);
                } else if off < v.len() {
                    let want: Vec<(i64, Vec<u8>)> = v[off..]
                        .iter()
                        .take(max as usize)
                        .enumerate()
                        .map(|(i, b)| ((off + i) as i64, b.clone()))
                        .collect();
                    assert_eq!(g.status, GetStatus::Found);
                    assert_eq!(decode(&g.body), want);
                    assert_eq!(g.next_begin_offset, (off + want.len()) as i64);
                } else if off == v.len() {
                    assert_eq!(g.status, GetStatus::OffsetOverflowOne);
                } else {
                    assert_eq!(
                        (g.status, g.next_begin_offset),
                        (GetStatus::OffsetOverflowBadly, v.len() as i64)
                    );
                }
            }
            Op::Reopen { clean } => {
                let s = store.take().unwrap();
                if clean {
                    s.shutdown().unwrap();
                }
                drop(s);
                store = Some(open(dir.path()));
            }
        }
        let s = store.as_ref().unwrap();
        for q in 0..4u8 {
            let n = model.get(&q).map_or(0, Vec::len) as i64;
            assert_eq!(s.max_offset("M", q as i32), n);
        }
    }
    let s = store.take().unwrap();
    for (q, v) in &model {
        let got: Vec<Vec<u8>> = read_all(&s, "M", *q as i32)
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(&got, v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]
    #[test]
    fn store_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
