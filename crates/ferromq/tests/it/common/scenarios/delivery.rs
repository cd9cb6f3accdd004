//! Scenarios (b) to (d): redelivery through the retry topic, ordered consumption per key, and
//! tag filtering.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::{
    body, consumer, count_by_body, events, field_i64, field_str, produce, tag_of, Budget, Client,
    Server, NEW_GROUP_HINT, ORDER_HINT, RETRY_HINT,
};

/// (b) A consumer that fails every message on its first delivery gets each one again through the
/// retry topic, with reconsumeTimes ≥ 1, the original topic, tags and keys.
pub fn retry_after_failure(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "CompatRetryTopic";
    let group = "compat_retry_consumers";
    let count = 4;
    let sent = produce(
        kind,
        &server,
        topic,
        count,
        &[
            "--tags",
            "TagR",
            "--keys-prefix",
            "rkey-",
            "--body-prefix",
            "retry-",
        ],
        &budget,
    );
    let expect = count.to_string();
    let mut c = consumer(
        kind,
        &server,
        topic,
        group,
        &[
            "--fail-first-times",
            "1",
            "--expect",
            &expect,
            "--linger",
            "2",
        ],
        &budget,
    );
    let lines = c.wait_success_or(budget.left(), &format!("{RETRY_HINT}\n{NEW_GROUP_HINT}"));
    let msgs = events(&lines, "message");
    let diag = || format!("{RETRY_HINT}\n{}", c.diagnostics());

    assert!(
        msgs.iter().any(|m| field_str(m, "result") == Some("retry")
            && field_i64(m, "reconsumeTimes") == Some(0)),
        "{}: no first delivery (reconsumeTimes 0) was failed\n{}",
        kind.name(),
        diag()
    );
    for s in &sent {
        let b = body(s);
        let mine: Vec<&Value> = msgs.iter().filter(|m| body(m) == b).collect();
        let ok: Vec<&&Value> = mine
            .iter()
            .filter(|m| field_str(m, "result") == Some("ok"))
            .collect();
        assert!(
            !ok.is_empty(),
            "{}: {b} was never consumed successfully: {mine:?}\n{}",
            kind.name(),
            diag()
        );
        for m in &ok {
            let what = format!("{}: successful delivery {m}", kind.name());
            assert!(
                field_i64(m, "reconsumeTimes").unwrap_or(0) >= 1,
                "{what}: must be a redelivery (reconsumeTimes >= 1) since the first delivery was failed"
            );
            assert_eq!(
                field_str(m, "topic"),
                Some(topic),
                "{what}: the client restores the original topic from the RETRY_TOPIC property, \
                 which the broker must set on the %RETRY% copy"
            );
            assert_eq!(
                tag_of(m, "tags"),
                Some("TagR".to_string()),
                "{what}: tags lost on the retry copy"
            );
            assert_eq!(
                field_str(m, "keys"),
                field_str(s, "keys"),
                "{what}: keys lost on the retry copy"
            );
        }
    }
}

