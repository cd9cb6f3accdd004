//! Topics, groups, runtime info and the name server: UPDATE_AND_CREATE_TOPIC (17),
//! GET_ALL_TOPIC_CONFIG (21), DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202),
//! GET_BROKER_RUNTIME_INFO (28), subscription groups (200/201/207/352),
//! GET_CONSUMER_CONNECTION_LIST (203), REGISTER_BROKER/GET_ROUTEINFO_BY_TOPIC/
//! GET_BROKER_CLUSTER_INFO (103/105/106) across two brokers, and unknown codes.

use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::body::{
    self, ClusterInfo, KvTable, SubscriptionGroupConfig, TopicConfig, TopicConfigWrapper,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::{eventually, Cluster};

#[tokio::test]
async fn topics_across_two_brokers() {
    let c = Cluster::start(2).await;
    let client = c.client();
    for i in 0..2 {
        client
            .create_topic(&c.broker_addr(i), &TopicConfig::new("Spread", 3))
            .await
            .unwrap();
    }
    // Both brokers re-register at once after the change; the route spans them, in 5.x JSON.
    let route = eventually(Duration::from_secs(10), "route on both brokers", || async {
        client
            .route("Spread")
            .await
            .ok()
            .filter(|r| r.broker_datas.len() == 2)
    })
    .await;
    assert!(route
        .queue_datas
        .iter()
        .all(|q| q.read_queue_nums == 3 && q.perm == 6));
    let raw = client
        .remoting
        .invoke(&c.namesrv_addr, ferromq_client::requests::route("Spread"))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw.body).expect("standard JSON");
    for key in ["brokerDatas", "queueDatas", "filterServerTable"] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert!(v["brokerDatas"][0]["brokerAddrs"]["0"].is_string());
    assert_eq!(v["brokerDatas"][0]["enableActingMaster"], false);
    assert!(v["queueDatas"][0]["topicSysFlag"].is_number());

    let info = client
        .remoting
        .invoke(
            &c.namesrv_addr,
            RemotingCommand::request(rq::GET_BROKER_CLUSTER_INFO),
        )
        .await
        .unwrap();
    let info: ClusterInfo = body::parse(&info.body).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);

    // GET_ALL_TOPIC_CONFIG and deletion from one broker.
    let all = client
        .remoting
        .invoke(
            &c.broker_addr(1),
            RemotingCommand::request(rq::GET_ALL_TOPIC_CONFIG),
        )
        .await
        .unwrap();
    let wrapper: TopicConfigWrapper = body::parse(&all.body).unwrap();
    assert_eq!(wrapper.topic_config_table["Spread"].write_queue_nums, 3);
    client
        .update_offset(&c.broker_addr(1), "G", "Spread", 0, 0)
        .await
        .unwrap();
    let del = RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", "Spread");
    client
        .remoting
        .invoke(&c.broker_addr(1), del)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "route shrinks to one broker",
        || async {
            client
                .route("Spread")
                .await
                .ok()
                .filter(|r| r.broker_datas.len() == 1)
        },
    )
    .await;
    let all = client
        .remoting
        .invoke(
            &c.broker_addr(1),
            RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET),
        )
        .await;
    assert!(
        all.is_err() || !String::from_utf8_lossy(&all.unwrap().body).contains("Spread@G"),
        "offsets cleaned with the topic"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn stats_runtime_groups_and_connections() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("TS", 2))
        .await
        .unwrap();
    client
        .send(&addr, "P", "TS", 1, Bytes::from_static(b"x"), "")
        .await
        .unwrap();
    let stats = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_TOPIC_STATS_INFO).with_ext("topic", "TS"),
        )
        .await
        .unwrap();
    let v: serde_json::Value = ferromq_protocol::json::from_slice(&stats.body).unwrap();
    let table = body::read_mq_map(&v["offsetTable"]);
    assert_eq!(table.len(), 2);
    let q1 = table.iter().find(|(mq, _)| mq.queue_id == 1).unwrap();
    assert_eq!(q1.1["maxOffset"], 1);

    let rt = client
        .remoting
        .invoke(&addr, RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO))
        .await
        .unwrap();
    let kv: KvTable = body::parse(&rt.body).unwrap();
    assert_eq!(kv.table["msgPutTotalTodayNow"], "1");
    assert!(kv.table["brokerVersionDesc"].starts_with("ferromq"));

    let mut g = SubscriptionGroupConfig::new("AdminGroup");
    g.retry_max_times = 3;
    client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(body::to_vec(&g)),
        )
        .await
        .unwrap();
    let one = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_SUBSCRIPTIONGROUP_CONFIG)
                .with_ext("group", "AdminGroup"),
        )
        .await
        .unwrap();
    assert_eq!(
        body::parse::<SubscriptionGroupConfig>(&one.body)
            .unwrap()
            .retry_max_times,
        3
    );
    let all = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&all.body).contains("AdminGroup"));
    let del = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
        .with_ext("groupName", "AdminGroup")
        .with_ext("cleanOffset", true);
    client.remoting.invoke(&addr, del).await.unwrap();
    let gone = client
        .remoting
        .invoke_raw(
            &addr,
            RemotingCommand::request(rq::GET_SUBSCRIPTIONGROUP_CONFIG)
                .with_ext("group", "AdminGroup"),
        )
        .await
        .unwrap();
    assert_eq!(gone.code, rs::SUBSCRIPTION_GROUP_NOT_EXIST);
    let bad = SubscriptionGroupConfig::new("bad group!");
    let r = client
        .remoting
        .invoke_raw(
            &addr,
            RemotingCommand::request(rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(body::to_vec(&bad)),
        )
        .await
        .unwrap();
    assert_eq!(r.code, rs::INVALID_PARAMETER);

    let conns = client
        .remoting
        .invoke_raw(
            &addr,
            RemotingCommand::request(rq::GET_CONSUMER_CONNECTION_LIST)
                .with_ext("consumerGroup", "Nobody"),
        )
        .await
        .unwrap();
    assert_eq!(conns.code, rs::CONSUMER_NOT_ONLINE);
    c.shutdown().await;
}

