//! One generation of load through ferromq's own client: senders, a committer, a resetter and a
//! live consumer, each recording what the broker acknowledged in the [`Model`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use crate::common::pull_at;
use crate::crash_loop::model::{Model, Rng};
use crate::crash_loop::{COMMIT_GROUP, CONSUMER_GROUP, QUEUES, RESET_GROUP, SENDERS, TOPIC};

fn transport_error(e: &ClientError) -> bool {
    e.code().is_none()
}

/// One generation of load, until the broker dies under it (or `stop` is set).
pub async fn run_load(
    client: Arc<MqClient>,
    broker: String,
    model: Arc<Model>,
    gen: u32,
    seed: u64,
    stop: Arc<AtomicBool>,
) {
    let mut tasks = Vec::new();
    for t in 0..SENDERS {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9));
            for i in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let q = ((t as u64 + i) % QUEUES as u64) as i32;
                let pad = "p".repeat(rng.below(1500) as usize);
                let body = format!("g{gen}-s{t}-m{i}-{pad}");
                match client
                    .send(
                        &broker,
                        "CL_producer",
                        TOPIC,
                        q,
                        Bytes::from(body.clone()),
                        "",
                    )
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.queue_id, q, "sent to queue {q}, stored in {}", r.queue_id);
                        model.sent(r.queue_id, r.queue_offset, body);
                    }
                    Err(e) if transport_error(&e) => return,
                    Err(_) => {
                        model.write_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // The committer: increasing values, one write at a time per queue.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut v = i64::from(gen) * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                v += 1;
                let q = (v % i64::from(QUEUES)) as i32;
                if commit(&client, &broker, &model, COMMIT_GROUP, q, v)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }));
    }
    // The resetter: resets (both codes) and commits of RESET_GROUP, one at a time.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ 0xDEAD_BEEF);
            while !stop.load(Ordering::Relaxed) {
                let q = rng.below(QUEUES as u64) as i32;
                let target = rng.below(model.acked_end(q) as u64 + 1) as i64;
                let r = match rng.below(3) {
                    0 => reset_9001(&client, &broker, &model, q, target).await,
                    1 => reset_222(&client, &broker, &model, q, target).await,
                    _ => commit(&client, &broker, &model, RESET_GROUP, q, target).await,
                };
                if r.is_err() {
                    return;
                }
            }
        }));
    }
    // The live consumer.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut pos: BTreeMap<i32, i64> = BTreeMap::new();
            {
                let o = model.offsets.lock().unwrap();
                for q in 0..QUEUES {
                    let k = (CONSUMER_GROUP.to_string(), q);
                    pos.insert(q, o.get(&k).and_then(|m| m.confirmed).unwrap_or(0));
                }
            }
            let mut idle = 0;
            while !stop.load(Ordering::Relaxed) {
                for q in 0..QUEUES {
                    let at = pos[&q];
                    let p = pull_at(CONSUMER_GROUP, TOPIC, q, at, 32);
                    let r = match client.pull(&broker, &p).await {
                        Ok(r) => r,
                        Err(_) => return,
                    };
                    match r.code {
                        rs::SUCCESS => {
                            idle = 0;
                            for m in &r.messages {
                                let body = String::from_utf8_lossy(&m.body);
                                let want = model
                                    .messages
                                    .lock()
                                    .unwrap()
                                    .get(&(q, m.queue_offset))
                                    .cloned();
                                if let Some(want) = want {
                                    assert_eq!(
                                        body, want,
                                        "consumer read queue {q} offset {} with a body other than the acknowledged one",
                                        m.queue_offset
                                    );
                                    model.pulled_checked.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            pos.insert(q, r.next_begin_offset);
                            if commit(&client, &broker, &model, CONSUMER_GROUP, q, r.next_begin_offset)
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        rs::PULL_OFFSET_MOVED => {
                            pos.insert(q, r.next_begin_offset);
                        }
                        _ => idle += 1,
                    }
                }
                if idle > QUEUES * 4 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task panicked");
    }
}

/// UPDATE_CONSUMER_OFFSET, recorded in the model. `Err` when the broker is gone.
async fn commit(
    client: &MqClient,
    broker: &str,
    model: &Model,
    group: &str,
    q: i32,
    v: i64,
) -> Result<(), ()> {
    model.issue(group, q, v);
    let req = requests::update_consumer_offset(group, TOPIC, q, v);
    let answer = client.remoting.invoke_raw(broker, req).await;
    answered(model, answer, |r| {
        if r.remark
            .as_deref()
            .is_some_and(|s| s.contains("previously reset"))
        {
            model.not_stored(group, q, v);
            model.commits_ignored.fetch_add(1, Ordering::Relaxed);
        } else {
            model.stored(group, q, v);
            model.commits_acked.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// The outcome of a raw request: `on_success` runs on a SUCCESS answer, another answer is
/// counted as an error answer (its outcome is unknown); `Err` when the broker is gone.
fn answered(
    model: &Model,
    answer: Result<RemotingCommand, ClientError>,
    on_success: impl FnOnce(&RemotingCommand),
) -> Result<(), ()> {
    match answer {
        Ok(r) if r.code == rs::SUCCESS => {
            on_success(&r);
            Ok(())
        }
        Ok(_) => {
            model.write_errors.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(_) => Err(()),
    }
}

/// FERRO_RESET_OFFSETS (9001) of one queue of RESET_GROUP to `target`.
async fn reset_9001(
    client: &MqClient,
    broker: &str,
    model: &Model,
    q: i32,
    target: i64,
) -> Result<(), ()> {
    model.issue(RESET_GROUP, q, target);
    let req = json!({
        "groups": [RESET_GROUP],
        "topics": [{"topic": TOPIC, "queues": [q]}],
        "spec": {"kind": "perQueue", "value": [{"topic": TOPIC, "queueId": q, "offset": target}]},
        "dryRun": false,
        "allowIntents": false,
    });
    match client
        .ferro::<Value, Value>(broker, rq::FERRO_RESET_OFFSETS, &req)
        .await
    {
        Ok(plan) => {
            let queues = plan["queues"].as_array().cloned().unwrap_or_default();
            assert_eq!(queues.len(), 1, "one queue planned: {plan}");
            let got = queues[0]["target"].as_i64();
            assert_eq!(got, Some(target), "reset to {target} not clamped: {plan}");
            model.stored(RESET_GROUP, q, target);
            model.resets_acked.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) if transport_error(&e) => Err(()),
        Err(_) => {
            model.write_errors.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), queue/offset form.
async fn reset_222(
    client: &MqClient,
    broker: &str,
    model: &Model,
    q: i32,
    target: i64,
) -> Result<(), ()> {
    model.issue(RESET_GROUP, q, target);
    let req = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", RESET_GROUP)
        .with_ext("topic", TOPIC)
        .with_ext("queueId", q)
        .with_ext("offset", target)
        .with_ext("timestamp", -1)
        .with_ext("isForce", true);
    let answer = client.remoting.invoke_raw(broker, req).await;
    answered(model, answer, |r| {
        assert!(
            !r.remark.as_deref().unwrap_or("").contains("clamped"),
            "reset to {target} clamped: {:?}",
            r.remark
        );
        model.stored(RESET_GROUP, q, target);
        model.resets_acked.fetch_add(1, Ordering::Relaxed);
    })
}
