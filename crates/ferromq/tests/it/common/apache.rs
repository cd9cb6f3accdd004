//! A real Apache RocketMQ (name server and broker, Remoting) for side-by-side tests: the
//! release pinned in `compat/apache/pom.xml`, from Maven Central (built by `compat/setup.sh`),
//! started through its main classes with a temporary home and store, on loopback ports.
//! Start and stop are bounded; a process that does not come up fails the test with its log.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferromq_client::MqClient;

use super::process::Captured;
use super::server::Endpoint;
use super::sync_client::runtime;
use super::util::{free_port, poll_until, workspace_root};

/// The Apache RocketMQ release the tests run (`compat/apache/pom.xml`).
pub const APACHE_VERSION: &str = "5.5.0";
/// A JVM start plus the broker's store recovery; several times what an idle machine needs.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Upstream's shutdown hook persists offsets and flushes the store; it takes seconds.
const STOP_TIMEOUT: Duration = Duration::from_secs(40);

/// `compat/apache/target/<version>/classpath.txt`, or why it is missing.
pub fn apache_classpath() -> Result<String, String> {
    let path = workspace_root()
        .join("compat/apache/target")
        .join(APACHE_VERSION)
        .join("classpath.txt");
    fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            format!(
                "{}: {e}: run compat/setup.sh first (fetches Apache RocketMQ {APACHE_VERSION} \
                 from Maven Central)",
                path.display()
            )
        })
}

/// One Apache JVM (name server or broker) with its home, config and log directory.
struct ApacheProcess {
    label: String,
    main_class: &'static str,
    home: PathBuf,
    conf: PathBuf,
    extra_args: Vec<String>,
    ready_line: &'static str,
    proc: Option<Captured>,
}

