//! `ferromq admin` end to end: a name server and two brokers as real processes, a topic spread
//! over both, offsets committed with ferromq's client, then the real binary's `admin` commands,
//! checking their output (`--output json` parsed back), their effect (QUERY_CONSUMER_OFFSET on
//! each broker) and their exit codes (0 done, 1 error, 2 bad usage, 3 partially applied).
//!
//! Each cluster test stays well under a minute; every admin invocation is bounded by a timeout.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{free_port, poll_until};
use ferromq_client::MqClient;
use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData, TopicConfig};
use serde_json::Value;

const TOPIC: &str = "AdminOrders";
const QUEUES: i32 = 2;
const MESSAGES: i64 = 10;
const COMMITTED: i64 = 5;
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A `ferromq` server process (namesrv or broker) started until its `ferromq ready` line.
struct Proc(common::Captured);

impl Proc {
    fn start(label: &str, args: &[String]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferromq"));
        cmd.args(args).env("RUST_LOG", "warn");
        let p = common::Captured::spawn(cmd);
        let ok = p.wait_for_line("ferromq ready", Duration::from_secs(30));
        assert!(ok, "{label} did not start:\n{}", p.output());
        Proc(p)
    }
}

/// A name server and two brokers (broker-a, broker-b), with `TOPIC` on both.
struct Cluster {
    _dir: tempfile::TempDir,
    namesrv: String,
    brokers: Vec<(String, String)>,
    procs: Vec<Proc>,
    rt: tokio::runtime::Runtime,
    client: MqClient,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("ferromq-admin-")
            .tempdir()
            .unwrap();
        let ns_port = free_port();
        let namesrv = format!("127.0.0.1:{ns_port}");
        let mut procs = vec![Proc::start(
            "namesrv",
            &["namesrv".into(), "--listen".into(), namesrv.clone()],
        )];
        let mut brokers = Vec::new();
        for name in ["broker-a", "broker-b"] {
            let port = free_port();
            let data = dir.path().join(name);
            procs.push(Proc::start(
                name,
                &[
                    "broker".into(),
                    "--namesrv".into(),
                    namesrv.clone(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--broker-port".into(),
                    port.to_string(),
                    "--fast-port".into(),
                    "0".into(),
                    "--broker-name".into(),
                    name.into(),
                    "--register-interval-secs".into(),
                    "1".into(),
                    "--data-dir".into(),
                    data.display().to_string(),
                ],
            ));
            brokers.push((name.to_string(), format!("127.0.0.1:{port}")));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let client = MqClient::new(&namesrv, Duration::from_secs(5));
        let c = Cluster {
            _dir: dir,
            namesrv,
            brokers,
            procs,
            rt,
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

    fn fill(&self) {
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

    fn commit_all(&self, group: &str, offset: i64) {
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
    fn offsets(&self, group: &str) -> Vec<Option<i64>> {
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

    fn admin(&self, args: &[&str]) -> Out {
        let mut full = vec!["-n", self.namesrv.as_str()];
        full.extend_from_slice(args);
        admin(&full, &[])
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }

    fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn code(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `ferromq admin <args>` with stdin closed, bounded by [`ADMIN_TIMEOUT`].
fn admin(args: &[&str], env: &[(&str, &str)]) -> Out {
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

fn wait_out(mut child: Child, start: Instant) -> Out {
    // Read both pipes while waiting: a large output (completions) would otherwise block the child.
    let drain = |r: Box<dyn std::io::Read + Send>| {
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

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

fn one_line_error(o: &Out) {
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected a one-line error, got:\n{}",
        o.stderr
    );
    assert!(lines[0].starts_with("error"), "{}", o.stderr);
}

#[test]
fn usage_errors_exit_2_and_an_unreachable_namesrv_exits_1_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    let base = [
        "-n",
        dead.as_str(),
        "offsets",
        "reset",
        "--group",
        "g",
        "--topic",
        "T",
    ];
    let with = |extra: &[&str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        admin(&v, &[])
    };
    // Two specs, an unknown flag, a datetime that does not parse, no spec at all.
    for extra in [
        &["--to-earliest", "--to-latest"][..],
        &["--to-earliest", "--frobnicate"],
        &["--to-datetime", "yesterday at noon"],
        &["--by-duration", "1 hour"],
        &[],
    ] {
        let o = with(extra).code(2);
        one_line_error(&o);
    }
    let o = with(&["--to-datetime", "2025-13-45T00:00:00Z"]).code(2);
    assert!(o.stderr.contains("cannot parse time"), "{}", o.stderr);
    // A CSV with a bad row: the message names the line; nothing is sent (the name server is dead).
    let csv = write(
        dir.path(),
        "bad.csv",
        "group,topic,queue,offset\ng,T,0,1\ng,T,one,2\n",
    );
    let o = admin(
        &[
            "-n",
            &dead,
            "offsets",
            "reset",
            "--from-file",
            csv.to_str().unwrap(),
        ],
        &[],
    )
    .code(2);
    one_line_error(&o);
    assert!(o.stderr.contains("line 3"), "{}", o.stderr);
    // A name server nobody listens on: exit 1, one line, quickly.
    let o = with(&["--to-earliest"]).code(1);
    one_line_error(&o);
    assert!(o.stderr.contains("name server"), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(10), "took {:?}", o.elapsed);
    // Help with an example on every command, and completions.
    for cmd in [
        &["offsets", "reset", "--help"][..],
        &["offsets", "describe", "--help"],
        &["offsets", "undo", "--help"],
        &["resetOffsetByTime", "--help"],
        &["topicList", "--help"],
    ] {
        let o = admin(cmd, &[]).ok();
        assert!(o.stdout.contains("Examples:"), "{cmd:?}: {}", o.stdout);
    }
    let o = admin(&["completions", "bash"], &[]).ok();
    assert!(
        o.stdout.contains("resetOffsetByTime"),
        "{}",
        &o.stdout[..200.min(o.stdout.len())]
    );
}

#[test]
fn offsets_family_and_upstream_aliases_over_two_brokers() {
    let c = Cluster::start();
    c.fill();
    c.commit_all("g1", COMMITTED);
    let dir = tempfile::tempdir().unwrap();
    let before = vec![Some(COMMITTED); 4];
    assert_eq!(c.offsets("g1"), before);

    // Dry run (the default): the plan for every queue of both brokers, nothing changed.
    let o = c
        .admin(&[
            "--output",
            "json",
            "offsets",
            "reset",
            "--group",
            "g1",
            "--topic",
            TOPIC,
            "--to-earliest",
        ])
        .ok();
    let plan = o.json();
    assert_eq!(plan["dryRun"], true);
    let queues = plan["queues"].as_array().unwrap();
    assert_eq!(queues.len(), 4, "{plan}");
    let brokers: std::collections::BTreeSet<&str> = queues
        .iter()
        .map(|q| q["brokerName"].as_str().unwrap())
        .collect();
    assert_eq!(
        brokers.into_iter().collect::<Vec<_>>(),
        ["broker-a", "broker-b"]
    );
    for q in queues {
        assert_eq!(
            (q["current"].as_i64(), q["target"].as_i64()),
            (Some(COMMITTED), Some(0)),
            "{q}"
        );
        assert_eq!(q["replayed"], COMMITTED);
    }
    assert_eq!(c.offsets("g1"), before, "a dry run changed offsets");
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--group",
            "g1",
            "--topic",
            &format!("{TOPIC}:1"),
            "--shift-by",
            "-2",
        ])
        .ok();
    assert!(
        o.stdout.contains("DRY RUN") && o.stdout.contains("REPLAYED"),
        "{}",
        o.stdout
    );
    assert_eq!(
        o.stdout.lines().filter(|l| l.starts_with("g1")).count(),
        2,
        "{}",
        o.stdout
    );
    let plan_file = dir.path().join("plan.json");
    c.admin(&[
        "offsets",
        "reset",
        "--group",
        "g1",
        "--topic",
        TOPIC,
        "--by-duration",
        "PT1H",
        "--export",
        plan_file.to_str().unwrap(),
    ])
    .ok();
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(exported["queues"].as_array().unwrap().len(), 4);
    assert_eq!(c.offsets("g1"), before);

    // --execute applies on both brokers, with a change id each.
    let o = c
        .admin(&[
            "--output",
            "json",
            "offsets",
            "reset",
            "--group",
            "g1",
            "--topic",
            TOPIC,
            "--to-offset",
            "8",
            "--execute",
        ])
        .ok();
    let applied = o.json();
    assert_eq!(applied["dryRun"], false);
    assert_eq!(applied["brokers"].as_array().unwrap().len(), 2);
    assert!(applied["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["changeId"].is_u64()));
    assert_eq!(c.offsets("g1"), vec![Some(8); 4]);

    // Out of range: clamped, and said so.
    let o = c
        .admin(&[
            "--output",
            "json",
            "offsets",
            "reset",
            "--group",
            "g1",
            "--topic",
            TOPIC,
            "--to-offset",
            "1000",
        ])
        .ok();
    assert!(o.json()["queues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|q| q["clamped"] == true && q["target"] == MESSAGES));

    // Describe: lag per queue (10 − 8), over both brokers.
    let d = c
        .admin(&["--output", "json", "offsets", "describe", "--group", "g1"])
        .ok()
        .json();
    assert_eq!(d["totalLag"], 4 * (MESSAGES - 8), "{d}");
    assert_eq!(d["queues"].as_array().unwrap().len(), 4);
    // An online member (a heartbeat on a connection that stays open) shows in describe.
    c.rt.block_on(async {
        let hb = HeartbeatData {
            client_id: "127.0.0.1@admin-test".into(),
            consumer_data_set: vec![ConsumerData {
                group_name: "g1".into(),
                consume_type: "CONSUME_PASSIVELY".into(),
                message_model: "CLUSTERING".into(),
                consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
                subscription_data_set: vec![SubscriptionData::from_expression(TOPIC, "*", 1)],
                ..Default::default()
            }],
            ..Default::default()
        };
        for (_, addr) in &c.brokers {
            c.client
                .remoting
                .invoke(addr, ferromq_client::requests::heartbeat(&hb))
                .await
                .expect("heartbeat");
        }
    });
    let d = c
        .admin(&["--output", "json", "offsets", "describe", "--group", "g1"])
        .ok()
        .json();
    assert_eq!(d["onlineClients"].as_array().map(Vec::len), Some(1), "{d}");
    let t = c.admin(&["offsets", "describe", "--group", "g1"]).ok();
    assert!(
        t.stdout.contains("LAG-TIME") && t.stdout.contains("total lag 8"),
        "{}",
        t.stdout
    );

    // Export → import into another group.
    let export = dir.path().join("g1.json");
    c.admin(&[
        "offsets",
        "export",
        "--group",
        "g1",
        "--file",
        export.to_str().unwrap(),
    ])
    .ok();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let recs = doc["records"].as_array().unwrap();
    assert_eq!(recs.len(), 4, "{doc}");
    assert!(
        recs.iter()
            .all(|r| r["storeTimeMs"].is_i64() && r["brokerName"].is_string()),
        "{doc}"
    );
    let g2_before = c.offsets("g2");
    c.admin(&[
        "offsets",
        "import",
        "--file",
        export.to_str().unwrap(),
        "--to-group",
        "g2",
    ])
    .ok();
    assert_eq!(
        c.offsets("g2"),
        g2_before,
        "import without --execute changed offsets"
    );
    c.admin(&[
        "offsets",
        "import",
        "--file",
        export.to_str().unwrap(),
        "--to-group",
        "g2",
        "--execute",
    ])
    .ok();
    assert_eq!(c.offsets("g2"), vec![Some(8); 4]);
    let csv = c
        .admin(&["offsets", "export", "--group", "g1", "--format", "csv"])
        .ok();
    assert!(
        csv.stdout.starts_with("group,topic,queue,offset"),
        "{}",
        csv.stdout
    );
    assert_eq!(csv.stdout.lines().count(), 5);

    // Clone.
    c.admin(&[
        "offsets",
        "clone",
        "--from",
        "g1",
        "--to",
        "g3",
        "--execute",
    ])
    .ok();
    assert_eq!(c.offsets("g3"), vec![Some(8); 4]);

    // A file with a bad row: the row is named, nothing applied.
    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("g1,{TOPIC},0,1\ng1,{TOPIC},0,-4\n"),
    );
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--from-file",
            bad.to_str().unwrap(),
            "--execute",
        ])
        .code(2);
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);
    // A good CSV (per broker rows) applies.
    let good = write(
        dir.path(),
        "good.csv",
        &format!(
            "group,topic,queue,offset,broker\ng1,{TOPIC},0,3,broker-a\ng1,{TOPIC},1,4,broker-b\n"
        ),
    );
    c.admin(&[
        "offsets",
        "reset",
        "--from-file",
        good.to_str().unwrap(),
        "--execute",
    ])
    .ok();
    assert_eq!(c.offsets("g1"), vec![Some(3), Some(8), Some(8), Some(4)]);

    // Two groups without --yes and no terminal: refused, nothing changed.
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--group",
            "g2",
            "--group",
            "g3",
            "--topic",
            TOPIC,
            "--to-earliest",
            "--execute",
        ])
        .code(1);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(c.offsets("g2"), vec![Some(8); 4]);
    c.admin(&[
        "offsets",
        "reset",
        "--group",
        "g2",
        "--group",
        "g3",
        "--topic",
        TOPIC,
        "--to-earliest",
        "--execute",
        "--yes",
    ])
    .ok();
    assert_eq!(c.offsets("g3"), vec![Some(0); 4]);

    // --all-groups --all-topics: every group with offsets, dry run.
    let all = c
        .admin(&[
            "--output",
            "json",
            "offsets",
            "reset",
            "--all-groups",
            "--all-topics",
            "--to-latest",
        ])
        .ok()
        .json();
    let groups: std::collections::BTreeSet<&str> = all["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["group"].as_str().unwrap())
        .collect();
    assert!(
        ["g1", "g2", "g3"].iter().all(|g| groups.contains(g)),
        "{groups:?}"
    );

    // History and undo (change ids are per broker).
    let h = c
        .admin(&[
            "--output", "json", "offsets", "history", "--group", "g1", "--broker", "broker-b",
        ])
        .ok()
        .json();
    let last = &h["changes"][0];
    assert_eq!(last["operation"], "import", "{h}");
    let id = last["id"].as_u64().unwrap().to_string();
    let o = c.admin(&["offsets", "undo", &id]).code(2);
    assert!(o.stderr.contains("--broker"), "{}", o.stderr);
    c.admin(&["offsets", "undo", &id, "--broker", "broker-b"])
        .ok();
    assert_eq!(
        c.offsets("g1")[3],
        Some(4),
        "undo without --execute changed offsets"
    );
    c.admin(&["offsets", "undo", &id, "--broker", "broker-b", "--execute"])
        .ok();
    assert_eq!(c.offsets("g1"), vec![Some(3), Some(8), Some(8), Some(8)]);
    let t = c.admin(&["offsets", "history", "--group", "g1"]).ok();
    assert!(t.stdout.contains("undo"), "{}", t.stdout);

    // Delete (dry run, then applied).
    c.admin(&["offsets", "delete", "--group", "g2"]).ok();
    assert_eq!(c.offsets("g2"), vec![Some(0); 4]);
    c.admin(&["offsets", "delete", "--group", "g2", "--execute"])
        .ok();
    let e = c.admin(&["offsets", "export", "--group", "g2"]).ok().json();
    assert_eq!(e["records"].as_array().unwrap().len(), 0, "{e}");

    // Apache RocketMQ's consumerOffset.json (fastjson's unquoted keys), with the .bak fallback.
    let rmq = dir.path().join("consumerOffset.json");
    std::fs::write(&rmq, "{\"offsetTable\":{\"trunc").unwrap();
    std::fs::write(
        dir.path().join("consumerOffset.json.bak"),
        format!("{{\"offsetTable\":{{\"{TOPIC}@grm\":{{0:7,1:6}}}}}}"),
    )
    .unwrap();
    let o = c
        .admin(&[
            "--output",
            "json",
            "offsets",
            "import",
            "--rocketmq",
            rmq.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(
        o.json()["queues"].as_array().unwrap().len(),
        4,
        "{}",
        o.stdout
    );
    c.admin(&[
        "offsets",
        "import",
        "--rocketmq",
        rmq.to_str().unwrap(),
        "--execute",
    ])
    .ok();
    assert_eq!(c.offsets("grm"), vec![Some(7), Some(6), Some(7), Some(6)]);
    c.admin(&[
        "offsets",
        "import",
        "--rocketmq",
        rmq.to_str().unwrap(),
        "--to-group",
        "grm2",
        "--broker",
        "broker-b",
        "--execute",
    ])
    .ok();
    assert_eq!(&c.offsets("grm2")[2..], &[Some(7), Some(6)]);
    let e = c
        .admin(&["offsets", "export", "--group", "grm2"])
        .ok()
        .json();
    assert!(
        e["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["brokerName"] == "broker-b"),
        "{e}"
    );

    // Upstream aliases, applied at once.
    c.admin(&["resetOffsetByTime", "-g", "g1", "-t", TOPIC, "-s", "0"])
        .ok();
    assert_eq!(c.offsets("g1"), vec![Some(0); 4]);
    c.admin(&["skipAccumulatedMessage", "-g", "g1", "-t", TOPIC])
        .ok();
    assert_eq!(c.offsets("g1"), vec![Some(MESSAGES); 4]);
    c.admin(&[
        "resetOffsetByTime",
        "-g",
        "g1",
        "-t",
        TOPIC,
        "-s",
        "2000-01-01#00:00:00:000",
        "-f",
        "true",
    ])
    .ok();
    assert_eq!(c.offsets("g1"), vec![Some(0); 4]);
    // -f false (mqadmin): only queues whose committed offset is past the target move.
    c.commit_all("gf", 3);
    let o = c
        .admin(&[
            "resetOffsetByTime",
            "-g",
            "gf",
            "-t",
            TOPIC,
            "-s",
            "now",
            "-f",
            "false",
        ])
        .ok();
    assert!(o.stdout.contains("nothing to reset"), "{}", o.stdout);
    assert_eq!(c.offsets("gf"), vec![Some(3); 4]);
    c.admin(&["resetOffsetByTime", "-g", "gf", "-t", TOPIC, "-s", "now"])
        .ok();
    assert_eq!(c.offsets("gf"), vec![Some(MESSAGES); 4]);
    c.admin(&[
        "resetOffsetByTime",
        "-g",
        "gf",
        "-t",
        TOPIC,
        "-s",
        "0",
        "-f",
        "false",
    ])
    .ok();
    assert_eq!(c.offsets("gf"), vec![Some(0); 4]);
    let p = c
        .admin(&["--output", "json", "consumerProgress", "-g", "g1"])
        .ok()
        .json();
    assert_eq!(p["totalLag"], 4 * MESSAGES);
    let p = c.admin(&["consumerProgress"]).ok();
    assert!(
        p.stdout.contains("g1") && p.stdout.contains("g3"),
        "{}",
        p.stdout
    );
    c.admin(&["cloneGroupOffset", "-s", "g1", "-d", "g4", "-t", TOPIC])
        .ok();
    assert_eq!(c.offsets("g4"), vec![Some(0); 4]);
    let l = c.admin(&["--output", "json", "topicList"]).ok().json();
    assert!(
        l["topics"].as_array().unwrap().iter().any(|t| t == TOPIC),
        "{l}"
    );
    let r = c.admin(&["topicRoute", "-t", TOPIC]).ok().json();
    assert_eq!(r["queueDatas"].as_array().unwrap().len(), 2, "{r}");
    let st = c
        .admin(&["--output", "json", "topicStatus", "-t", TOPIC])
        .ok()
        .json();
    let sq = st["queues"].as_array().unwrap();
    assert_eq!(sq.len(), 4, "{st}");
    assert!(sq.iter().all(|q| q["maxOffset"] == MESSAGES), "{st}");
    let bs = c.admin(&["--output", "json", "brokerStatus"]).ok().json();
    assert_eq!(bs["brokers"].as_array().unwrap().len(), 2, "{bs}");
    c.admin(&["updateSubGroup", "-g", "gsub", "-c", "DefaultCluster"])
        .ok();
    c.admin(&[
        "deleteSubGroup",
        "-g",
        "gsub",
        "-c",
        "DefaultCluster",
        "-r",
        "true",
    ])
    .ok();
    let o = c.admin(&["consumerConnection", "-g", "g1"]).ok();
    assert!(o.stdout.contains("127.0.0.1@admin-test"), "{}", o.stdout);
    let o = c.admin(&["consumerConnection", "-g", "nobody"]).code(1);
    assert!(o.stderr.contains("not online"), "{}", o.stderr);
    let cl = c.admin(&["--output", "json", "clusterList"]).ok().json();
    assert_eq!(cl["brokers"].as_array().unwrap().len(), 2, "{cl}");
    c.admin(&[
        "updateTopic",
        "-t",
        "AdminNew",
        "-c",
        "DefaultCluster",
        "-r",
        "3",
        "-w",
        "3",
    ])
    .ok();
    assert!(poll_until(Duration::from_secs(10), || {
        c.rt.block_on(c.client.route("AdminNew"))
            .map(|r| r.queue_datas.len() == 2)
            .unwrap_or(false)
    }));
    c.admin(&["deleteTopic", "-t", "AdminNew", "-c", "DefaultCluster"])
        .ok();

    // Unknown topic: refused unless intents are allowed.
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--group",
            "g5",
            "--topic",
            "NoSuchTopic",
            "--to-earliest",
        ])
        .code(1);
    assert!(o.stderr.contains("--allow-intents"), "{}", o.stderr);
    c.admin(&[
        "offsets",
        "reset",
        "--group",
        "g5",
        "--topic",
        "NoSuchTopic",
        "--to-earliest",
        "--allow-intents",
        "--execute",
    ])
    .ok();

    // Upstream codes only (as against Apache RocketMQ): the offsets family refuses with a clear
    // message; the mqadmin names use INVOKE_BROKER_TO_RESET_OFFSET, GET_CONSUME_STATS and
    // CLONE_GROUP_OFFSET.
    let o = c
        .admin(&[
            "--no-extensions",
            "offsets",
            "reset",
            "--group",
            "gu",
            "--topic",
            TOPIC,
            "--to-earliest",
        ])
        .code(1);
    one_line_error(&o);
    assert!(
        o.stderr.contains("extensions") && o.stderr.contains("resetOffsetByTime"),
        "{}",
        o.stderr
    );
    c.admin(&[
        "--no-extensions",
        "resetOffsetByTime",
        "-g",
        "gu",
        "-t",
        TOPIC,
        "-s",
        "0",
    ])
    .ok();
    assert_eq!(c.offsets("gu"), vec![Some(0); 4]);
    c.admin(&[
        "--no-extensions",
        "skipAccumulatedMessage",
        "-g",
        "gu",
        "-t",
        TOPIC,
    ])
    .ok();
    assert_eq!(c.offsets("gu"), vec![Some(MESSAGES); 4]);
    let p = c
        .admin(&[
            "--no-extensions",
            "--output",
            "json",
            "consumerProgress",
            "-g",
            "g1",
        ])
        .ok()
        .json();
    assert_eq!(p["queues"].as_array().unwrap().len(), 4, "{p}");
    assert_eq!(p["totalLag"], 4 * MESSAGES, "{p}");
    c.admin(&[
        "--no-extensions",
        "cloneGroupOffset",
        "-s",
        "gu",
        "-d",
        "gu2",
        "-t",
        TOPIC,
    ])
    .ok();
    assert_eq!(c.offsets("gu2"), vec![Some(MESSAGES); 4]);
    drop(c.procs);
}

/// Sends `signal` (STOP or CONT) to a server process.
fn signal(p: &Proc, signal: &str) {
    let pid = p.0.pid().expect("running");
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// A broker that is stopped (SIGSTOP: still registered, connections accepted, no answers) while
/// the command runs: the plan covers the broker that answers, the dry run says the plan is
/// incomplete (exit 3), `--execute` applies on the other broker and reports the failure and the
/// undo command (exit 3); the stopped broker is left as it was.
#[test]
fn a_stopped_broker_is_reported_with_exit_3() {
    let c = Cluster::start();
    c.fill();
    c.commit_all("gp", COMMITTED);
    signal(&c.procs[2], "STOP");
    let reset = |extra: &[&str]| {
        let mut args = vec![
            "--timeout",
            "2s",
            "offsets",
            "reset",
            "--group",
            "gp",
            "--topic",
            TOPIC,
            "--to-earliest",
        ];
        args.extend_from_slice(extra);
        c.admin(&args)
    };
    let dry = reset(&[]).code(3);
    assert!(dry.stderr.contains("plan is incomplete"), "{}", dry.stderr);
    assert!(dry.stderr.contains("broker-b"), "{}", dry.stderr);
    let o = reset(&["--execute"]).code(3);
    assert!(o.stdout.contains("FAILED on broker-b"), "{}", o.stdout);
    assert!(o.stdout.contains("applied on broker-a"), "{}", o.stdout);
    assert!(o.stderr.contains("PARTIALLY APPLIED"), "{}", o.stderr);
    assert!(o.stderr.contains("offsets undo"), "{}", o.stderr);
    signal(&c.procs[2], "CONT");
    for (name, addr) in &c.brokers {
        for q in 0..QUEUES {
            let v =
                c.rt.block_on(c.client.query_offset(addr, "gp", TOPIC, q))
                    .unwrap();
            let want = if name == "broker-a" { 0 } else { COMMITTED };
            assert_eq!(v, Some(want), "{name} queue {q}");
        }
    }
}

/// The issue's scenario with a real client online: a C++ push consumer (PyPI rocketmq 0.4.4)
/// consumes the topic on both brokers, the CLI resets its group backwards, and the consumer
/// replays from the new position on every queue of both brokers.
#[test]
fn a_cli_reset_moves_a_live_cpp_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(common::Client::Cpp, &[]);
}

/// The same with npm ali-ons, reset through mqadmin's single-queue form on each queue of both
/// brokers (`resetOffsetByTime -b -q -o`).
#[test]
fn an_mqadmin_reset_moves_a_live_ali_ons_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(common::Client::Node, &["resetOffsetByTime"]);
}

/// A live consumer of `client` consumes everything, the CLI moves its group back to offset 7 on
/// every queue of both brokers (`offsets reset --to-offset 7`, or with `how` =
/// `["resetOffsetByTime"]` one mqadmin single-queue reset per queue), and the consumer replays
/// offsets 7..9 of every queue.
fn live_consumer_replays_after_a_cli_reset(client: common::Client, how: &[&str]) {
    let c = Cluster::start();
    c.fill();
    let group = "AdminLiveGroup";
    let args = common::strings(&[
        "--namesrv",
        c.namesrv.as_str(),
        "--topic",
        TOPIC,
        "--group",
        group,
        "--timeout",
        "80",
    ]);
    let consumer = common::spawn_client(client, "consumer", &args);
    let total = 2 * QUEUES as usize * MESSAGES as usize;
    let is_msg = |l: &Value| l["event"] == "message";
    consumer.wait_lines(Duration::from_secs(60), "every message once", |lines| {
        lines.iter().filter(|l| is_msg(l)).count() >= total
    });
    let at_end = vec![Some(MESSAGES); 2 * QUEUES as usize];
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group) == at_end),
        "commits reached the end: {:?}",
        c.offsets(group)
    );
    if how.is_empty() {
        c.admin(&[
            "offsets",
            "reset",
            "--group",
            group,
            "--topic",
            TOPIC,
            "--to-offset",
            "7",
            "--execute",
        ])
        .ok();
    } else {
        for (_, addr) in &c.brokers {
            for q in 0..QUEUES {
                let q = q.to_string();
                let mut args = how.to_vec();
                args.extend_from_slice(&[
                    "-g", group, "-t", TOPIC, "-s", "now", "-b", addr, "-q", &q, "-o", "7",
                ]);
                c.admin(&args).ok();
            }
        }
    }
    // Offsets 7..9 of each of the 4 queues come again: 12 more deliveries at offsets ≥ 7.
    consumer.wait_lines(
        Duration::from_secs(60),
        "replay from offset 7 on every queue",
        |lines| {
            lines
                .iter()
                .filter(|l| is_msg(l) && l["queueOffset"].as_i64().is_some_and(|o| o >= 7))
                .count()
                >= 2 * 2 * QUEUES as usize * 3
        },
    );
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group) == at_end),
        "back at the end after the replay: {:?}",
        c.offsets(group)
    );
}

