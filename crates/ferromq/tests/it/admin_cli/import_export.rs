//! `offsets export` and `offsets import`: ferromq's JSON and CSV, and Apache RocketMQ's
//! `consumerOffset.json`.

use std::path::Path;

use crate::admin_cli::fixtures::{arg, cat, every, read_json, Cluster};
use crate::admin_cli::TOPIC;

/// Export g1 (at 8 everywhere) to a file, import it into g2 (a dry run first, then applied), and
/// export g1 as CSV.
pub fn export_then_import_into_another_group(c: &Cluster, dir: &Path) {
    let export = dir.join("g1.json");
    c.admin(&["offsets", "export", "--group", "g1", "--file", arg(&export)])
        .ok();
    let doc = read_json(&export);
    let recs = doc["records"].as_array().unwrap();
    assert_eq!(recs.len(), 4, "{doc}");
    assert!(
        recs.iter()
            .all(|r| r["storeTimeMs"].is_i64() && r["brokerName"].is_string()),
        "{doc}"
    );
    let g2_before = c.offsets("g2");
    let import = [
        "offsets",
        "import",
        "--file",
        arg(&export),
        "--to-group",
        "g2",
    ];
    c.admin(&import).ok();
    assert_eq!(
        c.offsets("g2"),
        g2_before,
        "import without --execute changed offsets"
    );
    c.admin(&cat(&import, &["--execute"])).ok();
    assert_eq!(c.offsets("g2"), every(8));
    let csv = c
        .admin(&["offsets", "export", "--group", "g1", "--format", "csv"])
        .ok();
    assert!(
        csv.stdout.starts_with("group,topic,queue,offset"),
        "{}",
        csv.stdout
    );
    assert_eq!(csv.stdout.lines().count(), 5);
}

/// Apache RocketMQ's consumerOffset.json (fastjson's unquoted keys), with the .bak fallback:
/// planned on both brokers, applied to its own group, and to another group on one broker.
pub fn rocketmq_offset_files(c: &Cluster, dir: &Path) {
    let rmq = dir.join("consumerOffset.json");
    std::fs::write(&rmq, "{\"offsetTable\":{\"trunc").unwrap();
    std::fs::write(
        dir.join("consumerOffset.json.bak"),
        format!("{{\"offsetTable\":{{\"{TOPIC}@grm\":{{0:7,1:6}}}}}}"),
    )
    .unwrap();
    let import = ["offsets", "import", "--rocketmq", arg(&rmq)];
    let o = c.admin(&cat(&["--output", "json"], &import)).ok();
    assert_eq!(
        o.json()["queues"].as_array().unwrap().len(),
        4,
        "{}",
        o.stdout
    );
    c.admin(&cat(&import, &["--execute"])).ok();
    assert_eq!(c.offsets("grm"), vec![Some(7), Some(6), Some(7), Some(6)]);
    let to_grm2 = ["--to-group", "grm2", "--broker", "broker-b", "--execute"];
    c.admin(&cat(&import, &to_grm2)).ok();
    assert_eq!(&c.offsets("grm2")[2..], &[Some(7), Some(6)]);
    let e = c
        .admin(&["offsets", "export", "--group", "grm2"])
        .ok()
        .json();
    assert!(
        e["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["brokerName"] == "broker-b"),
        "{e}"
    );
}
