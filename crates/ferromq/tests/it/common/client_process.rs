//! [`ClientProcess`]: a running client script whose stdout JSON lines are collected as they
//! arrive.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::Client;
use super::json::events;
use super::process::{for_each_line, send_sigterm, wait_timeout, OutputLog};

/// How long [`ClientProcess::stop`] waits after SIGTERM (the scripts allow 10 s for unregistering).
pub const CLIENT_STOP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Default)]
struct LineState {
    lines: Vec<Value>,
    noise: Vec<String>,
    eof: bool,
}

/// A running client script. Its stdout JSON lines are collected as they arrive; dropping the
/// handle kills the process.
pub struct ClientProcess {
    kind: Client,
    label: String,
    command_line: String,
    child: Child,
    state: Arc<(Mutex<LineState>, Condvar)>,
    stderr: OutputLog,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    log_home: Option<tempfile::TempDir>,
    /// Set once a panic message carried this process's diagnostics (Drop then stays quiet).
    reported: AtomicBool,
}

/// Starts `script` (`producer` or `consumer`) of the given client with `args`. For the C++ client
/// a private `--log-home` directory is added, whose rocketmq-cpp logs appear in failure reports.
pub fn spawn_client(kind: Client, script: &str, args: &[String]) -> ClientProcess {
    let mut cmd = kind.command(script);
    let mut all_args: Vec<String> = args.to_vec();
    let mut log_home = None;
    if matches!(
        kind,
        Client::Cpp | Client::GrpcPy | Client::GrpcNode | Client::GrpcJava | Client::GrpcGo
    ) && !args.iter().any(|a| a == "--log-home")
    {
        let dir = tempfile::Builder::new()
            .prefix("ferromq-cpp-client-")
            .tempdir()
            .expect("create C++ client log dir");
        all_args.push("--log-home".into());
        all_args.push(dir.path().display().to_string());
        log_home = Some(dir);
    }
    cmd.args(&all_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let instance = arg_value(args, "--instance").unwrap_or_default();
    let label = if instance.is_empty() {
        format!("{}-{}", kind.name(), script)
    } else {
        format!("{}-{}:{}", kind.name(), script, instance)
    };
    let command_line = format!("{:?} {}", cmd.get_program(), {
        let v: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        v.join(" ")
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {label} ({command_line}): {e}"));
    let state = Arc::new((Mutex::new(LineState::default()), Condvar::new()));
    let stderr_log = OutputLog::default();
    let echo_stdout = std::env::var_os("FERROMQ_COMPAT_ECHO").is_some();

    let mut readers = Vec::new();
    {
        let stdout = child.stdout.take().expect("piped stdout");
        let state = state.clone();
        let label = label.clone();
        readers.push(
            thread::Builder::new()
                .name(format!("{label}-out"))
                .spawn(move || {
                    for_each_line(stdout, |line| {
                        if echo_stdout {
                            eprintln!("[{label} out] {line}");
                        }
                        let (lock, cv) = &*state;
                        let mut st = lock.lock().unwrap();
                        match serde_json::from_str::<Value>(&line) {
                            Ok(v) if v.is_object() => st.lines.push(v),
                            _ => st.noise.push(line),
                        }
                        cv.notify_all();
                    });
                    let (lock, cv) = &*state;
                    lock.lock().unwrap().eof = true;
                    cv.notify_all();
                })
                .expect("spawn reader thread"),
        );
    }
    {
        let stderr = child.stderr.take().expect("piped stderr");
        let log = stderr_log.clone();
        let label = label.clone();
        readers.push(
            thread::Builder::new()
                .name(format!("{label}-err"))
                .spawn(move || {
                    for_each_line(stderr, |line| {
                        eprintln!("[{label}] {line}");
                        log.push(line);
                    });
                })
                .expect("spawn reader thread"),
        );
    }
    ClientProcess {
        kind,
        label,
        command_line,
        child,
        state,
        stderr: stderr_log,
        readers,
        status: None,
        log_home,
        reported: AtomicBool::new(false),
    }
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

impl ClientProcess {
    pub fn kind(&self) -> Client {
        self.kind
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Snapshot of the JSON lines printed so far.
    pub fn lines(&self) -> Vec<Value> {
        self.state.0.lock().unwrap().lines.clone()
    }

    /// The lines with `"event": event` (`"message"`, `"sent"`, `"done"`, ...).
    pub fn events(&self, event: &str) -> Vec<Value> {
        events(&self.lines(), event)
    }

    /// Deliveries printed so far (`"event":"message"` lines).
    pub fn messages(&self) -> Vec<Value> {
        self.events("message")
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    pub fn is_running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(st)) => {
                self.status = Some(st);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Waits until `pred(lines)` holds and returns the lines; None when `timeout` passes or the
    /// process's stdout closed first.
    pub fn try_wait_lines(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Option<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.state;
        let mut st = lock.lock().unwrap();
        loop {
            if pred(&st.lines) {
                return Some(st.lines.clone());
            }
            if st.eof {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            st = cv
                .wait_timeout(st, left.min(Duration::from_millis(200)))
                .unwrap()
                .0;
        }
    }

    /// Like [`ClientProcess::try_wait_lines`], but panics with diagnostics (naming `what`) on
    /// timeout or when the process exits first.
    pub fn wait_lines(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        match self.try_wait_lines(timeout, &pred) {
            Some(lines) => lines,
            None => {
                let exited = self.state.0.lock().unwrap().eof;
                self.reported.store(true, Ordering::Relaxed);
                panic!(
                    "{}: {} waiting for {what}\n{}",
                    self.label,
                    if exited {
                        "process exited"
                    } else {
                        "timed out"
                    },
                    self.diagnostics()
                );
            }
        }
    }

    /// Waits ≤ `timeout` for the process to exit (kills it and panics otherwise); all output has
    /// been collected when this returns.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        if self.status.is_none() {
            match wait_timeout(&mut self.child, timeout) {
                Some(st) => self.status = Some(st),
                None => {
                    let _ = self.child.kill();
                    let st = self.child.wait().ok();
                    self.status = st;
                    self.join_readers();
                    self.reported.store(true, Ordering::Relaxed);
                    panic!(
                        "{}: still running after {timeout:?}; killed\n{}",
                        self.label,
                        self.diagnostics()
                    );
                }
            }
        }
        self.join_readers();
        self.status.unwrap()
    }

    /// [`ClientProcess::wait`] and assert a zero exit status; returns the JSON lines.
    pub fn wait_success(&mut self, timeout: Duration) -> Vec<Value> {
        self.wait_success_or(timeout, "")
    }

    /// [`ClientProcess::wait_success`] whose failure message starts with `hint` (what the broker
    /// probably got wrong when this step fails).
    pub fn wait_success_or(&mut self, timeout: Duration, hint: &str) -> Vec<Value> {
        let status = self.wait(timeout);
        if !status.success() {
            self.reported.store(true, Ordering::Relaxed);
            panic!(
                "{}: exited with {status}\n{hint}\n{}",
                self.label,
                self.diagnostics()
            );
        }
        self.lines()
    }

    /// SIGTERM (the scripts then shut the client down cleanly, unregistering from the broker) and
    /// wait ≤ 15 s; SIGKILL after that. Returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        if self.is_running() {
            send_sigterm(self.child.id());
            match wait_timeout(&mut self.child, CLIENT_STOP_TIMEOUT) {
                Some(st) => self.status = Some(st),
                None => {
                    eprintln!(
                        "[harness] {} ignored SIGTERM for {CLIENT_STOP_TIMEOUT:?}; killing",
                        self.label
                    );
                    let _ = self.child.kill();
                    self.status = self.child.wait().ok();
                }
            }
        }
        self.join_readers();
        self.status.expect("exit status")
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.join_readers();
    }

    fn join_readers(&mut self) {
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
    }

    /// rocketmq-cpp log lines (C++ client only), last `n` lines of each file.
    pub fn cpp_log_tail(&self, n: usize) -> String {
        let Some(home) = &self.log_home else {
            return String::new();
        };
        let dir = home.path().join("logs/rocketmq-cpp");
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return out;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let skip = lines.len().saturating_sub(n);
                let _ = writeln!(
                    out,
                    "--- {} (last {} lines) ---",
                    f.display(),
                    lines.len() - skip
                );
                for l in &lines[skip..] {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// A report for assertion messages: command, status, stderr tail, stray stdout, last JSON
    /// lines and (C++) the client library's log tail.
    pub fn diagnostics(&self) -> String {
        let st = self.state.0.lock().unwrap();
        let mut out = String::new();
        let _ = writeln!(out, "--- {} ---", self.label);
        let _ = writeln!(out, "command: {}", self.command_line);
        let _ = writeln!(out, "exit status: {:?}", self.status);
        let _ = writeln!(out, "json lines: {}", st.lines.len());
        let skip = st.lines.len().saturating_sub(15);
        for l in &st.lines[skip..] {
            let _ = writeln!(out, "  {l}");
        }
        if !st.noise.is_empty() {
            let _ = writeln!(out, "non-JSON stdout:");
            for l in st.noise.iter().rev().take(20).rev() {
                let _ = writeln!(out, "  {l}");
            }
        }
        let _ = writeln!(out, "stderr (last 60 lines):\n{}", self.stderr.tail(60));
        let cpp = self.cpp_log_tail(40);
        if !cpp.is_empty() {
            out.push_str(&cpp);
        }
        out.push_str(
            "(hint: run compat/setup.sh first if a client is missing; \
             FERROMQ_COMPAT_ECHO=1 echoes client stdout live)\n",
        );
        out
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() && !self.reported.load(Ordering::Relaxed) {
            eprintln!("{}", self.diagnostics());
        }
    }
}
