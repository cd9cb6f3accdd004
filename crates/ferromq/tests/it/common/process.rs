//! Child processes: signals, bounded waits, line readers, a bounded output log, and
//! [`Captured`], a child whose output lines are collected as they come.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::poll_until;

/// Lines of output kept in memory by an [`OutputLog`] (older lines are dropped).
const MAX_LOG_LINES: usize = 20_000;

/// Sends SIGTERM through the `kill` command (no libc dependency).
pub(super) fn send_sigterm(pid: u32) -> bool {
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Waits up to `timeout` for `child` to exit.
pub(super) fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for child {}: {e}", child.id()),
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// Strips ANSI escape sequences (colored log output) from a line.
pub(super) fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c2 in chars.by_ref() {
                    if ('@'..='~').contains(&c2) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads `reader` line by line (lossy UTF-8, without the newline) until EOF.
pub(super) fn for_each_line(reader: impl Read, mut f: impl FnMut(String)) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                f(String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
}

/// A bounded, shared buffer of output lines.
#[derive(Clone, Default)]
pub struct OutputLog {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl OutputLog {
    pub(super) fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap();
        if lines.len() >= MAX_LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// Everything kept so far.
    pub fn text(&self) -> String {
        self.tail(usize::MAX)
    }

    /// The last `n` lines.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines.lock().unwrap();
        let skip = lines.len().saturating_sub(n);
        let mut out = String::new();
        for l in lines.iter().skip(skip) {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Whether a line starting with `prefix` contains `needle`.
    pub(super) fn contains_with_prefix(&self, prefix: &str, needle: &str) -> bool {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .any(|l| l.starts_with(prefix) && l.contains(needle))
    }
}

/// A child process whose stdout and stderr lines are collected as they come; SIGKILLed on drop
/// (its output is printed then if the test is failing).
pub struct Captured {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Captured {
    /// Spawns `cmd` with both output streams captured (stdin closed).
    pub fn spawn(mut cmd: Command) -> Captured {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn process");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ]
        .into_iter()
        .map(|r| {
            let lines = lines.clone();
            thread::spawn(move || {
                for l in BufReader::new(r).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(l);
                }
            })
        })
        .collect();
        Captured {
            child: Some(child),
            lines,
            readers,
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Whether any line printed so far contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Waits (≤ `timeout`) for a line starting with `prefix`.
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> bool {
        poll_until(timeout, || {
            self.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with(prefix))
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits (≤ `timeout`) for the process to exit by itself; its exit code. Its last lines are
    /// in [`Captured::output`] then: the readers are given (≤ 2 s, a child of the process may
    /// hold the pipes open) to reach the end of both streams.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.child = None;
                    poll_until(Duration::from_secs(2), || {
                        self.readers.iter().all(thread::JoinHandle::is_finished)
                    });
                    return st.code();
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        if self.child.is_some() && thread::panicking() {
            eprintln!("--- process output ---\n{}", self.output());
        }
        self.kill();
    }
}
