//! [`Server`]: the real `ferromq standalone` binary on free loopback ports.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::process::{for_each_line, send_sigterm, strip_ansi, wait_timeout, OutputLog};
use super::util::{free_port, strings};

/// How long [`Server::standalone`] waits for the `ferromq ready` line.
pub const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long [`Server::stop`] waits after SIGTERM before it kills the server and fails.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The RocketMQ 5.x gRPC endpoint's port (kept across restarts, like the others).
    grpc_port: u16,
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
            grpc_port: 0,
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
            server.grpc_port = free_port();
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
            .arg("--grpc-port")
            .arg(self.grpc_port.to_string())
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

    /// `127.0.0.1:<gRPC port>`, the endpoint 5.x gRPC clients are given.
    pub fn grpc_addr(&self) -> String {
        format!("127.0.0.1:{}", self.grpc_port)
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

/// Where clients and tools find a cluster: a standalone [`Server`], or the name server
/// address of a multi-broker cluster.
pub trait Endpoint {
    fn namesrv(&self) -> String;
}

impl Endpoint for Server {
    fn namesrv(&self) -> String {
        self.namesrv_addr()
    }
}

impl Endpoint for str {
    fn namesrv(&self) -> String {
        self.to_string()
    }
}
