//! mqadmin's command names (as in Apache RocketMQ's `mqadmin`), and `--no-extensions`: upstream
//! request codes only.

use std::time::Duration;

use crate::admin_cli::describe::MEMBER;
use crate::admin_cli::fixtures::{cat, every, mq_args, one_line_error, reset_args, Cluster};
use crate::admin_cli::{COMMITTED, MESSAGES, TOPIC};
use crate::common::poll_until;

/// resetOffsetByTime (`-s` a time or `now`, `-f` force or only backwards), skipAccumulatedMessage,
/// consumerProgress and cloneGroupOffset, applied at once. Leaves g1 and g4 at 0, gf at 0.
pub fn offset_aliases(c: &Cluster) {
    c.mqadmin("resetOffsetByTime", "g1", &["-s", "0"]).ok();
    assert_eq!(c.offsets("g1"), every(0));
    c.mqadmin("skipAccumulatedMessage", "g1", &[]).ok();
    assert_eq!(c.offsets("g1"), every(MESSAGES));
    c.mqadmin(
        "resetOffsetByTime",
        "g1",
        &["-s", "2000-01-01#00:00:00:000", "-f", "true"],
    )
    .ok();
    assert_eq!(c.offsets("g1"), every(0));
    // -f false (mqadmin): only queues whose committed offset is past the target move.
    c.commit_all("gf", 3);
    let o = c
        .mqadmin("resetOffsetByTime", "gf", &["-s", "now", "-f", "false"])
        .ok();
    assert!(o.stdout.contains("nothing to reset"), "{}", o.stdout);
    assert_eq!(c.offsets("gf"), every(3));
    c.mqadmin("resetOffsetByTime", "gf", &["-s", "now"]).ok();
    assert_eq!(c.offsets("gf"), every(MESSAGES));
    c.mqadmin("resetOffsetByTime", "gf", &["-s", "0", "-f", "false"])
        .ok();
    assert_eq!(c.offsets("gf"), every(0));
    let p = c.admin_json(&["consumerProgress", "-g", "g1"]);
    assert_eq!(p["totalLag"], 4 * MESSAGES);
    let p = c.admin(&["consumerProgress"]).ok();
    assert!(
        p.stdout.contains("g1") && p.stdout.contains("g3"),
        "{}",
        p.stdout
    );
    c.admin(&["cloneGroupOffset", "-s", "g1", "-d", "g4", "-t", TOPIC])
        .ok();
    assert_eq!(c.offsets("g4"), every(0));
}

/// Topics, brokers, subscription groups and connections: topicList, topicRoute, topicStatus,
/// brokerStatus, updateSubGroup/deleteSubGroup, consumerConnection (g1 online since
/// `describe`), clusterList, updateTopic/deleteTopic.
pub fn cluster_commands(c: &Cluster) {
    let l = c.admin_json(&["topicList"]);
    assert!(
        l["topics"].as_array().unwrap().iter().any(|t| t == TOPIC),
        "{l}"
    );
    let r = c.admin(&["topicRoute", "-t", TOPIC]).ok().json();
    assert_eq!(r["queueDatas"].as_array().unwrap().len(), 2, "{r}");
    let st = c.admin_json(&["topicStatus", "-t", TOPIC]);
    let sq = st["queues"].as_array().unwrap();
    assert_eq!(sq.len(), 4, "{st}");
    assert!(sq.iter().all(|q| q["maxOffset"] == MESSAGES), "{st}");
    let bs = c.admin_json(&["brokerStatus"]);
    assert_eq!(bs["brokers"].as_array().unwrap().len(), 2, "{bs}");
    c.admin(&["updateSubGroup", "-g", "gsub", "-c", "DefaultCluster"])
        .ok();
    c.admin(&[
        "deleteSubGroup",
        "-g",
        "gsub",
        "-c",
        "DefaultCluster",
        "-r",
        "true",
    ])
    .ok();
    let o = c.admin(&["consumerConnection", "-g", "g1"]).ok();
    assert!(o.stdout.contains(MEMBER), "{}", o.stdout);
    let o = c.admin(&["consumerConnection", "-g", "nobody"]).code(1);
    assert!(o.stderr.contains("not online"), "{}", o.stderr);
    let cl = c.admin_json(&["clusterList"]);
    assert_eq!(cl["brokers"].as_array().unwrap().len(), 2, "{cl}");
    c.admin(&[
        "updateTopic",
        "-t",
        "AdminNew",
        "-c",
        "DefaultCluster",
        "-r",
        "3",
        "-w",
        "3",
    ])
    .ok();
    assert!(poll_until(Duration::from_secs(10), || {
        c.routed_on_both("AdminNew")
    }));
    c.admin(&["deleteTopic", "-t", "AdminNew", "-c", "DefaultCluster"])
        .ok();
}

