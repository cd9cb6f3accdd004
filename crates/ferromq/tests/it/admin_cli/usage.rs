//! Usage errors, an unreachable name server, help and completions: no cluster needed.

use std::time::Duration;

use crate::admin_cli::fixtures::{admin, arg, cat, one_line_error, write};
use crate::common::free_port;

#[test]
fn usage_errors_exit_2_and_an_unreachable_namesrv_exits_1_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    let base = [
        "-n",
        dead.as_str(),
        "offsets",
        "reset",
        "--group",
        "g",
        "--topic",
        "T",
    ];
    let with = |extra: &[&str]| admin(&cat(&base, extra), &[]);
    // Two specs, an unknown flag, a datetime that does not parse, no spec at all.
    for extra in [
        &["--to-earliest", "--to-latest"][..],
        &["--to-earliest", "--frobnicate"],
        &["--to-datetime", "yesterday at noon"],
        &["--by-duration", "1 hour"],
        &[],
    ] {
        let o = with(extra).code(2);
        one_line_error(&o);
    }
    let o = with(&["--to-datetime", "2025-13-45T00:00:00Z"]).code(2);
    assert!(o.stderr.contains("cannot parse time"), "{}", o.stderr);
    // A CSV with a bad row: the message names the line; nothing is sent (the name server is dead).
    let csv = write(
        dir.path(),
        "bad.csv",
        "group,topic,queue,offset\ng,T,0,1\ng,T,one,2\n",
    );
    let o = admin(
        &["-n", &dead, "offsets", "reset", "--from-file", arg(&csv)],
        &[],
    )
    .code(2);
    one_line_error(&o);
    assert!(o.stderr.contains("line 3"), "{}", o.stderr);
    // A name server nobody listens on: exit 1, one line, quickly.
    let o = with(&["--to-earliest"]).code(1);
    one_line_error(&o);
    assert!(o.stderr.contains("name server"), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(10), "took {:?}", o.elapsed);
    // Help with an example on every command, and completions.
    for cmd in [
        &["offsets", "reset", "--help"][..],
        &["offsets", "describe", "--help"],
        &["offsets", "undo", "--help"],
        &["resetOffsetByTime", "--help"],
        &["topicList", "--help"],
    ] {
        let o = admin(cmd, &[]).ok();
        assert!(o.stdout.contains("Examples:"), "{cmd:?}: {}", o.stdout);
    }
    let o = admin(&["completions", "bash"], &[]).ok();
    assert!(
        o.stdout.contains("resetOffsetByTime"),
        "{}",
        &o.stdout[..200.min(o.stdout.len())]
    );
}
