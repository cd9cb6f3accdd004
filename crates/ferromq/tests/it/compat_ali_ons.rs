//! Compatibility with npm `ali-ons@3.12.0` (pure JavaScript RocketMQ remoting client): the scripts
//! under `compat/node/` run against a real `ferromq standalone`. Needs `compat/setup.sh` to have
//! been run once. See `common/scenarios.rs` for what each test checks and which broker behaviour it
//! relies on.
//!
//! ali-ons has no orderly consumer: its push consumer hands the messages of one queue to the
//! handler one at a time in offset order, which is what the ordering test checks.

use crate::common;

use common::{scenarios, Client};

#[test]
fn ali_ons_two_member_group_consumes_each_message_once() {
    scenarios::two_member_group(Client::Node);
}

#[test]
fn ali_ons_failed_message_comes_back_through_retry_topic() {
    scenarios::retry_after_failure(Client::Node);
}

#[test]
fn ali_ons_consumer_keeps_per_key_order() {
    scenarios::ordered_per_key(Client::Node);
}

#[test]
fn ali_ons_tag_filter() {
    scenarios::tag_filter(Client::Node);
}
