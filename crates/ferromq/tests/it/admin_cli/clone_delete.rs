//! `offsets clone` and `offsets delete`.

use crate::admin_cli::fixtures::{every, Cluster};

/// Clone g1 (at 8 everywhere) into g3.
pub fn clone_into_a_new_group(c: &Cluster) {
    c.admin(&[
        "offsets",
        "clone",
        "--from",
        "g1",
        "--to",
        "g3",
        "--execute",
    ])
    .ok();
    assert_eq!(c.offsets("g3"), every(8));
}

/// Delete g2 (at 0 everywhere): a dry run changes nothing, `--execute` removes every record.
pub fn delete_dry_run_then_applied(c: &Cluster) {
    c.admin(&["offsets", "delete", "--group", "g2"]).ok();
    assert_eq!(c.offsets("g2"), every(0));
    c.admin(&["offsets", "delete", "--group", "g2", "--execute"])
        .ok();
    let e = c.admin(&["offsets", "export", "--group", "g2"]).ok().json();
    assert_eq!(e["records"].as_array().unwrap().len(), 0, "{e}");
}
