//! Commit, rollback and unknown from the producer, and END_TRANSACTIONs that must be refused.

use super::fixtures::*;

#[tokio::test]
async fn commit_delivers_once_and_rollback_never() {
    let c = Cluster::start(1).await;
    let (client, addr) = setup(&c).await;
    let a = send_half(&client, &addr, "a").await;
    let b = send_half(&client, &addr, "b").await;
    assert_eq!((a.offset, b.offset), (0, 1), "offsets in the half queue");
    assert!(
        delivered(&client, &addr).await.is_empty(),
        "half messages are invisible"
    );
    assert_eq!(pending(&c), 2);

    let r = end(&client, &addr, a, TxOutcome::Unknown).await;
    assert_eq!(r.code, rs::SUCCESS);
    assert!(
        delivered(&client, &addr).await.is_empty(),
        "unknown changes nothing"
    );
    assert_eq!(
        end(&client, &addr, a, TxOutcome::Commit).await.code,
        rs::SUCCESS
    );
    assert_eq!(
        end(&client, &addr, b, TxOutcome::Rollback).await.code,
        rs::SUCCESS
    );
    assert_eq!(pending(&c), 0);

    // A second decision about either is refused and changes nothing.
    for (h, o) in [
        (a, TxOutcome::Commit),
        (b, TxOutcome::Commit),
        (a, TxOutcome::Rollback),
    ] {
        let r = end(&client, &addr, h, o).await;
        assert_eq!(r.code, rs::SYSTEM_ERROR);
        assert!(
            r.remark.as_deref().unwrap().contains("already resolved"),
            "{:?}",
            r.remark
        );
    }
    assert_eq!(delivered(&client, &addr).await, vec!["a"]);

    // The delivered message is the producer's, not the half record.
    let p = Pull {
        group: "C",
        topic: TOPIC,
        queue_id: 0,
        offset: 0,
        max_msgs: 1,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let m = client.pull(&addr, &p).await.unwrap().messages.remove(0);
    assert_eq!((m.topic.as_str(), m.queue_id), (TOPIC, 0));
    assert_eq!(find_property(&m.properties, "UNIQ_KEY"), Some("a"));
    assert_eq!(find_property(&m.properties, "PGROUP"), Some(GROUP));
    assert_eq!(find_property(&m.properties, "REAL_TOPIC"), None);
    assert_eq!(find_property(&m.properties, "TRAN_MSG"), None);
    assert_eq!(m.sys_flag & 0xC, 0x8, "commit type, as upstream stores it");

    // A oneway END_TRANSACTION (what Java producers send) works the same way.
    let d = send_half(&client, &addr, "d").await;
    let req = end_tx(d, GROUP, TxOutcome::Commit.code(), false);
    client.remoting.oneway(&addr, req).await.unwrap();
    eventually(
        Duration::from_secs(5),
        "oneway commit delivered",
        || async { (delivered(&client, &addr).await == ["a", "d"]).then_some(()) },
    )
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn malformed_end_transactions_are_refused() {
    let c = Cluster::start(1).await;
    let (client, addr) = setup(&c).await;
    let h = send_half(&client, &addr, "m").await;
    let other = send_half(&client, &addr, "other").await;
    let normal = client
        .send(&addr, GROUP, TOPIC, 0, Bytes::from_static(b"plain"), "")
        .await
        .unwrap();
    let (_, normal_phys) = decode_offset_msg_id(&normal.msg_id).unwrap();
    let commit = TxOutcome::Commit.code();
    let at = |offset, phys| end_tx(Half { offset, phys }, GROUP, commit, false);
    let mut missing = end_tx(h, GROUP, commit, false);
    missing.ext_fields.remove("commitLogOffset");
    let mut garbage = end_tx(h, GROUP, commit, false);
    garbage.put_ext("tranStateTableOffset", "x1");
    let mut batch = requests::send_batch(
        GROUP,
        TOPIC,
        0,
        &[BatchItem {
            flag: 0,
            body: Bytes::from_static(b"x"),
            properties: String::new(),
        }],
    );
    batch.put_ext("i", half_props("batch"));
    let direct = requests::send_v2(
        GROUP,
        HALF_TOPIC,
        0,
        Bytes::from_static(b"x"),
        &half_props("x"),
    );
    let mut no_group = Properties::new();
    no_group.insert("TRAN_MSG".into(), "true".into());
    let groupless = requests::send_v2(
        "",
        TOPIC,
        0,
        Bytes::from_static(b"g"),
        &encode_properties(&no_group),
    );
    let cases: Vec<(&str, RemotingCommand, i32, &str)> = vec![
        (
            "a half message without a producer group",
            groupless,
            rs::INVALID_PARAMETER,
            "producer group",
        ),
        (
            "no record there",
            at(h.offset, 1 << 40),
            rs::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ),
        (
            "unknown offsets",
            at(99, 1 << 40),
            rs::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ),
        (
            "negative offsets",
            at(-5, -7),
            rs::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ),
        ("inside a record", at(99, h.phys + 3), rs::SYSTEM_ERROR, ""),
        (
            "another half message's record",
            at(h.offset, other.phys),
            rs::SYSTEM_ERROR,
            "commit log offset wrong",
        ),
        (
            "an ordinary message",
            at(normal.queue_offset, normal_phys),
            rs::SYSTEM_ERROR,
            "not a half message",
        ),
        (
            "a wrong half-queue offset",
            at(h.offset + 50, h.phys),
            rs::SYSTEM_ERROR,
            "state table offset wrong",
        ),
        (
            "another group",
            end_tx(h, "OTHER", commit, false),
            rs::SYSTEM_ERROR,
            "producer group wrong",
        ),
        (
            "not an outcome",
            end_tx(h, GROUP, 5, false),
            rs::INVALID_PARAMETER,
            "commitOrRollback",
        ),
        (
            "a missing field",
            missing,
            rs::INVALID_PARAMETER,
            "commitLogOffset",
        ),
        (
            "a non-numeric field",
            garbage,
            rs::INVALID_PARAMETER,
            "tranStateTableOffset",
        ),
        ("a transactional batch", batch, rs::MESSAGE_ILLEGAL, "batch"),
        (
            "a send to the half topic",
            direct,
            rs::NO_PERMISSION,
            HALF_TOPIC,
        ),
    ];
    for (what, req, code, text) in cases {
        let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
        let remark = r.remark.unwrap_or_default();
        assert_eq!(r.code, code, "{what}: {remark}");
        assert!(
            remark.contains(text),
            "{what}: remark {remark:?} lacks {text:?}"
        );
    }

    // None of it disturbed the real transaction, and nothing leaked.
    assert_eq!(delivered(&client, &addr).await, vec!["plain"]);
    assert_eq!(pending(&c), 2);
    assert_eq!(
        end(&client, &addr, h, TxOutcome::Commit).await.code,
        rs::SUCCESS
    );
    assert_eq!(delivered(&client, &addr).await, vec!["plain", "m"]);
    c.shutdown().await;
}

#[tokio::test]
async fn concurrent_decisions_deliver_at_most_once() {
    let c = Cluster::start(1).await;
    let (client, addr) = setup(&c).await;
    let h = send_half(&client, &addr, "race").await;
    let client = std::sync::Arc::new(client);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (client, addr) = (client.clone(), addr.clone());
        let outcome = if i % 4 == 3 {
            TxOutcome::Rollback
        } else {
            TxOutcome::Commit
        };
        tasks.push(tokio::spawn(async move {
            (outcome, end(&client, &addr, h, outcome).await.code)
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        let (outcome, code) = t.await.unwrap();
        if code == rs::SUCCESS {
            won.push(outcome);
        } else {
            assert_eq!(code, rs::SYSTEM_ERROR);
        }
    }
    assert_eq!(won.len(), 1, "exactly one decision applies: {won:?}");
    let want: Vec<&str> = match won[0] {
        TxOutcome::Commit => vec!["race"],
        _ => vec![],
    };
    assert_eq!(delivered(&client, &addr).await, want);
    c.shutdown().await;
}

#[tokio::test]
async fn the_pending_limit_refuses_half_messages_until_one_is_resolved() {
    let c = Cluster::start_with(1, |cfg| cfg.transaction_max_pending = 2).await;
    let (client, addr) = setup(&c).await;
    let a = send_half(&client, &addr, "a").await;
    send_half(&client, &addr, "b").await;
    let mut req = requests::send_v2(GROUP, TOPIC, 0, Bytes::from_static(b"c"), &half_props("c"));
    req.put_ext("f", 4);
    let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
    assert_eq!(r.code, rs::SYSTEM_BUSY);
    assert!(r
        .remark
        .unwrap_or_default()
        .contains("transaction-max-pending"));
    // Ordinary sends are not limited.
    client
        .send(&addr, GROUP, TOPIC, 0, Bytes::from_static(b"plain"), "")
        .await
        .unwrap();
    assert_eq!(
        end(&client, &addr, a, TxOutcome::Rollback).await.code,
        rs::SUCCESS
    );
    send_half(&client, &addr, "c").await;
    assert_eq!(pending(&c), 2);
    c.shutdown().await;
}
