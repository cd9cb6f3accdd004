//! `offsets history` and `offsets undo` (change ids are per broker).

use crate::admin_cli::fixtures::Cluster;

/// The last change of g1 on broker-b is the import of the good CSV row (queue 1 to 4): undoing
/// it needs `--broker`, is a dry run without `--execute`, and restores 8; the history then
/// shows the undo. Expects g1 at 3, 8, 8, 4; leaves it at 3, 8, 8, 8.
pub fn undo_the_last_change_on_one_broker(c: &Cluster) {
    let h = c.admin_json(&[
        "offsets", "history", "--group", "g1", "--broker", "broker-b",
    ]);
    let last = &h["changes"][0];
    assert_eq!(last["operation"], "import", "{h}");
    let id = last["id"].as_u64().unwrap().to_string();
    let o = c.admin(&["offsets", "undo", &id]).code(2);
    assert!(o.stderr.contains("--broker"), "{}", o.stderr);
    c.admin(&["offsets", "undo", &id, "--broker", "broker-b"])
        .ok();
    assert_eq!(
        c.offsets("g1")[3],
        Some(4),
        "undo without --execute changed offsets"
    );
    c.admin(&["offsets", "undo", &id, "--broker", "broker-b", "--execute"])
        .ok();
    assert_eq!(c.offsets("g1"), vec![Some(3), Some(8), Some(8), Some(8)]);
    let t = c.admin(&["offsets", "history", "--group", "g1"]).ok();
    assert!(t.stdout.contains("undo"), "{}", t.stdout);
}