/// Upstream codes only (as against Apache RocketMQ): `offsets reset` plans with upstream codes
/// (a dry run changes nothing), `offsets clone` refuses with a clear message; the mqadmin names
/// use INVOKE_BROKER_TO_RESET_OFFSET, GET_CONSUME_STATS and CLONE_GROUP_OFFSET. Expects g1 at 0
/// everywhere.
pub fn upstream_codes_only(c: &Cluster) {
    let plain = |args: &[&str]| c.admin(&cat(&["--no-extensions"], args));
    let o = plain(&reset_args("gu", TOPIC, &["--to-latest"])).ok();
    assert!(o.stdout.contains("upstream codes"), "{}", o.stdout);
    assert_ne!(
        c.offsets("gu"),
        every(MESSAGES),
        "a dry run changes nothing"
    );
    let o = plain(&["offsets", "clone", "--from", "gu", "--to", "gx"]).code(1);
    one_line_error(&o);
    assert!(
        o.stderr.contains("extensions") && o.stderr.contains("resetOffsetByTime"),
        "{}",
        o.stderr
    );
    plain(&mq_args("resetOffsetByTime", "gu", &["-s", "0"])).ok();
    assert_eq!(c.offsets("gu"), every(0));
    plain(&mq_args("skipAccumulatedMessage", "gu", &[])).ok();
    assert_eq!(c.offsets("gu"), every(MESSAGES));
    let p = plain(&["--output", "json", "consumerProgress", "-g", "g1"])
        .ok()
        .json();
    assert_eq!(p["queues"].as_array().unwrap().len(), 4, "{p}");
    assert_eq!(p["totalLag"], 4 * MESSAGES, "{p}");
    plain(&["cloneGroupOffset", "-s", "gu", "-d", "gu2", "-t", TOPIC]).ok();
    assert_eq!(c.offsets("gu2"), every(MESSAGES));
}

/// mqadmin's flags beyond the basics: single-queue resetOffsetByTime (-b/-q/-o), -c cluster,
/// consumerProgress -s, updateTopic -a, deleteTopic without -c.
#[test]
fn mqadmin_flags_single_queue_cluster_attributes_and_delete() {
    let c = Cluster::with_committed(&["gm"]);
    let a = c.brokers[0].1.clone();
    c.mqadmin(
        "resetOffsetByTime",
        "gm",
        &["-s", "now", "-b", &a, "-q", "1", "-o", "2"],
    )
    .ok();
    let mut want = every(COMMITTED);
    want[1] = Some(2);
    assert_eq!(c.offsets("gm"), want);
    // -q without -b is bad usage; an unknown cluster is an error.
    c.mqadmin("resetOffsetByTime", "gm", &["-s", "now", "-q", "1"])
        .code(2);
    let o = c
        .mqadmin("skipAccumulatedMessage", "gm", &["-c", "NoSuchCluster"])
        .code(1);
    assert!(o.stderr.contains("NoSuchCluster"), "{}", o.stderr);
    c.mqadmin("skipAccumulatedMessage", "gm", &["-c", "DefaultCluster"])
        .ok();
    assert_eq!(c.offsets("gm"), every(MESSAGES));
    let o = c
        .admin(&["consumerProgress", "-g", "gm", "-s", "true"])
        .ok();
    assert!(o.stdout.contains(TOPIC), "{}", o.stdout);
    // updateTopic with attributes on every master, then deleteTopic without -c.
    let update = ["updateTopic", "-t", "Attr", "-c", "DefaultCluster"];
    c.admin(&cat(&update, &["-r", "2", "-w", "2", "-a", "+x=1"]))
        .ok();
    c.admin(&cat(&update, &["-a", "x=1"])).code(2);
    let listed = || {
        c.admin(&["topicList"])
            .stdout
            .lines()
            .any(|l| l.trim() == "Attr")
    };
    assert!(
        poll_until(Duration::from_secs(20), listed),
        "Attr not routed"
    );
    c.admin(&["deleteTopic", "-t", "Attr"]).ok();
    let gone = poll_until(Duration::from_secs(20), || !listed());
    assert!(gone, "Attr still routed after deleteTopic");
}
