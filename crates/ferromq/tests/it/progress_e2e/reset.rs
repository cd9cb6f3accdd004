//! 2. Reset a running group backwards (replay, no stale commit), then forwards (skip).

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::scenarios::{self, Budget};
use crate::common::{poll_until, Client, Server};
use crate::progress_e2e::fixtures::{
    assert_bodies_match_positions, deliveries, group_name, opt_i64, plan_by_queue, Admin, Delivery,
    QUEUES,
};

fn reset_running_group_backward_then_forward(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "ResetTopic";
    let group = group_name("reset", kind);
    const FIRST: i64 = 40; // a- messages per queue: offsets 0..FIRST
    const TARGET: i64 = 2;
    const SKIPPED: i64 = 5; // b- messages per queue: offsets 10..15, skipped by the forward reset
    const LAST: i64 = 3; // c- messages per queue: offsets 15..18, consumed after it

    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "a-", 0, FIRST);

    // The replay is slowed down (each redelivery waits in the listener) so that it outlasts the
    // clients' 5 s commit period: the offset samples below then see commits land mid-replay.
    let delay_ms = replay_delay_ms(kind).to_string();
    let mut p = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--redelivery-delay-ms", &delay_ms],
        &budget,
    );
    let total_a = (FIRST * QUEUES as i64) as usize;
    p.wait_lines(
        budget.cap(Duration::from_secs(40)),
        "every a- message",
        |lines| {
            deliveries(lines, topic)
                .iter()
                .map(|d| d.body.clone())
                .collect::<BTreeSet<_>>()
                .len()
                >= total_a
        },
    );
    // The client commits periodically (every 5 s for both clients).
    let all_end = vec![Some(FIRST); QUEUES as usize];
    let committed = poll_until(budget.cap(Duration::from_secs(15)), || {
        admin.query_all(&group, topic) == all_end
    });
    assert!(
        committed,
        "{}: committed offsets never reached the end after consuming everything: {:?}\n{}",
        p.label(),
        admin.query_all(&group, topic),
        p.diagnostics()
    );
    let before_reset = p.lines().len();
    let t_reset = Instant::now();

    // Backward reset of the online group.
    let plan = admin.reset(&group, topic, json!({"kind": "offset", "value": TARGET}));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        let pq = &by_q[&q];
        assert_eq!(opt_i64(&pq["current"]), Some(FIRST), "{plan}");
        assert_eq!(opt_i64(&pq["target"]), Some(TARGET), "{plan}");
        assert_eq!(opt_i64(&pq["replayed"]), Some(FIRST - TARGET), "{plan}");
    }

    // While the consumer replays, the stored offset must stay within
    // [TARGET, highest offset delivered again + 1]: a commit of the pre-reset position (a stale
    // commit) would skip messages that were never delivered again.
    let replayed_max = |lines: &[Value], q: i32| -> i64 {
        deliveries(&lines[before_reset.min(lines.len())..], topic)
            .iter()
            .filter(|d| d.queue == q)
            .map(|d| d.offset)
            .max()
            .unwrap_or(-1)
    };
    let mut samples = 0usize;
    // (queue, stored) pairs above the target seen while that queue was still replaying: commits
    // that landed mid-replay, which the bound below really constrained.
    let mut mid_replay_commits: BTreeSet<(i32, i64)> = BTreeSet::new();
    let mut violations: Vec<String> = Vec::new();
    let mut first_replay: Option<Duration> = None;
    let mut replay_done: Option<Duration> = None;
    let replay_deadline = t_reset + budget.cap(Duration::from_secs(30));
    let settle_deadline = t_reset + budget.cap(Duration::from_secs(45));
    loop {
        let stored = admin.query_all(&group, topic);
        samples += 1;
        let seen_before = p.lines();
        for q in 0..QUEUES {
            let s = stored[q as usize].unwrap_or(-1);
            if s < TARGET {
                violations.push(format!("queue {q}: stored {s} < reset target {TARGET}"));
                continue;
            }
            // The script prints a delivery before it returns from the listener, i.e. before the
            // client can commit past it; allow a moment for the line to reach us.
            let bound_ok = p
                .try_wait_lines(Duration::from_secs(1), |lines| {
                    s <= TARGET.max(replayed_max(lines, q) + 1)
                })
                .is_some();
            if s > TARGET && replayed_max(&seen_before, q) < FIRST - 1 {
                mid_replay_commits.insert((q, s));
            }
            if !bound_ok {
                let lines = p.lines();
                violations.push(format!(
                    "queue {q}: stored {s} after {:?} while only offsets up to {} were delivered again",
                    t_reset.elapsed(),
                    replayed_max(&lines, q)
                ));
            }
        }
        if violations.len() > 20 {
            break;
        }
        let lines = p.lines();
        let replayed: Vec<i64> = (0..QUEUES).map(|q| replayed_max(&lines, q)).collect();
        if first_replay.is_none() && replayed.iter().all(|m| *m >= TARGET) {
            first_replay = Some(t_reset.elapsed());
        }
        if replay_done.is_none() && replayed.iter().all(|m| *m == FIRST - 1) {
            replay_done = Some(t_reset.elapsed());
        }
        let done = replayed.iter().all(|m| *m == FIRST - 1) && stored == all_end;
        if done {
            break;
        }
        let now = Instant::now();
        if first_replay.is_none() && now >= replay_deadline {
            panic!(
                "{}: no replay from offset {TARGET} on every queue within {:?} of the backward reset \
                 (replayed up to {replayed:?}, stored {stored:?}; C++ gets RESET_CONSUMER_CLIENT_OFFSET, \
                 ali-ons must be answered PULL_OFFSET_MOVED)\n{}",
                p.label(),
                t_reset.elapsed(),
                p.diagnostics()
            );
        }
        if now >= settle_deadline {
            panic!(
                "{}: after the backward reset, replay/commits did not settle within {:?}: replayed up \
                 to {replayed:?}, stored {stored:?} (want every queue replayed to {} and committed {FIRST})\n{}",
                p.label(),
                t_reset.elapsed(),
                FIRST - 1,
                p.diagnostics()
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        violations.is_empty(),
        "{}: stale commits moved the stored offset past the replay ({samples} samples):\n  {}\n{}",
        p.label(),
        violations.join("\n  "),
        p.diagnostics()
    );
    // Exactly the messages from the target on were delivered again, the first one being the
    // target on every queue.
    let lines = p.lines();
    let replay = deliveries(&lines[before_reset..], topic);
    assert_bodies_match_positions(&replay, &p);
    for q in 0..QUEUES {
        let on_q: Vec<i64> = replay
            .iter()
            .filter(|d| d.queue == q)
            .map(|d| d.offset)
            .collect();
        assert_eq!(
            on_q.iter().min().copied(),
            Some(TARGET),
            "{}: queue {q} replay must start at {TARGET}: {on_q:?}",
            p.label()
        );
        let got: BTreeSet<i64> = on_q.iter().copied().collect();
        assert_eq!(
            got,
            (TARGET..FIRST).collect::<BTreeSet<i64>>(),
            "{}: queue {q} replayed offsets",
            p.label()
        );
    }
    let t_backward = t_reset.elapsed();

    // Forward reset to the end: the consumer must not receive what it skips. A running consumer
    // takes new messages within milliseconds, so the skipped backlog is built while the group is
    // offline (its pull state and history stay on the broker); then it comes back.
    let st = p.stop();
    assert!(
        st.success(),
        "{}: clean stop: {st}\n{}",
        p.label(),
        p.diagnostics()
    );
    assert_eq!(
        admin.query_all(&group, topic),
        all_end,
        "offsets after the stop"
    );
    admin.fill(topic, "b-", FIRST, SKIPPED);
    let plan = admin.reset(&group, topic, json!({"kind": "latest"}));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        let pq = &by_q[&q];
        assert_eq!(opt_i64(&pq["current"]), Some(FIRST), "{plan}");
        assert_eq!(opt_i64(&pq["target"]), Some(FIRST + SKIPPED), "{plan}");
        assert_eq!(opt_i64(&pq["skipped"]), Some(SKIPPED), "{plan}");
    }
    let end = FIRST + SKIPPED;
    assert_eq!(
        admin.query_all(&group, topic),
        vec![Some(end); QUEUES as usize]
    );

    let want = (LAST * QUEUES as i64).to_string();
    let mut p2 = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--expect", &want, "--linger", "3"],
        &budget,
    );
    admin.fill(topic, "c-", end, LAST);
    let lines = p2.wait_success_or(
        budget.cap(Duration::from_secs(40)),
        "hint: after a reset to the end the group must resume there and get the new messages",
    );
    let ds = deliveries(&lines, topic);
    assert_bodies_match_positions(&ds, &p2);
    let stale: Vec<&Delivery> = ds.iter().filter(|d| !d.body.starts_with("c-")).collect();
    assert!(
        stale.is_empty(),
        "{}: messages before the forward reset's target were delivered: {stale:?}\n{}",
        p2.label(),
        p2.diagnostics()
    );
    let got: BTreeSet<String> = ds.iter().map(|d| d.body.clone()).collect();
    assert_eq!(
        got.len(),
        (LAST * QUEUES as i64) as usize,
        "every c- message"
    );
    eprintln!(
        "[progress_e2e] {}: backward reset replayed after {:?} (first on all queues) and settled after \
         {t_backward:?} with {samples} offset samples (replay done after {:?}; commits seen mid-replay \
         {mid_replay_commits:?}); forward reset skipped {} messages; total {:?}",
        kind.name(),
        first_replay.unwrap_or_default(),
        replay_done.unwrap_or_default(),
        SKIPPED * QUEUES as i64,
        budget.elapsed()
    );
}

/// Listener wait per redelivery (`--redelivery-delay-ms`), so that the 152 redeliveries take
/// about 7.5 s: the C++ client consumes on 2 threads, ali-ons one message at a time.
fn replay_delay_ms(kind: Client) -> u64 {
    match kind {
        Client::Cpp => 100,
        _ => 50,
    }
}

#[test]
fn cpp_reset_running_group_backward_then_forward() {
    reset_running_group_backward_then_forward(Client::Cpp);
}

#[test]
fn ali_ons_reset_running_group_backward_then_forward() {
    reset_running_group_backward_then_forward(Client::Node);
}
