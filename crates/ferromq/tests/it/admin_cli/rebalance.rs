//! Two members of one group on a two-broker cluster (2 queues on each broker): the real clients
//! split the four queues of both brokers between them, each queue owned by one member, and every
//! message is consumed exactly once (the shared scenario checks bodies, tags, keys, offsets).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::admin_cli::fixtures::{Cluster, ALL_QUEUES};
use crate::admin_cli::TOPIC;
use crate::common::scenarios::two_member_group_on;
use crate::common::{field_i64, field_str, Client};

/// (broker address, queue id) of each delivery.
fn queues_of(deliveries: &[Value]) -> BTreeSet<(String, i64)> {
    deliveries
        .iter()
        .map(|m| {
            let host = field_str(m, "storeHost").expect("storeHost in the driver's output");
            (host.to_string(), field_i64(m, "queueId").expect("queueId"))
        })
        .collect()
}

fn two_members_split_both_brokers(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let c = Cluster::start();
    let (a, b) = two_member_group_on(kind, c.namesrv.as_str(), TOPIC);
    let (qa, qb) = (queues_of(&a), queues_of(&b));
    assert!(
        qa.is_disjoint(&qb),
        "{}: a queue had two owners: a {qa:?}, b {qb:?}",
        kind.name()
    );
    let all: BTreeSet<_> = qa.union(&qb).cloned().collect();
    let hosts: BTreeSet<&String> = all.iter().map(|(h, _)| h).collect();
    let brokers: BTreeSet<&str> = c.brokers.iter().map(|(_, addr)| addr.as_str()).collect();
    assert_eq!(
        hosts
            .into_iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        brokers,
        "{}: messages came from both brokers",
        kind.name()
    );
    assert!(
        all.len() <= ALL_QUEUES,
        "{}: more queues than the cluster has: {all:?}",
        kind.name()
    );
}

#[test]
fn java4_members_split_the_queues_of_both_brokers() {
    two_members_split_both_brokers(Client::Java4);
}

#[test]
fn java5_members_split_the_queues_of_both_brokers() {
    two_members_split_both_brokers(Client::Java5);
}

#[test]
fn go_members_split_the_queues_of_both_brokers() {
    two_members_split_both_brokers(Client::Go);
}
