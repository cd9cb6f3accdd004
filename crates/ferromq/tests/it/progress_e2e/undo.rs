//! 4. Undo restores the before-values and is recorded.

use std::collections::BTreeMap;

use ferromq_protocol::codes::request as rq;
use ferromq_protocol::codes::response as rs;
use serde_json::{json, Value};

use crate::common::scenarios::Budget;
use crate::common::Server;
use crate::progress_e2e::fixtures::{opt_i64, plan_by_queue, Admin, QUEUES};

#[test]
fn undo_restores_previous_offsets_and_is_recorded() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "UndoTopic";
    let group = "undo_group";
    let other = "undo_bystander";
    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "u-", 0, 10);

    // Before: q0=4, q1=6, q2 none, q3=8; another group that the reset does not touch.
    let before: [Option<i64>; 4] = [Some(4), Some(6), None, Some(8)];
    for (q, b) in before.iter().enumerate() {
        if let Some(v) = b {
            admin.commit(group, topic, q as i32, *v);
        }
    }
    admin.commit(other, topic, 0, 7);

    let plan = admin.reset(group, topic, json!({"kind": "offset", "value": 1}));
    let reset_id = plan["changeId"]
        .as_u64()
        .unwrap_or_else(|| panic!("reset without change id: {plan}"));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        assert_eq!(opt_i64(&by_q[&q]["current"]), before[q as usize], "{plan}");
        assert_eq!(opt_i64(&by_q[&q]["target"]), Some(1), "{plan}");
    }
    assert_eq!(
        admin.query_all(group, topic),
        vec![Some(1); 4],
        "after the reset"
    );

    // A dry-run undo changes nothing.
    let dry = admin.ferro_ok(
        rq::FERRO_UNDO,
        &json!({"changeId": reset_id, "dryRun": true}),
    );
    assert_eq!(dry["dryRun"], json!(true), "{dry}");
    assert!(dry["changeId"].is_null(), "dry run has no change id: {dry}");
    assert_eq!(
        admin.query_all(group, topic),
        vec![Some(1); 4],
        "after the dry-run undo"
    );

    let undo = admin.ferro_ok(
        rq::FERRO_UNDO,
        &json!({"changeId": reset_id, "dryRun": false}),
    );
    let undo_id = undo["changeId"]
        .as_u64()
        .unwrap_or_else(|| panic!("undo without change id: {undo}"));
    assert!(
        undo_id > reset_id,
        "undo {undo_id} is a later change than {reset_id}"
    );
    let by_q = plan_by_queue(&undo);
    for q in 0..QUEUES {
        assert_eq!(opt_i64(&by_q[&q]["current"]), Some(1), "{undo}");
        assert_eq!(opt_i64(&by_q[&q]["target"]), before[q as usize], "{undo}");
    }

    // The table holds exactly the before-values again (q2 has no offset at all).
    let table = admin.export(group);
    let want: BTreeMap<(String, i32), i64> = before
        .iter()
        .enumerate()
        .filter_map(|(q, b)| b.map(|v| ((topic.to_string(), q as i32), v)))
        .collect();
    assert_eq!(table, want, "stored offsets after the undo");
    for q in [0, 1, 3] {
        assert_eq!(
            admin.query(group, topic, q),
            before[q as usize],
            "QUERY_CONSUMER_OFFSET q{q}"
        );
    }
    assert_eq!(
        admin.query(other, topic, 0),
        Some(7),
        "the other group is untouched"
    );
    let described = admin.ferro_ok(rq::FERRO_DESCRIBE_GROUP, &json!({"group": group}));
    let q2 = described["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["queueId"] == json!(2)))
        .unwrap_or_else(|| panic!("describe lists queue 2: {described}"));
    assert!(
        q2["committed"].is_null(),
        "queue 2 has no offset again: {described}"
    );

    // History, newest first: the undo (undoOf = the reset), then the reset.
    let hist = admin.ferro_ok(rq::FERRO_HISTORY, &json!({"group": group, "limit": 10}));
    let changes = hist["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("history without changes: {hist}"));
    assert_eq!(changes.len(), 2, "two changes for {group}: {hist}");
    let (newest, oldest) = (&changes[0], &changes[1]);
    assert_eq!(newest["id"].as_u64(), Some(undo_id), "{hist}");
    assert_eq!(newest["operation"], json!("undo"), "{hist}");
    assert_eq!(oldest["id"].as_u64(), Some(reset_id), "{hist}");
    assert_eq!(oldest["operation"], json!("reset"), "{hist}");
    // docs/protocol.md documents the Change JSON in camelCase (`undoOf`, `timeMs`, `queueId`),
    // but the broker serialises ferromq_offsets::Change with its Rust field names (`undo_of`,
    // `time_ms`, `queue_id`): accept either spelling here; the mismatch is reported separately.
    let undo_of = |c: &Value| {
        c.get("undoOf")
            .or_else(|| c.get("undo_of"))
            .and_then(Value::as_u64)
    };
    assert_eq!(undo_of(oldest), None, "the reset undoes nothing: {hist}");
    assert_eq!(
        undo_of(newest),
        Some(reset_id),
        "the undo names the reset it undoes: {newest}"
    );
    // Its entries move every queue of the reset back: before = 1, after = the old value.
    let entries = newest["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("undo without entries: {newest}"));
    let mut restored = BTreeMap::new();
    for e in entries {
        let key = &e["key"];
        let q = key
            .get("queueId")
            .or_else(|| key.get("queue_id"))
            .and_then(Value::as_i64);
        assert_eq!(key["group"], json!(group), "{newest}");
        assert_eq!(opt_i64(&e["before"]), Some(1), "{newest}");
        restored.insert(q.expect("entry queue id") as i32, opt_i64(&e["after"]));
    }
    let want_restored: BTreeMap<i32, Option<i64>> = before
        .iter()
        .enumerate()
        .map(|(q, b)| (q as i32, *b))
        .collect();
    assert_eq!(restored, want_restored, "undo entries: {newest}");

    // Undoing an unknown change is refused and changes nothing.
    let err = admin
        .ferro(rq::FERRO_UNDO, &json!({"changeId": undo_id + 100}))
        .expect_err("undo of an unknown change id");
    assert_eq!(err.0, Some(rs::QUERY_NOT_FOUND), "{err:?}");
    assert_eq!(
        admin.export(group),
        want,
        "unchanged after the refused undo"
    );
    eprintln!(
        "[progress_e2e] undo: reset {reset_id} undone by {undo_id} in {:?}",
        budget.elapsed()
    );
}
