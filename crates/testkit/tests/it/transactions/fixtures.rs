//! What the transaction tests share: a one-topic setup, half messages, END_TRANSACTION
//! requests, the delivered bodies, a registered producer and its check-back inbox.

pub(crate) use std::time::Duration;

pub(crate) use bytes::Bytes;
pub(crate) use ferromq_broker::BrokerConfig;
pub(crate) use ferromq_client::requests::{self, Pull};
pub(crate) use ferromq_client::MqClient;
pub(crate) use ferromq_protocol::body::TopicConfig;
pub(crate) use ferromq_protocol::codes::{request as rq, response as rs};
pub(crate) use ferromq_protocol::message::{
    decode_offset_msg_id, decode_record, encode_properties, find_property, BatchItem, Properties,
};
pub(crate) use ferromq_protocol::transaction::{
    CheckTransactionStateHeader, EndTransactionHeader, TxOutcome, HALF_TOPIC,
};
pub(crate) use ferromq_protocol::RemotingCommand;
pub(crate) use ferromq_testkit::{eventually, Cluster};
pub(crate) use tokio::sync::broadcast;

pub(crate) const TOPIC: &str = "TX";
pub(crate) const GROUP: &str = "PG";

/// Fast check-backs: scan every 100 ms, ask after 300 ms, at most 3 times.
pub(crate) fn fast_checks(c: &mut BrokerConfig) {
    c.transaction_check_interval_ms = 100;
    c.transaction_timeout_ms = 300;
    c.transaction_check_max = 3;
}

/// Where a half message was stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Half {
    pub offset: i64,
    pub phys: i64,
}

pub(crate) fn half_props(uniq: &str) -> String {
    let mut p = Properties::new();
    p.insert("TRAN_MSG".into(), "true".into());
    p.insert("PGROUP".into(), GROUP.into());
    p.insert("UNIQ_KEY".into(), uniq.into());
    encode_properties(&p)
}

pub(crate) async fn setup(c: &Cluster) -> (MqClient, String) {
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new(TOPIC, 1))
        .await
        .unwrap();
    (client, addr)
}

pub(crate) async fn send_half(client: &MqClient, addr: &str, body: &str) -> Half {
    let mut req = requests::send_v2(
        GROUP,
        TOPIC,
        0,
        Bytes::from(body.to_string()),
        &half_props(body),
    );
    req.put_ext("f", 4); // TRANSACTION_PREPARED_TYPE, as the Java producer sets it
    let r = client.remoting.invoke(addr, req).await.unwrap();
    assert_eq!(r.ext("queueId"), Some("0"), "the real queue id is reported");
    assert_eq!(
        r.ext("transactionId"),
        Some(body),
        "transactionId = UNIQ_KEY"
    );
    let (_, phys) = decode_offset_msg_id(r.ext("msgId").unwrap()).unwrap();
    Half {
        offset: r.ext("queueOffset").unwrap().parse().unwrap(),
        phys,
    }
}

pub(crate) fn end_tx(h: Half, group: &str, outcome: i32, from_check: bool) -> RemotingCommand {
    EndTransactionHeader {
        producer_group: group.into(),
        tran_state_table_offset: h.offset,
        commit_log_offset: h.phys,
        commit_or_rollback: outcome,
        from_transaction_check: from_check,
        msg_id: None,
        transaction_id: None,
    }
    .to_request()
}

pub(crate) async fn end(
    client: &MqClient,
    addr: &str,
    h: Half,
    outcome: TxOutcome,
) -> RemotingCommand {
    let req = end_tx(h, GROUP, outcome.code(), false);
    client.remoting.invoke_raw(addr, req).await.unwrap()
}

/// Every body in the real topic, in order.
pub(crate) async fn delivered(client: &MqClient, addr: &str) -> Vec<String> {
    let p = Pull {
        group: "C",
        topic: TOPIC,
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let r = client.pull(addr, &p).await.unwrap();
    r.messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

/// Registers `client`'s connection as a producer of [`GROUP`].
pub(crate) async fn register_producer(client: &MqClient, addr: &str) {
    let body = format!(
        r#"{{"clientID":"tx-producer","consumerDataSet":[],"producerDataSet":[{{"groupName":"{GROUP}"}}]}}"#
    );
    let hb = RemotingCommand::request(rq::HEART_BEAT).with_body(body.into_bytes());
    client.remoting.invoke(addr, hb).await.unwrap();
}

/// The next check-back received, within `wait`.
pub(crate) async fn next_check(
    inbox: &mut broadcast::Receiver<RemotingCommand>,
    wait: Duration,
) -> Option<RemotingCommand> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, inbox.recv()).await {
            Ok(Ok(cmd)) if cmd.code == rq::CHECK_TRANSACTION_STATE => return Some(cmd),
            Ok(Ok(_)) => continue,
            _ => return None,
        }
    }
}

pub(crate) fn pending(c: &Cluster) -> usize {
    c.brokers[0]
        .as_ref()
        .unwrap()
        .broker
        .transactions
        .pending_count()
}