/// (c) Messages sent with order keys (one queue per key) are consumed by an ordered consumer in
/// send order per key.
pub fn ordered_per_key(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "CompatOrderTopic";
    let group = "compat_order_consumers";
    let count = 40usize;
    let keys = 4i64;
    let sent = produce(
        kind,
        &server,
        topic,
        count,
        &[
            "--order-key-count",
            &keys.to_string(),
            "--keys-prefix",
            "okey-",
            "--body-prefix",
            "order-",
        ],
        &budget,
    );
    // Producer side: every key went to a single queue.
    let mut key_queue: HashMap<String, i64> = HashMap::new();
    for s in &sent {
        let k = field_str(s, "orderKey")
            .expect("orderKey in sent line")
            .to_string();
        if let Some(q) = field_i64(s, "queueId") {
            let prev = *key_queue.entry(k.clone()).or_insert(q);
            assert_eq!(
                prev,
                q,
                "{}: order key {k} was sent to two queues: {s}",
                kind.name()
            );
        }
    }

    let expect = count.to_string();
    let mut c = consumer(
        kind,
        &server,
        topic,
        group,
        &["--orderly", "--expect", &expect, "--linger", "2"],
        &budget,
    );
    let lines = c.wait_success_or(budget.left(), &format!("{ORDER_HINT}\n{NEW_GROUP_HINT}"));
    let msgs = events(&lines, "message");
    let counts = count_by_body(&msgs);
    let dups: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dups.is_empty(),
        "{}: duplicates in ordered consumption: {dups:?}\n{}",
        kind.name(),
        c.diagnostics()
    );

    let index = |m: &Value| -> i64 {
        body(m)
            .trim_start_matches("order-")
            .parse()
            .expect("order-<i> body")
    };
    let mut per_key: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut per_key_queues: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for m in &msgs {
        let i = index(m);
        per_key.entry(i % keys).or_default().push(i);
        if let Some(q) = field_i64(m, "queueId") {
            per_key_queues.entry(i % keys).or_default().insert(q);
        }
    }
    for (k, seq) in &per_key {
        let mut sorted = seq.clone();
        sorted.sort();
        assert_eq!(
            seq,
            &sorted,
            "{}: key k{k} consumed out of send order: {seq:?}",
            kind.name()
        );
        let qs = &per_key_queues[k];
        assert_eq!(
            qs.len(),
            1,
            "{}: key k{k} delivered from several queues {qs:?}",
            kind.name()
        );
        if let Some(q) = key_queue.get(&format!("k{k}")) {
            assert!(
                qs.contains(q),
                "{}: key k{k} sent to queue {q}, delivered from {qs:?}",
                kind.name()
            );
        }
    }
}

/// (d) Tag filtering: a `TagA` subscription gets exactly the TagA messages, a `TagB||TagC`
/// subscription (another group) exactly the TagB and TagC ones.
pub fn tag_filter(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "CompatFilterTopic";
    let sent = produce(
        kind,
        &server,
        topic,
        30,
        &[
            "--tags",
            "TagA,TagB,TagC",
            "--keys-prefix",
            "fkey-",
            "--body-prefix",
            "filter-",
        ],
        &budget,
    );
    let want = |pred: &dyn Fn(&str) -> bool| -> BTreeSet<String> {
        sent.iter()
            .filter(|s| pred(&tag_of(s, "tags").unwrap_or_default()))
            .map(body)
            .collect()
    };
    let want_a = want(&|t| t == "TagA");
    let want_bc = want(&|t| t == "TagB" || t == "TagC");

    let n_a = want_a.len().to_string();
    let n_bc = want_bc.len().to_string();
    let mut ca = consumer(
        kind,
        &server,
        topic,
        "compat_filter_a",
        &["--expr", "TagA", "--expect", &n_a, "--linger", "3"],
        &budget,
    );
    let mut cbc = consumer(
        kind,
        &server,
        topic,
        "compat_filter_bc",
        &["--expr", "TagB||TagC", "--expect", &n_bc, "--linger", "3"],
        &budget,
    );
    let hint =
        format!("hint: tag filtering (subscription \"TagA\" / \"TagB||TagC\")\n{NEW_GROUP_HINT}");
    let la = ca.wait_success_or(budget.left(), &hint);
    let lbc = cbc.wait_success_or(budget.left(), &hint);

    for (label, lines, want, allowed) in [
        ("TagA", &la, &want_a, &["TagA"][..]),
        ("TagB||TagC", &lbc, &want_bc, &["TagB", "TagC"][..]),
    ] {
        let msgs = events(lines, "message");
        for m in &msgs {
            let t = tag_of(m, "tags").unwrap_or_default();
            assert!(
                allowed.contains(&t.as_str()),
                "{}: subscription {label} got a {t:?} message: {m}",
                kind.name()
            );
        }
        let got: BTreeSet<String> = msgs.iter().map(body).collect();
        assert_eq!(
            &got,
            want,
            "{}: subscription {label} received the wrong set",
            kind.name()
        );
    }
}
