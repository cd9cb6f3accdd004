//! Apache RocketMQ's 5.x gRPC clients against a real `ferromq standalone`: Python (PyPI
//! `rocketmq-python-client==5.1.2`), Node.js (npm `rocketmq-client-nodejs@1.0.8`), Java (Maven
//! `rocketmq-client-java` 5.0.8) and Go (`rocketmq-clients/golang/v5` v5.1.4), all installed by
//! `compat/setup.sh` and driven through the same script contract. Each runs its producer,
//! SimpleConsumer and PushConsumer over POP: every message once with its tag, keys and
//! properties, delay messages at their time, transactions (commit, rollback, check-back over
//! Telemetry), redelivery with counted attempts, changed windows, FIFO message groups, and a POP
//! group pre-set before it exists. With Python, also leases and acks across a SIGKILL of the
//! broker and resets of a live POP group (server-side behaviour, the same for every client).
//!
//! Layout: `fixtures.rs` (drivers and offsets), `delivery.rs` (what each client is sent and
//! receives), `progress.rs` (POP groups' offsets: SIGKILL, pre-set, live reset, lag, mirror,
//! online members); the tests themselves are below, one per scenario and client.

use crate::common;
mod delivery;
mod fixtures;
mod progress;

use common::Client;
use delivery::*;
use progress::*;

/// One test per scenario and client (each on its own server). The Go push consumer does not keep
/// a message group's order when the listener fails (its FIFO retry runs beside the next
/// messages), so its FIFO run has no failures; SIGKILL and reset are server-side behaviour and
/// run with Python.
macro_rules! grpc_client_tests {
    ($module:ident, $kind:expr, fifo_fails: $fifo_fails:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn send_and_simple_consume_each_once() {
                send_and_simple_consume_each_once_with_tag_keys_and_properties($kind);
            }

            #[test]
            fn unacked_and_rewindowed_messages_come_back() {
                unacked_and_rewindowed_messages_come_back_counted($kind);
            }

            #[test]
            fn push_consumer_retries() {
                push_consumer_retries_failed_messages($kind);
            }

            #[test]
            fn fifo_message_groups_in_order() {
                fifo_groups_in_order($kind, $fifo_fails);
            }

            #[test]
            fn transactions_commit_rollback_and_check_back() {
                delivery::transactions_commit_rollback_and_check_back($kind);
            }

            #[test]
            fn preset_pop_group_starts_there() {
                pop_group_preset_before_it_exists_starts_there($kind);
            }
        }
    };
}

grpc_client_tests!(python, Client::GrpcPy, fifo_fails: true);
grpc_client_tests!(node, Client::GrpcNode, fifo_fails: true);
grpc_client_tests!(java, Client::GrpcJava, fifo_fails: true);
grpc_client_tests!(go, Client::GrpcGo, fifo_fails: false);

#[test]
fn node_recalled_delay_message_is_never_delivered() {
    delivery::recalled_delay_message_is_never_delivered(Client::GrpcNode);
}

#[test]
fn python_pop_leases_and_acks_survive_sigkill() {
    pop_leases_and_acks_survive_sigkill(Client::GrpcPy, &[]);
}

/// Sync flush: each answer waits for the POP journal's group commit.
#[test]
fn go_pop_leases_and_acks_survive_sigkill_with_sync_flush() {
    pop_leases_and_acks_survive_sigkill(Client::GrpcGo, &["--flush-mode", "sync"]);
}

#[test]
fn python_reset_of_a_live_pop_group_takes_effect_at_once() {
    reset_of_a_live_pop_group_takes_effect_at_once(Client::GrpcPy);
}
