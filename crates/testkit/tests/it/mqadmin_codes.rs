//! What mqadmin's `clusterList`, `getBrokerConfig`, `updateBrokerConfig` and
//! `producerConnection` need from a broker: GET_BROKER_RUNTIME_INFO (28) with the rates and
//! disk figures, GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG (25) and
//! GET_PRODUCER_CONNECTION_LIST (204), and the consume rates of GET_CONSUME_STATS (208) and
//! GET_BROKER_CONSUME_STATS (317).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests::Pull;
use ferromq_protocol::body::{
    self, encode_properties_text, parse_properties_text, DataVersion, HeartbeatData, KvTable,
    ProducerConnection, ProducerData,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::{eventually, Cluster};

async fn runtime_info(c: &Cluster, client: &ferromq_client::MqClient) -> BTreeMap<String, String> {
    let r = client
        .remoting
        .invoke(
            &c.broker_addr(0),
            RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO),
        )
        .await
        .unwrap();
    body::parse::<KvTable>(&r.body)
        .unwrap()
        .table
        .into_iter()
        .collect()
}

/// Three rates, `"a.aa b.bb c.cc"`, as mqadmin splits and parses them.
fn rates(kv: &BTreeMap<String, String>, key: &str) -> [f64; 3] {
    let v = kv.get(key).unwrap_or_else(|| panic!("{key} missing"));
    let parts: Vec<&str> = v.split(' ').collect();
    assert_eq!(parts.len(), 3, "{key} = {v:?}");
    let mut out = [0.0; 3];
    for (i, p) in parts.iter().enumerate() {
        let (_, decimals) = p.split_once('.').unwrap_or_else(|| panic!("{key} = {v:?}"));
        assert_eq!(decimals.len(), 2, "{key} = {v:?}");
        out[i] = p.parse().unwrap_or_else(|_| panic!("{key} = {v:?}"));
        assert!(out[i] >= 0.0, "{key} = {v:?}");
    }
    out
}

#[tokio::test]
async fn runtime_info_has_rates_and_disk_figures() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);

    let kv = runtime_info(&c, &client).await;
    for key in [
        "sendThreadPoolQueueSize",
        "sendThreadPoolQueueCapacity",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueSize",
        "pullThreadPoolQueueCapacity",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "msgPutTotalTodayMorning",
        "msgGetTotalYesterdayMorning",
        "pageCacheLockTimeMills",
        "brokerVersionDesc",
    ] {
        assert!(kv.contains_key(key), "{key} missing: {kv:?}");
        if key.contains("ThreadPool") {
            kv[key].parse::<u64>().unwrap();
        }
    }
    assert_eq!(rates(&kv, "putTps"), [0.0; 3]);
    assert_eq!(rates(&kv, "getTransferedTps"), [0.0; 3]);
    assert_eq!(kv["earliestMessageTimeStamp"], "-1", "nothing stored yet");
    let ratio: f64 = kv["commitLogDiskRatio"].parse().unwrap();
    assert!((0.0..=1.0).contains(&ratio), "commitLogDiskRatio = {ratio}");

    let before = ferromq_protocol::time::now_ms();
    for i in 0..20 {
        client
            .send(&addr, "P", "Rates", 0, Bytes::from(format!("m{i}")), "")
            .await
            .unwrap();
    }
    let p = Pull {
        group: "G",
        topic: "Rates",
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let pulled = client.pull(&addr, &p).await.unwrap();
    assert_eq!(pulled.messages.len(), 20);

    let kv = runtime_info(&c, &client).await;
    let put = rates(&kv, "putTps");
    let get = rates(&kv, "getTransferedTps");
    assert!(put.iter().all(|r| *r > 0.0), "putTps = {put:?}");
    assert!(get.iter().all(|r| *r > 0.0), "getTransferedTps = {get:?}");
    // 20 messages in a broker at most a few seconds old, each rate over at least 1 s.
    assert!(put.iter().all(|r| *r <= 20.0), "putTps = {put:?}");
    // The group's own pull rate (consumeTps), per group and for the whole broker: G committed
    // nothing, so its lag is all 20 messages.
    client
        .update_offset(&addr, "G", "Rates", 0, 0)
        .await
        .unwrap();
    let stats = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_CONSUME_STATS)
                .with_ext("consumerGroup", "G")
                .with_ext("topic", "Rates"),
        )
        .await
        .unwrap();
    let v: serde_json::Value = body::parse(&stats.body).unwrap();
    let tps = v["consumeTps"].as_f64().unwrap();
    assert!(tps > 0.0 && tps <= 20.0, "consumeTps = {tps}: {v}");
    let all = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_BROKER_CONSUME_STATS).with_ext("isOrder", "false"),
        )
        .await
        .unwrap();
    let v: serde_json::Value = body::parse(&all.body).unwrap();
    assert_eq!(v["totalDiff"], 20, "{v}");
    assert!(
        v["consumeStatsList"][0]["G"][0]["consumeTps"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{v}"
    );
    assert_eq!(v["brokerAddr"], addr.as_str(), "{v}");
    let earliest: i64 = kv["earliestMessageTimeStamp"].parse().unwrap();
    assert!(
        earliest >= before - 1000 && earliest <= ferromq_protocol::time::now_ms(),
        "earliestMessageTimeStamp = {earliest}, sent from {before}"
    );

    // With nothing more sent, the 10-second rate falls back to zero (sampled once a second).
    eventually(Duration::from_secs(20), "putTps[10s] back to 0", || {
        let (c, client) = (&c, &client);
        async move {
            let kv = runtime_info(c, client).await;
            (rates(&kv, "putTps")[0] == 0.0).then_some(())
        }
    })
    .await;
    let kv = runtime_info(&c, &client).await;
    assert!(
        rates(&kv, "putTps")[1] > 0.0,
        "the 60 s rate still counts them"
    );
    c.shutdown().await;
}