/// mqadmin's flags beyond the basics: single-queue resetOffsetByTime (-b/-q/-o), -c cluster,
/// consumerProgress -s, updateTopic -a, deleteTopic without -c.
#[test]
fn mqadmin_flags_single_queue_cluster_attributes_and_delete() {
    let c = Cluster::start();
    c.fill();
    c.commit_all("gm", COMMITTED);
    let a = c.brokers[0].1.clone();
    c.admin(&[
        "resetOffsetByTime",
        "-g",
        "gm",
        "-t",
        TOPIC,
        "-s",
        "now",
        "-b",
        &a,
        "-q",
        "1",
        "-o",
        "2",
    ])
    .ok();
    let mut want = vec![Some(COMMITTED); (2 * QUEUES) as usize];
    want[1] = Some(2);
    assert_eq!(c.offsets("gm"), want);
    // -q without -b is bad usage; an unknown cluster is an error.
    c.admin(&[
        "resetOffsetByTime",
        "-g",
        "gm",
        "-t",
        TOPIC,
        "-s",
        "now",
        "-q",
        "1",
    ])
    .code(2);
    let o = c
        .admin(&[
            "skipAccumulatedMessage",
            "-g",
            "gm",
            "-t",
            TOPIC,
            "-c",
            "NoSuchCluster",
        ])
        .code(1);
    assert!(o.stderr.contains("NoSuchCluster"), "{}", o.stderr);
    c.admin(&[
        "skipAccumulatedMessage",
        "-g",
        "gm",
        "-t",
        TOPIC,
        "-c",
        "DefaultCluster",
    ])
    .ok();
    assert_eq!(c.offsets("gm"), vec![Some(MESSAGES); (2 * QUEUES) as usize]);
    let o = c
        .admin(&["consumerProgress", "-g", "gm", "-s", "true"])
        .ok();
    assert!(o.stdout.contains(TOPIC), "{}", o.stdout);
    // updateTopic with attributes on every master, then deleteTopic without -c.
    c.admin(&[
        "updateTopic",
        "-t",
        "Attr",
        "-c",
        "DefaultCluster",
        "-r",
        "2",
        "-w",
        "2",
        "-a",
        "+x=1",
    ])
    .ok();
    c.admin(&[
        "updateTopic",
        "-t",
        "Attr",
        "-c",
        "DefaultCluster",
        "-a",
        "x=1",
    ])
    .code(2);
    let routed = poll_until(Duration::from_secs(20), || {
        c.admin(&["topicList"])
            .stdout
            .lines()
            .any(|l| l.trim() == "Attr")
    });
    assert!(routed, "Attr not routed");
    c.admin(&["deleteTopic", "-t", "Attr"]).ok();
    let gone = poll_until(Duration::from_secs(20), || {
        !c.admin(&["topicList"])
            .stdout
            .lines()
            .any(|l| l.trim() == "Attr")
    });
    assert!(gone, "Attr still routed after deleteTopic");
}