#[tokio::test]
async fn unknown_codes_are_not_supported() {
    let c = Cluster::start(1).await;
    let client = c.client();
    for addr in [c.broker_addr(0), c.namesrv_addr.clone()] {
        let r = client
            .remoting
            .invoke_raw(&addr, RemotingCommand::request(4242))
            .await
            .unwrap();
        assert_eq!(r.code, rs::REQUEST_CODE_NOT_SUPPORTED);
        assert!(r.remark.unwrap().contains("4242"));
    }
    c.shutdown().await;
}

#[tokio::test]
async fn no_auto_created_routes_when_brokers_forbid_it() {
    let c = Cluster::start_with(1, |cfg| cfg.auto_create_topic = false).await;
    let client = c.client();
    let e = client.route("NeverCreated").await.unwrap_err();
    assert!(matches!(e, ferromq_client::ClientError::NoRoute(_)), "{e}");
    let sent = client
        .send(
            &c.broker_addr(0),
            "P",
            "NeverCreated",
            0,
            Bytes::from_static(b"x"),
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(sent.code(), Some(rs::TOPIC_NOT_EXIST));
    c.shutdown().await;
}

#[tokio::test]
async fn a_broker_registers_with_every_name_server() {
    use ferromq_namesrv::{NameServer, NamesrvConfig};
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let cfg = NamesrvConfig {
            listen: "127.0.0.1:0".into(),
            ..NamesrvConfig::default()
        };
        addrs.push(
            NameServer::start(cfg, shutdown.clone())
                .await
                .unwrap()
                .local_addr
                .to_string(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = ferromq_broker::BrokerConfig {
        port: 0,
        fast_port: 0,
        namesrv: addrs.join(";"),
        data_dir: dir.path().to_path_buf(),
        segment_size: 16 * 1024 * 1024,
        ..ferromq_broker::BrokerConfig::default()
    };
    let mut broker = ferromq_broker::Broker::start(cfg).await.unwrap();
    broker
        .wait_registered(Duration::from_secs(10))
        .await
        .unwrap();
    let baddr = broker.addr.to_string();
    for ns in &addrs {
        let client = ferromq_client::MqClient::new(ns, Duration::from_secs(5));
        client
            .create_topic(&baddr, &TopicConfig::new("Everywhere", 2))
            .await
            .unwrap();
        let route = eventually(
            Duration::from_secs(10),
            "route on this name server",
            || async {
                client
                    .route("Everywhere")
                    .await
                    .ok()
                    .filter(|r| r.queue_datas.iter().any(|q| q.read_queue_nums == 2))
            },
        )
        .await;
        assert_eq!(route.broker_datas[0].master_addr(), Some(baddr.as_str()));
    }
    broker.stop().await.unwrap();
    // A stopped broker unregisters: routes disappear from both name servers.
    for ns in &addrs {
        let client = ferromq_client::MqClient::new(ns, Duration::from_secs(5));
        eventually(Duration::from_secs(10), "route gone", || async {
            client.route("Everywhere").await.is_err().then_some(())
        })
        .await;
    }
    shutdown.cancel();
}
