//! `offsets describe`: lag per queue over both brokers, and the group's online members.

use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData};

use crate::admin_cli::fixtures::Cluster;
use crate::admin_cli::{MESSAGES, TOPIC};

/// The client id of the member that [`heartbeat`] brings online.
pub const MEMBER: &str = "127.0.0.1@admin-test";

/// A consumer of `group` (client id [`MEMBER`]) online on both brokers: a heartbeat on the
/// cluster client's connections, which stay open.
pub fn heartbeat(c: &Cluster, group: &str) {
    c.rt.block_on(async {
        let hb = HeartbeatData {
            client_id: MEMBER.into(),
            consumer_data_set: vec![ConsumerData {
                group_name: group.into(),
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
}

/// Lag per queue (10 − 8) over both brokers; an online member (a heartbeat on a connection that
/// stays open) shows, as JSON and in the table. Expects g1 at 8 everywhere; leaves g1 online.
pub fn lag_and_an_online_member(c: &Cluster) {
    let d = c.admin_json(&["offsets", "describe", "--group", "g1"]);
    assert_eq!(d["totalLag"], 4 * (MESSAGES - 8), "{d}");
    assert_eq!(d["queues"].as_array().unwrap().len(), 4);
    heartbeat(c, "g1");
    let d = c.admin_json(&["offsets", "describe", "--group", "g1"]);
    assert_eq!(d["onlineClients"].as_array().map(Vec::len), Some(1), "{d}");
    let t = c.admin(&["offsets", "describe", "--group", "g1"]).ok();
    assert!(
        t.stdout.contains("LAG-TIME") && t.stdout.contains("total lag 8"),
        "{}",
        t.stdout
    );
}
