//! Shared setup of the `ferromq admin` tests: the cluster (a name server and two brokers as real
//! processes, `TOPIC` on both), filling it and committing offsets with ferromq's client, and
//! running the real binary's `admin` with its output captured and parsed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
use serde_json::Value;

use crate::admin_cli::{ADMIN_TIMEOUT, COMMITTED, MESSAGES, QUEUES, TOPIC};
use crate::common::{self, free_port, poll_until};

/// Queues of `TOPIC` over both brokers.
pub const ALL_QUEUES: usize = 2 * QUEUES as usize;

/// The same committed offset on every queue of both brokers (what [`Cluster::offsets`] returns).
pub fn every(offset: i64) -> Vec<Option<i64>> {
    vec![Some(offset); ALL_QUEUES]
}

/// `head` followed by `tail`.
pub fn cat<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend_from_slice(tail);
    v
}

/// mqadmin's per-group form: `<cmd> -g <group> -t TOPIC <extra>`.
pub fn mq_args<'a>(cmd: &'a str, group: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    cat(&[cmd, "-g", group, "-t", TOPIC], extra)
}

/// `offsets reset --group <group> --topic <topic> <spec>`.
pub fn reset_args<'a>(group: &'a str, topic: &'a str, spec: &[&'a str]) -> Vec<&'a str> {
    cat(
        &["offsets", "reset", "--group", group, "--topic", topic],
        spec,
    )
}

/// A `ferromq` server process (namesrv or broker) started until its `ferromq ready` line.
pub struct Proc(common::Captured);

impl Proc {
    fn start(label: &str, args: &[String]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
        cmd.args(args).env("RUST_LOG", "warn");
        let p = common::Captured::spawn(cmd);
        let ok = p.wait_for_line("ferromq ready", Duration::from_secs(30));
        assert!(ok, "{label} did not start:\n{}", p.output());
        Proc(p)
    }

    /// Sends `signal` (STOP or CONT) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.0.pid().expect("running");
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} {pid}");
    }
}

