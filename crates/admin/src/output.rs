//! Tables for people, JSON for scripts.

use serde::Serialize;

pub use ferromq_client::table::table;

/// Sorts per-queue JSON rows by topic, broker and queue id (what every per-queue table shows).
pub fn sort_queues(queues: &mut [serde_json::Value]) {
    fn key(v: &serde_json::Value) -> (Option<&str>, Option<&str>, Option<i64>) {
        (
            v["topic"].as_str(),
            v["brokerName"].as_str(),
            v["queueId"].as_i64(),
        )
    }
    queues.sort_by(|a, b| key(a).cmp(&key(b)));
}

pub fn print_json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
    );
}

pub fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// A one-line progress bar on standard error, shown only on a terminal and for more than one step.
pub struct Progress {
    total: usize,
    done: usize,
    label: String,
    on: bool,
}

impl Progress {
    pub fn new(total: usize, label: &str) -> Self {
        use std::io::IsTerminal;
        Self {
            total,
            done: 0,
            label: label.to_string(),
            on: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    /// Marks one step done (`what` names it) and redraws the bar.
    pub fn step(&mut self, what: &str) {
        self.done += 1;
        if !self.on {
            return;
        }
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total.max(1);
        eprint!(
            "\r{} [{}{}] {}/{} {what:<30}",
            self.label,
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.done,
            self.total
        );
        if self.done == self.total {
            eprintln!();
        }
    }
}