impl ApacheProcess {
    fn start(
        label: &str,
        main_class: &'static str,
        home: &Path,
        conf_text: &str,
        extra_args: &[String],
        ready_line: &'static str,
    ) -> ApacheProcess {
        fs::create_dir_all(home).expect("apache home");
        let conf = home.join(format!("{label}.conf"));
        fs::write(&conf, conf_text).expect("apache conf");
        let mut p = ApacheProcess {
            label: label.to_string(),
            main_class,
            home: home.to_path_buf(),
            conf,
            extra_args: extra_args.to_vec(),
            ready_line,
            proc: None,
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let cp = apache_classpath().unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new("java");
        cmd.args([
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            &cp,
        ])
        // Upstream reads its home from this property and writes its logs under user.home; the
        // RocksDB library it extracts (13 MB, deleted only on a clean exit, never after the
        // SIGKILLs these tests send) goes there too, removed with the home.
        .arg(format!("-Drocketmq.home.dir={}", self.home.display()))
        .arg(format!("-Duser.home={}", self.home.display()))
        .arg(format!("-Djava.io.tmpdir={}", self.home.display()))
        .arg(self.main_class)
        .arg("-c")
        .arg(&self.conf)
        .args(&self.extra_args)
        .current_dir(&self.home);
        let mut p = Captured::spawn(cmd);
        let mut exited = false;
        poll_until(START_TIMEOUT, || {
            exited = p.wait_exit(Duration::from_millis(60)).is_some();
            exited || p.contains(self.ready_line)
        });
        if exited || !p.contains(self.ready_line) {
            let out = p.output();
            drop(p);
            panic!(
                "Apache RocketMQ {} did not start within {START_TIMEOUT:?}:\n{}\n{}",
                self.label,
                tail(&out, 40),
                self.log_tail(40)
            );
        }
        self.proc = Some(p);
    }

    /// The last lines of upstream's own log files (broker.log, namesrv.log).
    fn log_tail(&self, n: usize) -> String {
        let dir = self.home.join("logs/rocketmqlogs");
        let mut out = String::new();
        for name in ["broker.log", "namesrv.log", "store.log"] {
            if let Ok(text) = fs::read_to_string(dir.join(name)) {
                out.push_str(&format!("--- {name}\n{}\n", tail(&text, n)));
            }
        }
        out
    }

    fn signal(&mut self, sig: &str) -> Option<i32> {
        let mut p = self.proc.take()?;
        if let Some(pid) = p.pid() {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(pid.to_string())
                .status();
        }
        let code = p.wait_exit(STOP_TIMEOUT);
        if code.is_none() {
            p.kill();
        }
        code
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("|-INFO in ")).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// An Apache RocketMQ name server.
pub struct ApacheNamesrv {
    pub addr: String,
    process: ApacheProcess,
    _dir: tempfile::TempDir,
}

impl ApacheNamesrv {
    pub fn start() -> ApacheNamesrv {
        let dir = tempdir("ferromq-apache-ns-");
        let port = free_port();
        let conf = format!("listenPort={port}\nbindAddress=127.0.0.1\n");
        let process = ApacheProcess::start(
            "namesrv",
            "org.apache.rocketmq.namesrv.NamesrvStartup",
            dir.path(),
            &conf,
            &[],
            "The Name Server boot success",
        );
        ApacheNamesrv {
            addr: format!("127.0.0.1:{port}"),
            process,
            _dir: dir,
        }
    }

    pub fn output(&self) -> String {
        self.process
            .proc
            .as_ref()
            .map(Captured::output)
            .unwrap_or_default()
    }
}

impl Drop for ApacheNamesrv {
    fn drop(&mut self) {
        self.process.signal("KILL");
    }
}

/// An Apache RocketMQ broker (master, id 0) registered with `namesrv`.
pub struct ApacheBroker {
    pub name: String,
    pub addr: String,
    namesrv: String,
    store: PathBuf,
    process: ApacheProcess,
    _dir: tempfile::TempDir,
}

impl ApacheBroker {
    /// A broker named `name` in `cluster`, async flush, its store in a temp dir; `extra`
    /// lines (`key=value`) are appended to its config.
    pub fn start(namesrv: &str, name: &str, cluster: &str, extra: &[&str]) -> ApacheBroker {
        let dir = tempdir("ferromq-apache-broker-");
        let store = dir.path().join("store");
        let (port, ha_port) = broker_ports();
        let mut conf = format!(
            "brokerClusterName={cluster}\nbrokerName={name}\nbrokerId=0\nnamesrvAddr={namesrv}\n\
             listenPort={port}\nhaListenPort={ha_port}\nbrokerIP1=127.0.0.1\n\
             bindAddress=127.0.0.1\nstorePathRootDir={store}\n\
             storePathCommitLog={store}/commitlog\nmappedFileSizeCommitLog=67108864\n\
             autoCreateTopicEnable=true\nautoCreateSubscriptionGroup=true\n\
             flushDiskType=ASYNC_FLUSH\nenablePropertyFilter=true\n",
            store = store.display()
        );
        for line in extra {
            conf.push_str(line);
            conf.push('\n');
        }
        let process = ApacheProcess::start(
            "broker",
            "org.apache.rocketmq.broker.BrokerStartup",
            dir.path(),
            &conf,
            &[],
            "boot success",
        );
        let b = ApacheBroker {
            name: name.to_string(),
            addr: format!("127.0.0.1:{port}"),
            namesrv: namesrv.to_string(),
            store,
            process,
            _dir: dir,
        };
        b.wait_registered();
        b
    }

    /// Waits until the name server lists this broker: upstream registers at boot, but a topic
    /// created in its first seconds may only be routed at its next periodic registration (its
    /// first comes 10 s after boot), so tests also wait for their topics' routes.
    fn wait_registered(&self) {
        let rt = runtime();
        let client = MqClient::new(&self.namesrv, Duration::from_secs(3));
        let registered = poll_until(START_TIMEOUT, || {
            rt.block_on(client.broker_addrs())
                .is_ok_and(|bs| bs.iter().any(|(_, a)| *a == self.addr))
        });
        assert!(
            registered,
            "Apache broker {} never registered with {}\n{}",
            self.name,
            self.namesrv,
            self.output()
        );
    }

    /// The store root (`config/consumerOffset.json` lives under it).
    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// SIGKILL: no shutdown hook runs.
    pub fn kill(&mut self) {
        self.process.signal("KILL");
    }

    /// SIGTERM and wait: upstream's shutdown hook persists offsets and configs.
    pub fn stop(&mut self) -> Option<i32> {
        self.process.signal("TERM")
    }

    /// Starts the broker again on the same store and ports.
    pub fn restart(&mut self) {
        self.process.signal("KILL");
        self.process.spawn();
        self.wait_registered();
    }

    pub fn output(&self) -> String {
        let own = self
            .process
            .proc
            .as_ref()
            .map(Captured::output)
            .unwrap_or_default();
        format!("{}\n{}", tail(&own, 30), self.process.log_tail(30))
    }
}

impl Drop for ApacheBroker {
    fn drop(&mut self) {
        self.process.signal("KILL");
    }
}

/// An Apache name server with one broker.
pub struct Apache {
    pub broker: ApacheBroker,
    pub namesrv: ApacheNamesrv,
}

impl Apache {
    /// A name server and a broker `broker_name` in cluster `DefaultCluster`.
    pub fn start(broker_name: &str) -> Apache {
        Self::start_with(broker_name, &[])
    }

    /// [`Apache::start`] with extra broker config lines (`key=value`).
    pub fn start_with(broker_name: &str, extra: &[&str]) -> Apache {
        let namesrv = ApacheNamesrv::start();
        let broker = ApacheBroker::start(&namesrv.addr, broker_name, "DefaultCluster", extra);
        Apache { broker, namesrv }
    }
}

impl Endpoint for Apache {
    fn namesrv(&self) -> String {
        self.namesrv.addr.clone()
    }
}

fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// A listen port whose "fast" companion (port − 2, which upstream binds too) is free, and a
/// port for the HA service.
fn broker_ports() -> (u16, u16) {
    for _ in 0..200 {
        let p = free_port();
        if p > 1026 && TcpListener::bind(("127.0.0.1", p - 2)).is_ok() {
            return (p, free_port());
        }
    }
    panic!("no free port pair for an Apache broker");
}
