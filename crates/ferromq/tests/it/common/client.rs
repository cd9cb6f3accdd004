//! Which third-party RocketMQ client runs a script under `compat/`, and one-shot runs of a
//! script ([`run_client`], [`run_client_output`]).

use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::client_process::spawn_client;
use super::util::{strings, workspace_root};

/// Which real RocketMQ client runs a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// PyPI `rocketmq==0.4.4`: the Apache rocketmq-client-cpp through ctypes
    /// (`compat/.venv/bin/python compat/cpp/<script>.py`).
    Cpp,
    /// npm `ali-ons@3.12.0` (`node compat/node/<script>.js`).
    Node,
    /// Maven `org.apache.rocketmq:rocketmq-client:4.9.8` (Remoting), driven by
    /// `compat/java` (`java -cp … ferromq.compat.Main <produce|consume|litepull>`).
    Java4,
    /// Maven `org.apache.rocketmq:rocketmq-client:5.5.0` (the 5.x Remoting client).
    Java5,
    /// Go module `github.com/apache/rocketmq-client-go/v2` (pinned in `compat/go/go.mod`),
    /// driven by `compat/go/bin/ferromq-compat-go <produce|consume|pull>`.
    Go,
    /// PyPI `rocketmq-python-client==5.1.2`, Apache's 5.x gRPC client
    /// (`compat/.venv-grpc/bin/python compat/grpc_py/<script>.py`; scripts `producer`,
    /// `simple_consumer`, `push_consumer`; `--endpoint` is the server's gRPC address).
    GrpcPy,
    /// npm `rocketmq-client-nodejs@1.0.8` (`node compat/grpc_node/<script>.js`), same scripts
    /// and output as [`Client::GrpcPy`].
    GrpcNode,
    /// Maven `rocketmq-client-java` 5.0.8 (`compat/grpc_java`, `ferromq.compat.grpc.Main`).
    GrpcJava,
    /// Go module `github.com/apache/rocketmq-clients/golang/v5` v5.1.4
    /// (`compat/grpc_go/bin/ferromq-compat-grpc-go <produce|simple|push>`).
    GrpcGo,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Cpp => "cpp",
            Client::Node => "ali-ons",
            Client::Java4 => "java-4.9.8",
            Client::Java5 => "java-5.5.0",
            Client::Go => "go-v2",
            Client::GrpcPy => "grpc-py-5.1.2",
            Client::GrpcNode => "grpc-node-1.0.8",
            Client::GrpcJava => "grpc-java-5.0.8",
            Client::GrpcGo => "grpc-go-5.1.4",
        }
    }

    /// The rocketmq-client version of a Java client.
    fn java_version(self) -> Option<&'static str> {
        match self {
            Client::Java4 => Some("4.9.8"),
            Client::Java5 => Some("5.5.0"),
            _ => None,
        }
    }

    /// `compat/java/target/<version>`: the drivers' classes and `classpath.txt`.
    fn java_dir(version: &str) -> std::path::PathBuf {
        workspace_root().join("compat/java/target").join(version)
    }

    /// The `-cp` of a Java client, for the drivers and for mqadmin.
    pub fn java_classpath(self) -> Option<String> {
        let dir = Self::java_dir(self.java_version()?);
        let deps = std::fs::read_to_string(dir.join("classpath.txt")).ok()?;
        Some(format!("{}:{}", dir.join("classes").display(), deps.trim()))
    }

    /// The Go driver, built by `compat/setup.sh`.
    fn go_binary() -> std::path::PathBuf {
        workspace_root().join("compat/go/bin/ferromq-compat-go")
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
            Client::Java4 | Client::Java5 => {
                let v = self.java_version().unwrap_or_default();
                let cp = Self::java_dir(v).join("classpath.txt");
                if !cp.exists() {
                    return Err(format!(
                        "{} is missing: run compat/setup.sh first (builds compat/java against rocketmq-client {v} from Maven Central)",
                        cp.display()
                    ));
                }
                Ok(())
            }
            Client::GrpcNode | Client::GrpcJava | Client::GrpcGo => {
                let (path, what) = match self {
                    Client::GrpcNode => (
                        "compat/grpc_node/node_modules/rocketmq-client-nodejs/package.json",
                        "npm rocketmq-client-nodejs@1.0.8",
                    ),
                    Client::GrpcJava => (
                        "compat/grpc_java/target/classpath.txt",
                        "Maven rocketmq-client-java 5.0.8 and its drivers",
                    ),
                    _ => (
                        "compat/grpc_go/bin/ferromq-compat-grpc-go",
                        "the Go 5.x client driver",
                    ),
                };
                if !root.join(path).exists() {
                    return Err(format!(
                        "{path} is missing: run compat/setup.sh first (installs {what})"
                    ));
                }
                Ok(())
            }
            Client::GrpcPy => {
                let py = root.join("compat/.venv-grpc/bin/python");
                if !py.exists() {
                    return Err(format!(
                        "{} is missing: run compat/setup.sh first (installs PyPI rocketmq-python-client==5.1.2 into compat/.venv-grpc)",
                        py.display()
                    ));
                }
                Ok(())
            }
            Client::Go => {
                let bin = Self::go_binary();
                if !bin.exists() {
                    return Err(format!(
                        "{} is missing: run compat/setup.sh first (builds compat/go against github.com/apache/rocketmq-client-go/v2)",
                        bin.display()
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) fn command(self, script: &str) -> Command {
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
            Client::Java4 | Client::Java5 => {
                let mut c = Command::new("java");
                let sub = match script {
                    "producer" => "produce",
                    "consumer" => "consume",
                    other => other,
                };
                c.args([
                    "-Xss512k",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    &self.java_classpath().unwrap_or_default(),
                    "ferromq.compat.Main",
                    sub,
                ]);
                c
            }
            Client::GrpcNode => {
                let mut c = Command::new(Self::node_binary());
                c.arg(root.join("compat/grpc_node").join(format!("{script}.js")));
                c
            }
            Client::GrpcJava => {
                let dir = root.join("compat/grpc_java/target");
                let deps = std::fs::read_to_string(dir.join("classpath.txt")).unwrap_or_default();
                let mut c = Command::new("java");
                c.args([
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    &format!("{}:{}", dir.join("classes").display(), deps.trim()),
                    "ferromq.compat.grpc.Main",
                    script,
                ]);
                c
            }
            Client::GrpcGo => {
                let mut c = Command::new(root.join("compat/grpc_go/bin/ferromq-compat-grpc-go"));
                c.arg(match script {
                    "producer" => "produce",
                    "simple_consumer" => "simple",
                    "push_consumer" => "push",
                    other => other,
                });
                c
            }
            Client::GrpcPy => {
                let mut c = Command::new(root.join("compat/.venv-grpc/bin/python"));
                c.arg(root.join("compat/grpc_py").join(format!("{script}.py")));
                c.env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                c
            }
            Client::Go => {
                let mut c = Command::new(Self::go_binary());
                c.arg(match script {
                    "producer" => "produce",
                    "consumer" => "consume",
                    other => other,
                });
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

/// The arguments every client script takes (`--namesrv <namesrv> --topic <topic> --group
/// <group>`), followed by `extra`.
pub fn client_args(namesrv: &str, topic: &str, group: &str, extra: &[&str]) -> Vec<String> {
    let mut v = strings(&["--namesrv", namesrv, "--topic", topic, "--group", group]);
    v.extend(strings(extra));
    v
}
