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

/// `ferromq mirror status --output json` of a state dir, if it answers with JSON.
pub fn try_mirror_status(state: &Path) -> Option<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args([
            "mirror",
            "status",
            "--state-dir",
            &state.display().to_string(),
            "--output",
            "json",
        ])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// [`try_mirror_status`], `Null` when there is none yet.
pub fn mirror_status(state: &Path) -> serde_json::Value {
    try_mirror_status(state).unwrap_or(serde_json::Value::Null)
}

/// The last error the status reports for `topic` ("" when none).
pub fn topic_error(status: &serde_json::Value, topic: &str) -> String {
    status["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["topic"] == topic)
        .and_then(|t| t["error"].as_str())
        .unwrap_or("")
        .to_string()
}