async fn get_config(
    client: &ferromq_client::MqClient,
    addr: &str,
) -> (BTreeMap<String, String>, DataVersion) {
    let r = client
        .remoting
        .invoke(addr, RemotingCommand::request(rq::GET_BROKER_CONFIG))
        .await
        .unwrap();
    let text = std::str::from_utf8(&r.body).unwrap();
    let version: DataVersion = body::parse(r.ext("version").unwrap().as_bytes()).unwrap();
    (parse_properties_text(text).into_iter().collect(), version)
}

async fn update_config(
    client: &ferromq_client::MqClient,
    addr: &str,
    entries: &[(&str, &str)],
) -> RemotingCommand {
    client
        .remoting
        .invoke_raw(
            addr,
            RemotingCommand::request(rq::UPDATE_BROKER_CONFIG)
                .with_body(encode_properties_text(entries.iter().copied()).into_bytes()),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn broker_config_is_read_and_updated_at_run_time() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);

    let (props, v0) = get_config(&client, &addr).await;
    assert_eq!(props["brokerName"], "broker-0");
    assert_eq!(props["brokerClusterName"], "DefaultCluster");
    assert_eq!(props["brokerId"], "0");
    assert_eq!(props["flushDiskType"], "ASYNC_FLUSH");
    assert_eq!(props["autoCreateTopicEnable"], "true");
    assert_eq!(props["maxMessageSize"], (4 * 1024 * 1024).to_string());
    assert_eq!(props["listenPort"], addr.rsplit(':').next().unwrap());
    assert_eq!(
        props["storePathRootDir"],
        c.data_dir(0).to_string_lossy().as_ref()
    );
    // ferromq's own settings under their own names.
    assert!(props.contains_key("max-held-pulls"), "{props:?}");
    assert_eq!(v0.counter, 0);
    assert!(v0.timestamp > 0);

    // Auto-creation off: visible in the next read, and a send to a new topic is refused.
    let r = update_config(&client, &addr, &[("autoCreateTopicEnable", "false")]).await;
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    let (props, v1) = get_config(&client, &addr).await;
    assert_eq!(props["autoCreateTopicEnable"], "false");
    assert_eq!(v1.counter, 1);
    let err = client
        .send(&addr, "P", "NewTopic", -1, Bytes::from_static(b"x"), "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(rs::TOPIC_NOT_EXIST), "{err}");
    // A queue count needs the template, which is gone while auto-creation is off.
    let r = update_config(&client, &addr, &[("defaultTopicQueueNums", "4")]).await;
    assert_eq!(r.code, rs::INVALID_PARAMETER);

    // Back on, with another queue count (either naming works); new topics get created again.
    let r = update_config(
        &client,
        &addr,
        &[
            ("auto-create-topic", "true"),
            ("defaultTopicQueueNums", "4"),
        ],
    )
    .await;
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    let (props, v2) = get_config(&client, &addr).await;
    assert_eq!(props["autoCreateTopicEnable"], "true");
    assert_eq!(props["defaultTopicQueueNums"], "4");
    assert_eq!(v2.counter, 2);
    client
        .send(&addr, "P", "NewTopic", -1, Bytes::from_static(b"x"), "")
        .await
        .unwrap();

    // A setting that cannot change at run time, or an unknown one, is refused by name and
    // nothing in the same request is applied.
    for (key, value) in [
        ("maxMessageSize", "1024"),
        ("brokerName", "renamed"),
        ("noSuchSetting", "1"),
    ] {
        let r = update_config(
            &client,
            &addr,
            &[("autoCreateTopicEnable", "false"), (key, value)],
        )
        .await;
        assert_eq!(r.code, rs::INVALID_PARAMETER, "{key}");
        assert!(r.remark.as_deref().unwrap_or("").contains(key), "{r:?}");
    }
    let r = update_config(&client, &addr, &[("autoCreateTopicEnable", "maybe")]).await;
    assert_eq!(r.code, rs::INVALID_PARAMETER);
    let (props, v3) = get_config(&client, &addr).await;
    assert_eq!(props["autoCreateTopicEnable"], "true");
    assert_eq!(props["maxMessageSize"], (4 * 1024 * 1024).to_string());
    assert_eq!(v3.counter, 2);

    // Sending back what GET_BROKER_CONFIG answered changes nothing and is accepted.
    let all: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = update_config(&client, &addr, &all).await;
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    assert_eq!(get_config(&client, &addr).await.1.counter, 2);
    c.shutdown().await;
}

#[tokio::test]
async fn producer_connections_are_listed_by_group() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    let list = |group: &str| {
        RemotingCommand::request(rq::GET_PRODUCER_CONNECTION_LIST).with_ext("producerGroup", group)
    };

    let r = client.remoting.invoke_raw(&addr, list("PG")).await.unwrap();
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("the producer group[PG] not exist")
    );

    let hb = HeartbeatData {
        client_id: "127.0.0.1@producer-1".into(),
        producer_data_set: vec![ProducerData {
            group_name: "PG".into(),
        }],
        ..HeartbeatData::default()
    };
    client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::HEART_BEAT).with_body(body::to_vec(&hb)),
        )
        .await
        .unwrap();
    let r = client.remoting.invoke(&addr, list("PG")).await.unwrap();
    let pc: ProducerConnection = body::parse(&r.body).unwrap();
    assert_eq!(pc.connection_set.len(), 1, "{pc:?}");
    let conn = &pc.connection_set[0];
    let local = client
        .remoting
        .connection(&addr)
        .await
        .unwrap()
        .local_addr();
    assert_eq!(conn.client_id, "127.0.0.1@producer-1");
    assert_eq!(conn.client_addr, local.to_string());
    assert_eq!(conn.language, "JAVA");
    assert_eq!(conn.version, ferromq_protocol::command::FERROMQ_VERSION);
    // Standard JSON, as mqadmin reads it.
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    for key in ["clientAddr", "clientId", "language", "version"] {
        assert!(v["connectionSet"][0].get(key).is_some(), "{key}: {v}");
    }

    // Another group is still unknown; unregistering the producer empties the group.
    let r = client
        .remoting
        .invoke_raw(&addr, list("Other"))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::UNREGISTER_CLIENT)
                .with_ext("clientID", "127.0.0.1@producer-1")
                .with_ext("producerGroup", "PG"),
        )
        .await
        .unwrap();
    let r = client.remoting.invoke_raw(&addr, list("PG")).await.unwrap();
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    c.shutdown().await;
}
