//! `ferromq mirror` as a child process for the tests that copy one cluster into another.

use std::path::Path;
use std::process::Command;

use super::process::Captured;
use super::util::free_port;

/// Starts a `ferromq mirror` process (SIGKILLed on drop) from `source` to `target` name
/// servers, with fast offset and discovery intervals.
pub fn start_mirror(source: &str, target: &str, state: &Path, extra: &[&str]) -> Captured {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
    cmd.args([
        "mirror",
        "--source-namesrv",
        source,
        "--target-namesrv",
        target,
        "--state-dir",
        &state.display().to_string(),
        "--metrics-addr",
        &format!("127.0.0.1:{}", free_port()),
        "--offset-interval-ms",
        "100",
        "--discovery-interval-ms",
        "500",
    ])
    .args(extra)
    .env("RUST_LOG", "info");
    Captured::spawn(cmd)
}
