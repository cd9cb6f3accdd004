//! `offsets reset`: dry runs, `--execute`, clamping, files, several groups (with `--yes` or on a
//! terminal), unknown topics, and a broker that stops answering in the middle.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::admin_cli::fixtures::{
    arg, cat, every, read_json, reset_args, wait_out, write, Cluster,
};
use crate::admin_cli::{COMMITTED, MESSAGES, QUEUES, TOPIC};

/// Dry runs (the default) plan every queue of both brokers and change nothing: as JSON, as a
/// table for one queue, and exported to a file. Expects g1 at `COMMITTED` everywhere.
pub fn dry_runs_change_nothing(c: &Cluster, dir: &Path) {
    let before = every(COMMITTED);
    assert_eq!(c.offsets("g1"), before);

    let plan = c.reset_json("g1", TOPIC, &["--to-earliest"]);
    assert_eq!(plan["dryRun"], true);
    let queues = plan["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 4, "{plan}");
    let brokers: BTreeSet<&str> = queues
        .iter()
        .map(|q| q["brokerName"].as_str().unwrap())
        .collect();
    assert_eq!(
        brokers.into_iter().collect::<Vec<_>>(),
        ["broker-a", "broker-b"]
    );
    for q in queues {
        assert_eq!(
            (q["current"].as_i64(), q["target"].as_i64()),
            (Some(COMMITTED), Some(0)),
            "{q}"
        );
        assert_eq!(q["replayed"], COMMITTED);
    }
    assert_eq!(c.offsets("g1"), before, "a dry run changed offsets");
    let o = c
        .reset("g1", &format!("{TOPIC}:1"), &["--shift-by", "-2"])
        .ok();
    assert!(
        o.stdout.contains("DRY RUN") && o.stdout.contains("REPLAYED"),
        "{}",
        o.stdout
    );
    assert_eq!(
        o.stdout.lines().filter(|l| l.starts_with("g1")).count(),
        2,
        "{}",
        o.stdout
    );
    let plan_file = dir.join("plan.json");
    c.reset(
        "g1",
        TOPIC,
        &["--by-duration", "PT1H", "--export", arg(&plan_file)],
    )
    .ok();
    let exported = read_json(&plan_file);
    assert_eq!(exported["queues"].as_array().unwrap().len(), 4);
    assert_eq!(c.offsets("g1"), before);
}

/// `--execute` applies on both brokers, with a change id each (g1 to 8); a target out of range
/// is clamped, and said so.
pub fn execute_applies_and_clamps(c: &Cluster) {
    let applied = c.reset_json("g1", TOPIC, &["--to-offset", "8", "--execute"]);
    assert_eq!(applied["dryRun"], false);
    assert_eq!(applied["brokers"].as_array().unwrap().len(), 2);
    assert!(applied["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["changeId"].is_u64()));
    assert_eq!(c.offsets("g1"), every(8));

    let plan = c.reset_json("g1", TOPIC, &["--to-offset", "1000"]);
    assert!(plan["queues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|q| q["clamped"] == true && q["target"] == MESSAGES));
}

/// `--from-file`: a file with a bad row names the row and applies nothing; a good CSV (per-broker
/// rows) applies. Expects g1 at 8 everywhere; leaves it at 3, 8, 8, 4.
pub fn from_files(c: &Cluster, dir: &Path) {
    let bad = write(
        dir,
        "bad.csv",
        &format!("g1,{TOPIC},0,1\ng1,{TOPIC},0,-4\n"),
    );
    let o = c
        .admin(&["offsets", "reset", "--from-file", arg(&bad), "--execute"])
        .code(2);
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);
    let good = write(
        dir,
        "good.csv",
        &format!(
            "group,topic,queue,offset,broker\ng1,{TOPIC},0,3,broker-a\ng1,{TOPIC},1,4,broker-b\n"
        ),
    );
    c.admin(&["offsets", "reset", "--from-file", arg(&good), "--execute"])
        .ok();
    assert_eq!(c.offsets("g1"), vec![Some(3), Some(8), Some(8), Some(4)]);
}

/// Two groups without `--yes` and no terminal: refused, nothing changed; with `--yes`: applied.
/// Then `--all-groups --all-topics` plans every group with offsets (g1, g2, g3).
pub fn several_groups_need_yes(c: &Cluster) {
    let two_groups = [
        "offsets",
        "reset",
        "--group",
        "g2",
        "--group",
        "g3",
        "--topic",
        TOPIC,
        "--to-earliest",
        "--execute",
    ];
    let o = c.admin(&two_groups).code(1);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(c.offsets("g2"), every(8));
    c.admin(&cat(&two_groups, &["--yes"])).ok();
    assert_eq!(c.offsets("g3"), every(0));

    let all = c.admin_json(&[
        "offsets",
        "reset",
        "--all-groups",
        "--all-topics",
        "--to-latest",
    ]);
    let groups: BTreeSet<&str> = all["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["group"].as_str().unwrap())
        .collect();
    assert!(
        ["g1", "g2", "g3"].iter().all(|g| groups.contains(g)),
        "{groups:?}"
    );
}

/// Unknown topic: refused unless intents are allowed.
pub fn unknown_topic_needs_intents(c: &Cluster) {
    let o = c.reset("g5", "NoSuchTopic", &["--to-earliest"]).code(1);
    assert!(o.stderr.contains("--allow-intents"), "{}", o.stderr);
    c.reset(
        "g5",
        "NoSuchTopic",
        &["--to-earliest", "--allow-intents", "--execute"],
    )
    .ok();
}

/// A broker that is stopped (SIGSTOP: still registered, connections accepted, no answers) while
/// the command runs: the plan covers the broker that answers, the dry run says the plan is
/// incomplete (exit 3), `--execute` applies on the other broker and reports the failure and the
/// undo command (exit 3); the stopped broker is left as it was.
#[test]
fn a_stopped_broker_is_reported_with_exit_3() {
    let c = Cluster::with_committed(&["gp"]);
    c.procs[2].signal("STOP");
    let reset = |extra: &[&str]| {
        let spec = cat(&["--to-earliest"], extra);
        c.admin(&cat(&["--timeout", "2s"], &reset_args("gp", TOPIC, &spec)))
    };
    let dry = reset(&[]).code(3);
    assert!(dry.stderr.contains("plan is incomplete"), "{}", dry.stderr);
    assert!(dry.stderr.contains("broker-b"), "{}", dry.stderr);
    let o = reset(&["--execute"]).code(3);
    assert!(o.stdout.contains("FAILED on broker-b"), "{}", o.stdout);
    assert!(o.stdout.contains("applied on broker-a"), "{}", o.stdout);
    assert!(o.stderr.contains("PARTIALLY APPLIED"), "{}", o.stderr);
    assert!(o.stderr.contains("offsets undo"), "{}", o.stderr);
    c.procs[2].signal("CONT");
    for (name, addr) in &c.brokers {
        for q in 0..QUEUES {
            let v =
                c.rt.block_on(c.client.query_offset(addr, "gp", TOPIC, q))
                    .unwrap();
            let want = if name == "broker-a" { 0 } else { COMMITTED };
            assert_eq!(v, Some(want), "{name} queue {q}");
        }
    }
}

/// The confirmation prompt on a real terminal (a pty from `script`): "n" changes nothing and
/// exits 1, "y" applies.
#[test]
fn changing_several_groups_asks_on_a_terminal() {
    let c = Cluster::with_committed(&["t1", "t2"]);
    let run = |answer: &str| -> (i32, String) {
        let cmd = format!(
            "{} admin -n {} offsets reset --group t1 --group t2 --topic {TOPIC} --to-earliest --execute",
            env!("CARGO_BIN_EXE_ferromq"),
            c.namesrv
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        let mut stdin = child.stdin.take().unwrap();
        thread::sleep(Duration::from_millis(1500));
        std::io::Write::write_all(&mut stdin, answer.as_bytes()).unwrap();
        let start = Instant::now();
        let mut out = wait_out(child, start);
        drop(stdin);
        out.stdout.push_str(&out.stderr);
        (out.code, out.stdout)
    };
    let (code, out) = run("n\n");
    assert!(out.contains("Apply this change to 2 group(s)?"), "{out}");
    assert!(out.contains("not confirmed"), "{out}");
    assert_eq!(code, 1, "{out}");
    assert_eq!(c.offsets("t1"), every(COMMITTED));
    let (code, out) = run("y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(c.offsets("t1"), every(0));
    assert_eq!(c.offsets("t2"), every(0));
}
