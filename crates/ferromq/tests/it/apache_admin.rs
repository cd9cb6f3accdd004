//! `ferromq admin` against a real Apache RocketMQ 5.5.0 broker: every mqadmin-named command
//! has the effect mqadmin's own has (the same offsets after resetOffsetByTime,
//! skipAccumulatedMessage and cloneGroupOffset run by both on twin groups); the `offsets`
//! family does what upstream codes allow (describe, export, reset by offset and by time) and
//! refuses the rest with a clear message.

use crate::common;

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::apache::Apache;
use common::{client_args, mqadmin_ok, run_admin, spawn_client, Client, SyncClient};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::Value;

const TOPIC: &str = "AdmOrders";
const QUEUES: i32 = 4;

struct Admin {
    namesrv: String,
}

impl Admin {
    fn run(&self, args: &[&str]) -> (i32, String) {
        let (code, out, err) = run_admin(&self.namesrv, args);
        (code, out + &err)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, text) = self.run(args);
        assert_eq!(code, 0, "ferromq admin {args:?}: {text}");
        text
    }
}

fn offsets(c: &SyncClient, group: &str) -> Vec<i64> {
    c.query_queues(group, TOPIC, QUEUES)
        .into_iter()
        .map(|o| o.unwrap_or(-1))
        .collect()
}

