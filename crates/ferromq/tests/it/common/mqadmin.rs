//! Apache RocketMQ's own `mqadmin` (`rocketmq-tools`, the same version as the Java client line,
//! from `compat/java`), run through its main class against a [`Server`]. `ferromq.compat.Mqadmin`
//! calls that main class and leaves once the command has returned, instead of waiting ~2 s more
//! for the Netty threads' quiet period as the plain tool does (half of each command's time).

use std::process::Command;
use std::time::Duration;

use super::client::Client;
use super::process::Captured;
use super::server::Endpoint;
use super::util::workspace_root;

/// One mqadmin command starts a JVM and a client instance: seconds, not milliseconds.
pub const MQADMIN_TIMEOUT: Duration = Duration::from_secs(90);

/// What upstream's tools print when a broker answer broke them: none may appear in the output
/// of a command that worked.
pub const MQADMIN_FAILURE_MARKS: [&str; 5] = [
    "Exception",
    "\tat org.",
    "not supported",
    "CODE: 3 ",
    "command failed",
];

/// Runs `mqadmin <args> -n <namesrv>`; its exit code and whole output (stdout then stderr).
pub fn run_mqadmin(
    kind: Client,
    server: &(impl Endpoint + ?Sized),
    args: &[&str],
) -> (Option<i32>, String) {
    run_mqadmin_in(
        kind,
        server,
        &workspace_root().join("compat/java/home"),
        args,
    )
}

/// [`run_mqadmin`] with `home` as ROCKETMQ_HOME (its `conf/tools.yml` holds the credentials
/// mqadmin signs with).
pub fn run_mqadmin_in(
    kind: Client,
    server: &(impl Endpoint + ?Sized),
    home: &std::path::Path,
    args: &[&str],
) -> (Option<i32>, String) {
    let cp = kind
        .java_classpath()
        .unwrap_or_else(|| panic!("{}: run compat/setup.sh first", kind.name()));
    let mut cmd = Command::new("java");
    cmd.args([
        "-Xss512k",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        &cp,
    ])
    .arg(format!("-Drocketmq.home.dir={}", home.display()))
    .arg("ferromq.compat.Mqadmin")
    .args(args)
    .args(["-n", &server.namesrv()])
    // `consumerStatus` writes each client's running info under `./<timestamp>/`: keep that out
    // of the checkout.
    .current_dir(std::env::temp_dir());
    let mut p = Captured::spawn(cmd);
    let code = p.wait_exit(MQADMIN_TIMEOUT);
    (code, p.output())
}

/// Runs an mqadmin command that must work: exit 0 and none of [`MQADMIN_FAILURE_MARKS`].
pub fn mqadmin_ok(kind: Client, server: &(impl Endpoint + ?Sized), args: &[&str]) -> String {
    let (code, out) = run_mqadmin(kind, server, args);
    assert_eq!(
        code,
        Some(0),
        "{}: mqadmin {args:?} did not exit 0:\n{out}",
        kind.name()
    );
    for bad in MQADMIN_FAILURE_MARKS {
        assert!(
            !out.contains(bad),
            "{}: mqadmin {args:?} printed {bad:?}:\n{out}",
            kind.name()
        );
    }
    out
}
