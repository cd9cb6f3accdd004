//! Shared harness for ferromq's integration tests (`mod common;` in each test file).
//!
//! * [`Server`] runs the real `ferromq standalone` binary on free loopback ports and a temporary data
//!   directory, waits for its `ferromq ready` line and keeps its output for failure reports.
//! * [`run_client`] / [`spawn_client`] run the third-party RocketMQ client scripts under `compat/`
//!   (the Apache C++ client through PyPI `rocketmq==0.4.4`, and npm `ali-ons@3.12.0`) and collect
//!   the JSON lines they print. `compat/setup.sh` must have been run once.
//! * [`scenarios`] holds the client compatibility scenarios shared by `compat_cpp.rs` and
//!   `compat_ali_ons.rs`.
//!
//! Only std, `serde_json` and `tempfile` are used, so any test file can include this module.
#![allow(dead_code)]

pub mod scenarios;

use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long [`Server::standalone`] waits for the `ferromq ready` line.
pub const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Server::stop`] waits after SIGTERM before it kills the server and fails.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`ClientProcess::stop`] waits after SIGTERM (the scripts allow 10 s for unregistering).
pub const CLIENT_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Lines of server output kept in memory (older lines are dropped).
const MAX_LOG_LINES: usize = 20_000;

// ---------------------------------------------------------------------------------------------
// Paths and ports
// ---------------------------------------------------------------------------------------------

/// The workspace root (`crates/ferromq/../..`).
pub fn workspace_root() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    p.canonicalize().unwrap_or(p)
}

/// A TCP port on 127.0.0.1 that was free a moment ago. Ports handed out by this process are never
/// handed out twice, so parallel tests in one test binary cannot collide through this function.
pub fn free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        drop(listener);
        if handed.lock().unwrap().insert(port) {
            return port;
        }
    }
    panic!("free_port: no fresh port after 100 attempts");
}

/// `["a", "b"]` → `vec!["a".to_string(), "b".to_string()]`.
pub fn strings<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

/// Polls `cond` every 50 ms until it holds (true) or `timeout` passes (false).
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM through the `kill` command (no libc dependency).
fn send_sigterm(pid: u32) -> bool {
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
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
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
fn strip_ansi(s: &str) -> String {
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
fn for_each_line(reader: impl Read, mut f: impl FnMut(String)) {
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
    fn push(&self, line: String) {
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
    fn contains_with_prefix(&self, prefix: &str, needle: &str) -> bool {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .any(|l| l.starts_with(prefix) && l.contains(needle))
    }
}

// ---------------------------------------------------------------------------------------------
// The ferromq server
// ---------------------------------------------------------------------------------------------

enum StartEvent {
    Ready(String),
    Eof,
}

/// A `ferromq standalone` process. Dropping it kills the process (and, for
/// [`Server::standalone`], deletes the data directory).
pub struct Server {
    child: Option<Child>,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    namesrv_port: u16,
    broker_port: u16,
    extra_args: Vec<String>,
    log: OutputLog,
    ready_line: String,
    generation: u32,
    /// Set once a panic message carried the server output (Drop then stays quiet).
    reported: bool,
}

impl Server {
    /// Starts `ferromq standalone` on a new temporary data directory and free ports:
    /// `standalone --data-dir <tmp> --host 127.0.0.1 --namesrv-port <p> --broker-port <p>
    /// --fast-port 0 <extra_args>`. Waits (≤ 20 s) for a stdout line starting with
    /// `ferromq ready`; panics with the captured output otherwise.
    pub fn standalone(extra_args: &[&str]) -> Server {
        let temp = tempfile::Builder::new()
            .prefix("ferromq-test-")
            .tempdir()
            .expect("create temporary data dir");
        let dir = temp.path().to_path_buf();
        Self::launch(dir, Some(temp), None, extra_args)
    }

    /// Like [`Server::standalone`] on an existing data directory (which is not deleted on drop),
    /// with fresh ports. Use it to start a second server generation on the data of a previous one.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>, extra_args: &[&str]) -> Server {
        Self::launch(data_dir.into(), None, None, extra_args)
    }

    /// Like [`Server::with_data_dir`] with fixed ports (for example the ports of a killed server).
    pub fn with_data_dir_and_ports(
        data_dir: impl Into<PathBuf>,
        namesrv_port: u16,
        broker_port: u16,
        extra_args: &[&str],
    ) -> Server {
        Self::launch(
            data_dir.into(),
            None,
            Some((namesrv_port, broker_port)),
            extra_args,
        )
    }

    fn launch(
        data_dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        ports: Option<(u16, u16)>,
        extra_args: &[&str],
    ) -> Server {
        let mut server = Server {
            child: None,
            data_dir,
            _temp: temp,
            namesrv_port: 0,
            broker_port: 0,
            extra_args: strings(extra_args),
            log: OutputLog::default(),
            ready_line: String::new(),
            generation: 0,
            reported: false,
        };
        // Free ports can be taken by someone else between free_port() and the server's bind:
        // retry with new ports when the server dies complaining about an address in use.
        let attempts = if ports.is_some() { 1 } else { 3 };
        for attempt in 1..=attempts {
            let (n, b) = ports.unwrap_or_else(|| (free_port(), free_port()));
            server.namesrv_port = n;
            server.broker_port = b;
            match server.spawn() {
                Ok(()) => return server,
                Err(err) => {
                    let this_run = format!("[ferromq#{} ", server.generation);
                    let in_use = server.log.contains_with_prefix(&this_run, "in use")
                        || server.log.contains_with_prefix(&this_run, "AddrInUse");
                    if attempt < attempts && in_use {
                        eprintln!("[harness] ports {n}/{b} taken, retrying: {err}");
                        continue;
                    }
                    let out = server.log.tail(300);
                    server.reported = true;
                    panic!("ferromq did not start: {err}\n--- ferromq output (last 300 lines) ---\n{out}");
                }
            }
        }
        unreachable!()
    }

    fn spawn(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "server already running");
        self.generation += 1;
        let gen = self.generation;
        let bin = env!("CARGO_BIN_EXE_ferromq");
        let mut cmd = Command::new(bin);
        cmd.arg("standalone")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--namesrv-port")
            .arg(self.namesrv_port.to_string())
            .arg("--broker-port")
            .arg(self.broker_port.to_string())
            .arg("--fast-port")
            .arg("0")
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.log.push(format!(
            "[harness] #{gen} starting {bin} standalone --data-dir {} --namesrv-port {} --broker-port {} {}",
            self.data_dir.display(),
            self.namesrv_port,
            self.broker_port,
            self.extra_args.join(" ")
        ));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot spawn {bin}: {e}"))?;
        let (tx, rx) = mpsc::channel::<StartEvent>();
        for (stream, name) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "out",
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "err",
            ),
        ] {
            let stream = stream.expect("piped stream");
            let tx = tx.clone();
            let log = self.log.clone();
            thread::Builder::new()
                .name(format!("ferromq-{name}"))
                .spawn(move || {
                    let mut ready_sent = false;
                    for_each_line(stream, |line| {
                        if !ready_sent
                            && strip_ansi(&line).trim_start().starts_with("ferromq ready")
                        {
                            ready_sent = true;
                            let _ = tx.send(StartEvent::Ready(line.clone()));
                        }
                        log.push(format!("[ferromq#{gen} {name}] {line}"));
                    });
                    let _ = tx.send(StartEvent::Eof);
                })
                .expect("spawn reader thread");
        }
        drop(tx);
        let deadline = Instant::now() + SERVER_READY_TIMEOUT;
        let mut eofs = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(StartEvent::Ready(line)) => {
                    self.ready_line = line;
                    self.child = Some(child);
                    return Ok(());
                }
                Ok(StartEvent::Eof) => {
                    eofs += 1;
                    if eofs == 2 {
                        let status = match wait_timeout(&mut child, Duration::from_secs(5)) {
                            Some(st) => st.to_string(),
                            None => "closed its output but kept running".to_string(),
                        };
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "ferromq exited ({status}) before printing `ferromq ready`"
                        ));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "no `ferromq ready` line within {SERVER_READY_TIMEOUT:?} (process killed)"
                    ));
                }
            }
        }
    }

    /// `127.0.0.1:<namesrv port>`, what clients use as their name server address.
    pub fn namesrv_addr(&self) -> String {
        format!("127.0.0.1:{}", self.namesrv_port)
    }

    /// `127.0.0.1:<broker port>`.
    pub fn broker_addr(&self) -> String {
        format!("127.0.0.1:{}", self.broker_port)
    }

    pub fn namesrv_port(&self) -> u16 {
        self.namesrv_port
    }

    pub fn broker_port(&self) -> u16 {
        self.broker_port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The `ferromq ready ...` line of the current process.
    pub fn ready_line(&self) -> &str {
        &self.ready_line
    }

    /// Process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// All output captured so far (stdout and stderr of every generation, prefixed).
    pub fn output(&self) -> String {
        self.log.text()
    }

    /// The last `n` lines of captured output.
    pub fn output_tail(&self, n: usize) -> String {
        self.log.tail(n)
    }

    /// SIGKILL (`Child::kill`) and reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.log.push("[harness] server killed (SIGKILL)".into());
        }
    }

    /// SIGTERM, then wait ≤ 10 s for the process to exit. Panics (after SIGKILL) when it does not.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("stop(): server is not running");
        if let Ok(Some(status)) = child.try_wait() {
            self.log
                .push(format!("[harness] server had already exited: {status}"));
            return status;
        }
        send_sigterm(child.id());
        match wait_timeout(&mut child, SERVER_STOP_TIMEOUT) {
            Some(status) => {
                self.log
                    .push(format!("[harness] server stopped (SIGTERM): {status}"));
                status
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                self.reported = true;
                panic!(
                    "ferromq did not exit within {SERVER_STOP_TIMEOUT:?} of SIGTERM\n--- output tail ---\n{}",
                    self.log.tail(200)
                );
            }
        }
    }

    /// Starts the server again on the same data directory and ports; stops it first (SIGTERM)
    /// when it is still running.
    pub fn restart(&mut self) {
        if self.is_running() {
            self.stop();
        } else {
            self.kill(); // reap
        }
        if let Err(err) = self.spawn() {
            self.reported = true;
            panic!(
                "ferromq did not restart: {err}\n--- ferromq output (last 300 lines) ---\n{}",
                self.log.tail(300)
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() && !self.reported {
            eprintln!(
                "--- ferromq server output (last 200 lines, data dir {}) ---\n{}",
                self.data_dir.display(),
                self.log.tail(200)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Third-party client scripts
// ---------------------------------------------------------------------------------------------

/// Which real RocketMQ client runs a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// PyPI `rocketmq==0.4.4`: the Apache rocketmq-client-cpp through ctypes
    /// (`compat/.venv/bin/python compat/cpp/<script>.py`).
    Cpp,
    /// npm `ali-ons@3.12.0` (`node compat/node/<script>.js`).
    Node,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Cpp => "cpp",
            Client::Node => "ali-ons",
        }
    }

    fn node_binary() -> String {
        std::env::var("FERROMQ_NODE").unwrap_or_else(|_| "node".to_string())
    }

    /// Checks that the client is installed; Err carries a message telling how to fix it.
    pub fn check_installed(self) -> Result<(), String> {
        let root = workspace_root();
        match self {
            Client::Cpp => {
                let py = root.join("compat/.venv/bin/python");
                if !py.exists() {
                    return Err(format!(
                        "{} is missing: run compat/setup.sh first (installs PyPI rocketmq==0.4.4 into compat/.venv)",
                        py.display()
                    ));
                }
                Ok(())
            }
            Client::Node => {
                let pkg = root.join("compat/node_modules/ali-ons/package.json");
                if !pkg.exists() {
                    return Err(format!(
                        "{} is missing: run compat/setup.sh first (installs npm ali-ons@3.12.0 into compat/node_modules)",
                        pkg.display()
                    ));
                }
                static NODE_OK: OnceLock<Result<(), String>> = OnceLock::new();
                NODE_OK
                    .get_or_init(|| {
                        let node = Self::node_binary();
                        match Command::new(&node).arg("--version").output() {
                            Ok(o) if o.status.success() => Ok(()),
                            Ok(o) => Err(format!("`{node} --version` failed: {}", o.status)),
                            Err(e) => Err(format!(
                                "cannot run `{node}` ({e}): install Node.js (and run compat/setup.sh first)"
                            )),
                        }
                    })
                    .clone()
            }
        }
    }

    fn command(self, script: &str) -> Command {
        if let Err(msg) = self.check_installed() {
            panic!("{} client not available: {msg}", self.name());
        }
        let root = workspace_root();
        let mut cmd = match self {
            Client::Cpp => {
                let mut c = Command::new(root.join("compat/.venv/bin/python"));
                c.arg(root.join("compat/cpp").join(format!("{script}.py")));
                c.env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                c
            }
            Client::Node => {
                let mut c = Command::new(Self::node_binary());
                c.arg(root.join("compat/node").join(format!("{script}.js")));
                c
            }
        };
        cmd.current_dir(&root);
        cmd
    }
}

/// What a finished client run printed.
#[derive(Debug)]
pub struct ClientOutput {
    pub status: ExitStatus,
    /// The JSON lines of stdout, in order.
    pub lines: Vec<Value>,
    pub stderr: String,
    /// Human-readable report (command, status, stderr, C++ log tail) for assertion messages.
    pub diagnostics: String,
}

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
    if kind == Client::Cpp && !args.iter().any(|a| a == "--log-home") {
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

/// Runs a client script to completion (≤ `timeout`), asserts exit status 0 and returns its JSON
/// lines. Panics with the client's stderr (and C++ logs) otherwise.
pub fn run_client(kind: Client, script: &str, args: &[String], timeout: Duration) -> Vec<Value> {
    let mut p = spawn_client(kind, script, args);
    p.wait_success(timeout)
}

/// Runs a client script to completion (≤ `timeout`, then it is killed and this panics) and returns
/// what it printed, whatever its exit status.
pub fn run_client_output(
    kind: Client,
    script: &str,
    args: &[String],
    timeout: Duration,
) -> ClientOutput {
    let mut p = spawn_client(kind, script, args);
    let status = p.wait(timeout);
    ClientOutput {
        status,
        lines: p.lines(),
        stderr: p.stderr(),
        diagnostics: p.diagnostics(),
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

// ---------------------------------------------------------------------------------------------
// JSON line helpers
// ---------------------------------------------------------------------------------------------

/// The lines whose `"event"` is `event`.
pub fn events(lines: &[Value], event: &str) -> Vec<Value> {
    lines
        .iter()
        .filter(|v| v.get("event").and_then(Value::as_str) == Some(event))
        .cloned()
        .collect()
}

/// A string field (None for absent or null).
pub fn field_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An integer field (accepts JSON numbers and numeric strings).
pub fn field_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Tags as the clients report them: None for "no tag" (null or "").
pub fn tag_of(v: &Value, key: &str) -> Option<String> {
    field_str(v, key)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A child process whose stdout and stderr lines are collected as they come; SIGKILLed on drop
/// (its output is printed then if the test is failing).
pub struct Captured {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
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
        for r in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            thread::spawn(move || {
                for l in BufReader::new(r).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(l);
                }
            });
        }
        Captured {
            child: Some(child),
            lines,
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
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

    /// Waits (≤ `timeout`) for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.child = None;
                    return st.code();
                }
            }
            thread::sleep(Duration::from_millis(50));
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
