//! 3. SIGKILL under commit load with --offset-durability durable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ferromq_client::MqClient;

use crate::common::scenarios::Budget;
use crate::common::Server;
use crate::progress_e2e::fixtures::Admin;

#[derive(Default, Clone, Copy, Debug)]
struct KeyProgress {
    /// Highest offset sent (the request may or may not have reached the broker).
    sent: i64,
    /// Highest offset acknowledged with SUCCESS.
    acked: i64,
}

#[test]
fn durable_commits_survive_sigkill_under_load() {
    let budget = Budget::new();
    let mut server = Server::standalone(&["--offset-durability", "durable"]);
    let topic = "DurableCommits";
    const TOPIC_QUEUES: i32 = 16;
    const GROUPS: usize = 8;
    const TASKS: usize = 32;
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("durable_g{g}")).collect();

    let admin = Admin::new(&server);
    admin.create_topic(topic, TOPIC_QUEUES);
    let progress: Arc<Mutex<HashMap<(String, i32), KeyProgress>>> = Arc::default();

    // 32 tasks, each owning 4 (group, queue) keys (128 keys in all) and committing 1, 2, 3, ...
    // to them in turn: per key, commits are sequential and increasing.
    let load = {
        let progress = progress.clone();
        let namesrv = server.namesrv_addr();
        let broker = server.broker_addr();
        let groups = groups.clone();
        admin.rt.spawn(async move {
            let client = Arc::new(MqClient::new(&namesrv, Duration::from_secs(5)));
            let mut tasks = Vec::new();
            for t in 0..TASKS {
                let group = groups[t % GROUPS].clone();
                let base = (t / GROUPS) as i32 * 4;
                let keys: Vec<i32> = (base..base + 4).collect();
                let (client, progress, broker) = (client.clone(), progress.clone(), broker.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 1i64.. {
                        for &q in &keys {
                            progress
                                .lock()
                                .unwrap()
                                .entry((group.clone(), q))
                                .or_default()
                                .sent = i;
                            match client.update_offset(&broker, &group, topic, q, i).await {
                                Ok(()) => {
                                    progress
                                        .lock()
                                        .unwrap()
                                        .get_mut(&(group.clone(), q))
                                        .unwrap()
                                        .acked = i
                                }
                                Err(_) => return,
                            }
                        }
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    };
    thread::sleep(Duration::from_millis(1500));
    server.kill();
    admin
        .rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(20), load).await })
        .expect("committers stop within 20 s of the kill")
        .expect("committer tasks");
    let progress = progress.lock().unwrap().clone();
    let acks: i64 = progress.values().map(|k| k.acked).sum();
    assert!(
        acks > 100,
        "the load made progress before the kill: {acks} acknowledged commits\n{}",
        server.output_tail(50)
    );
    drop(admin);

    server.restart();
    let admin = Admin::new(&server);
    let mut stored: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for g in &groups {
        for ((t, q), off) in admin.export(g) {
            assert_eq!(t, topic, "unexpected topic in the export of {g}");
            stored.insert((g.clone(), q), off);
        }
    }
    let mut problems = Vec::new();
    let mut lost_unacked = 0;
    for (key, k) in &progress {
        let s = stored.get(key).copied();
        match s {
            Some(v) if v >= k.acked.max(1) && v <= k.sent => {
                if v > k.acked {
                    lost_unacked += 1; // an unacknowledged commit made it: allowed
                }
            }
            None if k.acked == 0 => {}
            other => problems.push(format!(
                "{}:{}: stored {other:?}, last acknowledged {}, last sent {}",
                key.0, key.1, k.acked, k.sent
            )),
        }
        // QUERY_CONSUMER_OFFSET agrees with the table.
        if let Some(v) = s {
            assert_eq!(admin.query(&key.0, topic, key.1), Some(v), "query {key:?}");
        }
    }
    for key in stored.keys() {
        if !progress.contains_key(key) {
            problems.push(format!("{key:?}: stored but never sent"));
        }
    }
    assert!(
        problems.is_empty(),
        "acknowledged commits lost or invented after SIGKILL in durable mode ({} keys, {acks} acks):\n  {}\n--- server tail ---\n{}",
        progress.len(),
        problems.join("\n  "),
        server.output_tail(80)
    );
    eprintln!(
        "[progress_e2e] durable: {acks} acknowledged commits on {} keys, all present after SIGKILL \
         ({lost_unacked} keys hold a later, unacknowledged value) in {:?}",
        progress.len(),
        budget.elapsed()
    );
}