#[test]
fn ferromq_admin_on_an_apache_broker_matches_mqadmin() {
    let java = Client::Java5;
    java.check_installed().expect("run compat/setup.sh first");
    let apache = Apache::start("broker-a");
    let broker = apache.broker.addr.clone();
    let admin = Admin {
        namesrv: apache.namesrv.addr.clone(),
    };
    let c = SyncClient::connect(&apache.namesrv.addr, &broker);

    // Topic and twin groups: ferromq admin for one of each pair, mqadmin for the other.
    let q = QUEUES.to_string();
    admin.ok(&[
        "updateTopic",
        "-c",
        "DefaultCluster",
        "-t",
        TOPIC,
        "-r",
        &q,
        "-w",
        &q,
    ]);
    assert!(c.wait_routed(TOPIC, Duration::from_secs(40)), "routed");
    for g in ["FerroG", "FerroSrc", "FerroDst", "FerroGone"] {
        admin.ok(&["updateSubGroup", "-b", &broker, "-g", g]);
    }
    for g in ["MqG", "MqDst", "MqGone"] {
        mqadmin_ok(java, &apache, &["updateSubGroup", "-b", &broker, "-g", g]);
    }
    // Five messages per queue, a time, five more.
    let send_round = |round: usize| {
        for q in 0..QUEUES {
            for i in 0..5 {
                c.send("adm_producer", TOPIC, q, format!("r{round}-q{q}-{i}"));
            }
        }
    };
    send_round(0);
    thread::sleep(Duration::from_millis(1100));
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    thread::sleep(Duration::from_millis(1100));
    send_round(1);

    // resetOffsetByTime: both tools land on the first message after the time.
    admin.ok(&["resetOffsetByTime", "-g", "FerroG", "-t", TOPIC, "-s", &ts]);
    mqadmin_ok(
        java,
        &apache,
        &["resetOffsetByTime", "-g", "MqG", "-t", TOPIC, "-s", &ts],
    );
    assert_eq!(offsets(&c, "FerroG"), vec![5; 4]);
    assert_eq!(offsets(&c, "MqG"), offsets(&c, "FerroG"));

    // skipAccumulatedMessage: both at the end.
    admin.ok(&["skipAccumulatedMessage", "-g", "FerroG", "-t", TOPIC]);
    mqadmin_ok(
        java,
        &apache,
        &["skipAccumulatedMessage", "-g", "MqG", "-t", TOPIC],
    );
    assert_eq!(offsets(&c, "FerroG"), vec![10; 4]);
    assert_eq!(offsets(&c, "MqG"), offsets(&c, "FerroG"));

    // cloneGroupOffset: the source's offsets, exactly.
    for (q, o) in [1, 2, 3, 4].into_iter().enumerate() {
        c.commit("FerroSrc", TOPIC, q as i32, o);
    }
    // mqadmin's clone reads the source's retry topic too (a group that was online has one).
    admin.ok(&[
        "updateTopic",
        "-c",
        "DefaultCluster",
        "-t",
        "%RETRY%FerroSrc",
        "-r",
        "1",
        "-w",
        "1",
    ]);
    assert!(c.wait_routed("%RETRY%FerroSrc", Duration::from_secs(40)));
    admin.ok(&[
        "cloneGroupOffset",
        "-s",
        "FerroSrc",
        "-d",
        "FerroDst",
        "-t",
        TOPIC,
    ]);
    mqadmin_ok(
        java,
        &apache,
        &[
            "cloneGroupOffset",
            "-s",
            "FerroSrc",
            "-d",
            "MqDst",
            "-t",
            TOPIC,
        ],
    );
    assert_eq!(offsets(&c, "FerroDst"), vec![1, 2, 3, 4]);
    assert_eq!(offsets(&c, "MqDst"), offsets(&c, "FerroDst"));

    // The offsets family with upstream codes: a dry run changes nothing, --execute applies.
    let plan = admin.ok(&[
        "offsets",
        "reset",
        "--group",
        "FerroG",
        "--topic",
        TOPIC,
        "--to-offset",
        "3",
    ]);
    assert!(plan.contains("dry run"), "{plan}");
    assert_eq!(offsets(&c, "FerroG"), vec![10; 4]);
    admin.ok(&[
        "offsets",
        "reset",
        "--group",
        "FerroG",
        "--topic",
        &format!("{TOPIC}:0,1"),
        "--to-offset",
        "3",
        "--execute",
    ]);
    assert_eq!(offsets(&c, "FerroG"), vec![3, 3, 10, 10]);
    admin.ok(&[
        "offsets",
        "reset",
        "--group",
        "FerroG",
        "--topic",
        TOPIC,
        "--to-datetime",
        &ts,
        "--execute",
    ]);
    assert_eq!(offsets(&c, "FerroG"), vec![5; 4]);
    let described = admin.ok(&["offsets", "describe", "--group", "FerroG"]);
    assert!(described.contains("total lag 20"), "{described}");
    let export: Value =
        serde_json::from_str(&admin.ok(&["offsets", "export", "--group", "FerroDst"])).unwrap();
    let mut exported: Vec<(i64, i64)> = export["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["queueId"].as_i64().unwrap(),
                r["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    exported.sort();
    assert_eq!(exported, vec![(0, 1), (1, 2), (2, 3), (3, 4)]);
    for cmd in [
        &["offsets", "clone", "--from", "FerroG", "--to", "FerroX"][..],
        &["offsets", "delete", "--group", "FerroG"],
        &["offsets", "history", "--group", "FerroG"],
    ] {
        let (code, text) = admin.run(cmd);
        assert_ne!(code, 0, "{cmd:?} refused: {text}");
        assert!(
            text.contains("needs ferromq's offset extensions"),
            "{cmd:?}: {text}"
        );
    }

    // The cluster and topic commands.
    for (cmd, want) in [
        (&["clusterList"][..], "broker-a"),
        (&["topicList"], TOPIC),
        (&["topicRoute", "-t", TOPIC], "broker-a"),
        (&["topicStatus", "-t", TOPIC], "broker-a"),
        (&["brokerStatus"], "bootTimestamp"),
        (&["consumerProgress", "-g", "FerroG"], TOPIC),
    ] {
        let out = admin.ok(cmd);
        assert!(out.contains(want), "{cmd:?}: {out}");
    }
    let args = client_args(&admin.namesrv, TOPIC, "LiveG", &["--timeout", "60"]);
    let mut live = spawn_client(java, "consumer", &args);
    assert!(
        common::poll_until(Duration::from_secs(30), || admin
            .run(&["consumerConnection", "-g", "LiveG"])
            .1
            .contains("java-consumer-")),
        "consumerConnection lists the live Java consumer"
    );
    live.stop();

    // Deletions: both tools leave the same groups behind (Apache 5.5.0 deletes the group, and
    // re-creates it with default settings when the tool then deletes its retry topic, since
    // autoCreateSubscriptionGroup is on by default); the topic leaves the route.
    let group_config = |g: &str| {
        let r = c
            .block_on(c.client.remoting.invoke(
                &broker,
                RemotingCommand::request(rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            ))
            .expect("subscription groups");
        let v: Value = ferromq_protocol::json::from_slice(&r.body).expect("groups JSON");
        let mut cfg = v["subscriptionGroupTable"][g].clone();
        if let Some(m) = cfg.as_object_mut() {
            m.remove("groupName");
        }
        cfg
    };
    let before = group_config("FerroGone");
    assert_eq!(before, group_config("MqGone"), "the twins start alike");
    admin.ok(&["deleteSubGroup", "-g", "FerroGone", "-b", &broker]);
    mqadmin_ok(
        java,
        &apache,
        &["deleteSubGroup", "-g", "MqGone", "-b", &broker],
    );
    assert_eq!(group_config("FerroGone"), group_config("MqGone"));
    admin.ok(&[
        "updateTopic",
        "-c",
        "DefaultCluster",
        "-t",
        "AdmGone",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    assert!(c.wait_routed("AdmGone", Duration::from_secs(40)));
    admin.ok(&["deleteTopic", "-t", "AdmGone", "-c", "DefaultCluster"]);
    assert!(
        c.block_on(c.client.route("AdmGone")).is_err(),
        "deleteTopic removed the route"
    );
}