/// The confirmation prompt on a real terminal (a pty from `script`): "n" changes nothing and
/// exits 1, "y" applies.
#[test]
fn changing_several_groups_asks_on_a_terminal() {
    let c = Cluster::start();
    c.fill();
    c.commit_all("t1", COMMITTED);
    c.commit_all("t2", COMMITTED);
    let run = |answer: &str| -> (i32, String) {
        let cmd = format!(
            "{} admin -n {} offsets reset --group t1 --group t2 --topic {TOPIC} --to-earliest --execute",
            env!("CARGO_BIN_EXE_ferromq"),
            c.namesrv
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        let mut stdin = child.stdin.take().unwrap();
        thread::sleep(Duration::from_millis(1500));
        std::io::Write::write_all(&mut stdin, answer.as_bytes()).unwrap();
        let start = Instant::now();
        let mut out = wait_out(child, start);
        drop(stdin);
        out.stdout.push_str(&out.stderr);
        (out.code, out.stdout)
    };
    let (code, out) = run("n\n");
    assert!(out.contains("Apply this change to 2 groups?"), "{out}");
    assert!(out.contains("not confirmed"), "{out}");
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        c.offsets("t1"),
        vec![Some(COMMITTED); (2 * QUEUES) as usize]
    );
    let (code, out) = run("y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(c.offsets("t1"), vec![Some(0); (2 * QUEUES) as usize]);
    assert_eq!(c.offsets("t2"), vec![Some(0); (2 * QUEUES) as usize]);
}