/// A name server and two brokers (broker-a, broker-b), with `TOPIC` on both.
pub struct Cluster {
    _dir: tempfile::TempDir,
    pub namesrv: String,
    /// (broker name, address).
    pub brokers: Vec<(String, String)>,
    /// The name server, broker-a, broker-b.
    pub procs: Vec<Proc>,
    pub rt: tokio::runtime::Runtime,
    pub client: MqClient,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("ferromq-admin-")
            .tempdir()
            .unwrap();
        let namesrv = format!("127.0.0.1:{}", free_port());
        let mut procs = vec![Proc::start(
            "namesrv",
            &common::strings(&["namesrv", "--listen", &namesrv]),
        )];
        let mut brokers = Vec::new();
        for name in ["broker-a", "broker-b"] {
            let port = free_port().to_string();
            let data = dir.path().join(name).display().to_string();
            procs.push(Proc::start(
                name,
                &common::strings(&[
                    "broker",
                    "--namesrv",
                    &namesrv,
                    "--host",
                    "127.0.0.1",
                    "--broker-port",
                    &port,
                    // A free gRPC port: tests run in parallel (the default is 8081).
                    "--grpc-port",
                    "0",
                    "--fast-port",
                    "0",
                    "--broker-name",
                    name,
                    "--register-interval-secs",
                    "1",
                    "--data-dir",
                    &data,
                ]),
            ));
            brokers.push((name.to_string(), format!("127.0.0.1:{port}")));
        }
        let client = MqClient::new(&namesrv, Duration::from_secs(5));
        let c = Cluster {
            _dir: dir,
            namesrv,
            brokers,
            procs,
            rt: common::runtime(),
            client,
        };
        for (_, addr) in &c.brokers {
            c.rt.block_on(
                c.client
                    .create_topic(addr, &TopicConfig::new(TOPIC, QUEUES)),
            )
            .expect("create topic");
        }
        let routed = poll_until(Duration::from_secs(20), || {
            c.rt.block_on(c.client.route(TOPIC))
                .map(|r| r.queue_datas.len() == 2)
                .unwrap_or(false)
        });
        assert!(routed, "topic not routed on both brokers");
        c
    }

    /// [`Cluster::start`], [`Cluster::fill`], and `COMMITTED` committed for each of `groups` on
    /// every queue.
    pub fn with_committed(groups: &[&str]) -> Cluster {
        let c = Self::start();
        c.fill();
        for g in groups {
            c.commit_all(g, COMMITTED);
        }
        c
    }

    /// `MESSAGES` messages on every queue of both brokers.
    pub fn fill(&self) {
        self.rt.block_on(async {
            for (_, addr) in &self.brokers {
                for q in 0..QUEUES {
                    for i in 0..MESSAGES {
                        self.client
                            .send(
                                addr,
                                "admin_producer",
                                TOPIC,
                                q,
                                Bytes::from(format!("m{i}")),
                                "",
                            )
                            .await
                            .expect("send");
                    }
                }
            }
        });
    }

    /// Commits `offset` for `group` on every queue of both brokers.
    pub fn commit_all(&self, group: &str, offset: i64) {
        self.rt.block_on(async {
            for (_, addr) in &self.brokers {
                for q in 0..QUEUES {
                    self.client
                        .update_offset(addr, group, TOPIC, q, offset)
                        .await
                        .expect("commit");
                }
            }
        });
    }

    /// Committed offsets per (broker, queue), in order broker-a q0, q1, broker-b q0, q1.
    pub fn offsets(&self, group: &str) -> Vec<Option<i64>> {
        self.rt.block_on(async {
            let mut v = Vec::new();
            for (_, addr) in &self.brokers {
                for q in 0..QUEUES {
                    v.push(
                        self.client
                            .query_offset(addr, group, TOPIC, q)
                            .await
                            .expect("query offset"),
                    );
                }
            }
            v
        })
    }

    /// Whether `topic` is routed on both brokers.
    pub fn routed_on_both(&self, topic: &str) -> bool {
        self.rt
            .block_on(self.client.route(topic))
            .map(|r| r.queue_datas.len() == 2)
            .unwrap_or(false)
    }

    /// `ferromq admin -n <namesrv> <args>`.
    pub fn admin(&self, args: &[&str]) -> Out {
        admin(&cat(&["-n", &self.namesrv], args), &[])
    }

    /// `ferromq admin -n <namesrv> --output json <args>`, which must exit 0; its parsed output.
    pub fn admin_json(&self, args: &[&str]) -> Value {
        self.admin(&cat(&["--output", "json"], args)).ok().json()
    }

    /// `offsets reset --group <group> --topic <topic> <spec>`.
    pub fn reset(&self, group: &str, topic: &str, spec: &[&str]) -> Out {
        self.admin(&reset_args(group, topic, spec))
    }

    /// [`Cluster::reset`] with `--output json`, which must exit 0; the parsed plan.
    pub fn reset_json(&self, group: &str, topic: &str, spec: &[&str]) -> Value {
        self.admin_json(&reset_args(group, topic, spec))
    }

    /// mqadmin's per-group form: `<cmd> -g <group> -t TOPIC <extra>`.
    pub fn mqadmin(&self, cmd: &str, group: &str, extra: &[&str]) -> Out {
        self.admin(&mq_args(cmd, group, extra))
    }
}

/// What an `admin` run printed, and its exit code.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }

    pub fn ok(self) -> Out {
        self.code(0)
    }

    pub fn code(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `ferromq admin <args>` with stdin closed, bounded by [`ADMIN_TIMEOUT`].
pub fn admin(args: &[&str], env: &[(&str, &str)]) -> Out {
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
    cmd.arg("admin")
        .args(args)
        .env_remove("FERROMQ_NAMESRV")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn ferromq admin");
    wait_out(child, start)
}

/// Collects the output of `child` (started at `start`) until it exits, bounded by
/// [`ADMIN_TIMEOUT`] (then it is killed and this panics).
pub fn wait_out(mut child: Child, start: Instant) -> Out {
    // Read both pipes while waiting: a large output (completions) would otherwise block the child.
    let drain = |r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut r = r;
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = match child.stderr.take() {
        Some(e) => drain(Box::new(e)),
        None => thread::spawn(String::new),
    };
    let deadline = start + ADMIN_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ferromq admin did not finish within {ADMIN_TIMEOUT:?}\nstdout:{}\nstderr:{}",
                out.join().unwrap(),
                err.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: start.elapsed(),
    }
}

/// Writes `text` to `dir/name`; its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Parses the JSON file at `path`.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts that `o` printed exactly one non-empty line to stderr, starting with `error`.
pub fn one_line_error(o: &Out) {
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected a one-line error, got:\n{}",
        o.stderr
    );
    assert!(lines[0].starts_with("error"), "{}", o.stderr);
}

/// `path` as a `&str` argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}
