//! Compatibility with the Apache RocketMQ C++ client (rocketmq-client-cpp, driven through PyPI
//! `rocketmq==0.4.4`): the scripts under `compat/cpp/` run against a real `ferromq standalone`.
//! Needs `compat/setup.sh` to have been run once. See `common/scenarios.rs` for what each test
//! checks and which broker behaviour it relies on.

use crate::common;

use common::{scenarios, Client};

#[test]
fn cpp_two_member_group_consumes_each_message_once() {
    scenarios::two_member_group(Client::Cpp);
}

#[test]
fn cpp_failed_message_comes_back_through_retry_topic() {
    scenarios::retry_after_failure(Client::Cpp);
}

#[test]
fn cpp_orderly_consumer_keeps_per_key_order() {
    scenarios::ordered_per_key(Client::Cpp);
}

#[test]
fn cpp_tag_filter() {
    scenarios::tag_filter(Client::Cpp);
}
