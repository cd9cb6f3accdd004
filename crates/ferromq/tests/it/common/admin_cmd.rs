//! `ferromq admin` as a child process, against any cluster (ferromq, Apache RocketMQ, mixed).

use std::process::Command;

/// Runs `ferromq admin -n <namesrv> <args>`: its exit code, stdout and stderr.
pub fn run_admin(namesrv: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args(["admin", "-n", namesrv])
        .args(args)
        .output()
        .expect("ferromq admin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`run_admin`] that must succeed; its stdout.
pub fn admin_ok(namesrv: &str, args: &[&str]) -> String {
    let (code, out, err) = run_admin(namesrv, args);
    assert_eq!(code, 0, "ferromq admin {args:?}: {out}{err}");
    out
}
