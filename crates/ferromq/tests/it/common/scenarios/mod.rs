//! Compatibility scenarios run with each real third-party client (see `compat_cpp.rs` and
//! `compat_ali_ons.rs`). Every scenario starts its own standalone server and stays within
//! [`TEST_BUDGET`].
//!
//! Broker behaviour these scenarios rely on (all of it is what an Apache RocketMQ broker does):
//! * topics are auto-created (4 queues) by the first send, through the name server route lookup;
//! * a new consumer group starts at offset 0 on queues whose min offset is 0
//!   (QUERY_CONSUMER_OFFSET answers SUCCESS offset=0), so messages sent before the consumer starts
//!   are delivered;
//! * CONSUMER_SEND_MSG_BACK puts the message into `%RETRY%<group>` with reconsumeTimes + 1 and the
//!   `RETRY_TOPIC` property (the clients use it to restore the original topic);
//! * GET_CONSUMER_LIST_BY_GROUP lists every live member, so a group's queues are split.

mod delivery;
mod group;
mod progress;

pub use delivery::{ordered_per_key, retry_after_failure, tag_filter};
pub use group::{two_member_group, two_member_group_on};
pub use progress::{ferromq_admin, preset_then_reset};

pub use super::Endpoint;
use super::{
    client_args, events, field_i64, field_str, poll_until, spawn_client, strings, tag_of, Client,
    ClientProcess, Server,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Upper bound for one scenario.
pub const TEST_BUDGET: Duration = Duration::from_secs(90);
/// `--timeout` given to long-running consumers: they end by themselves before the budget.
const CONSUMER_TIMEOUT_SECS: u64 = 75;
const PRODUCER_GROUP: &str = "compat_producer_group";

/// Tracks the time left of [`TEST_BUDGET`].
pub struct Budget {
    start: Instant,
    limit: Duration,
}

impl Budget {
    pub fn new() -> Budget {
        Budget {
            start: Instant::now(),
            limit: TEST_BUDGET,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Time left, minus a reserve for shutting things down.
    pub fn left(&self) -> Duration {
        self.limit
            .saturating_sub(self.start.elapsed())
            .saturating_sub(Duration::from_secs(3))
    }

    /// `want`, capped to the time left.
    pub fn cap(&self, want: Duration) -> Duration {
        want.min(self.left())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs the producer script and returns its `sent` lines ordered by index; asserts that all
/// `count` messages were sent.
pub fn produce(
    kind: Client,
    server: &(impl Endpoint + ?Sized),
    topic: &str,
    count: usize,
    extra: &[&str],
    budget: &Budget,
) -> Vec<Value> {
    let timeout = budget.cap(Duration::from_secs(40));
    let count_s = count.to_string();
    let timeout_s = timeout.as_secs().max(5).to_string();
    let head = ["--count", count_s.as_str(), "--timeout", timeout_s.as_str()];
    let args = client_args(
        &server.namesrv(),
        topic,
        PRODUCER_GROUP,
        &[&head[..], extra].concat(),
    );
    let mut p = spawn_client(kind, "producer", &args);
    let lines = p.wait_success(timeout + Duration::from_secs(20));
    let mut sent = events(&lines, "sent");
    sent.sort_by_key(|v| field_i64(v, "i").unwrap_or(-1));
    assert_eq!(
        sent.len(),
        count,
        "{}: expected {count} sent messages, got {}\n{}",
        p.label(),
        sent.len(),
        p.diagnostics()
    );
    sent
}

/// Starts a consumer script on `topic`/`group` with extra arguments. Unless `extra` has a
/// `--timeout`, the consumer gives up by itself (and reports why) before the budget runs out.
pub fn consumer(
    kind: Client,
    server: &(impl Endpoint + ?Sized),
    topic: &str,
    group: &str,
    extra: &[&str],
    budget: &Budget,
) -> ClientProcess {
    let mut args = client_args(&server.namesrv(), topic, group, &[]);
    if !extra.contains(&"--timeout") {
        // Leave room for the script's shutdown (≤ 10 s) within the budget.
        let secs = budget
            .left()
            .as_secs()
            .saturating_sub(12)
            .clamp(10, CONSUMER_TIMEOUT_SECS);
        args.extend(strings(&["--timeout", &secs.to_string()]));
    }
    args.extend(strings(extra));
    spawn_client(kind, "consumer", &args)
}

fn body(v: &Value) -> String {
    field_str(v, "body").unwrap_or_default().to_string()
}

fn bodies_with_prefix(msgs: &[Value], prefix: &str) -> Vec<String> {
    msgs.iter()
        .map(body)
        .filter(|b| b.starts_with(prefix))
        .collect()
}

/// How many times each body was delivered.
pub fn count_by_body(msgs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in msgs {
        *m.entry(body(v)).or_insert(0) += 1;
    }
    m
}

const NEW_GROUP_HINT: &str =
    "hint: the consumers start after the producer; a new consumer group must \
     start at offset 0 (QUERY_CONSUMER_OFFSET → SUCCESS offset=0 when the queue's min offset is 0)";
const RETRY_HINT: &str = "hint: every message is failed once and must come back through %RETRY%<group> \
     (CONSUMER_SEND_MSG_BACK by commit-log offset, reconsumeTimes + 1, RETRY_TOPIC property: ali-ons \
     silently drops retry messages without it); the redelivery delay must fit the test budget";
const ORDER_HINT: &str = "hint: the C++ orderly consumer only consumes queues it locked with \
     LOCK_BATCH_MQ (the broker must answer lockOKMQSet)";
