//! Check-backs: UNKNOW answered through CHECK_TRANSACTION_STATE, the check limit, and
//! groups without a live producer.

use super::fixtures::*;

#[tokio::test]
async fn unknown_is_checked_back_and_the_answer_applies() {
    let c = Cluster::start_with(1, fast_checks).await;
    let (client, addr) = setup(&c).await;
    let mut inbox = client.remoting.server_requests();
    register_producer(&client, &addr).await;
    let h = send_half(&client, &addr, "u").await;
    assert_eq!(
        end(&client, &addr, h, TxOutcome::Unknown).await.code,
        rs::SUCCESS
    );

    let check = next_check(&mut inbox, Duration::from_secs(5))
        .await
        .expect("a check-back");
    assert!(check.is_oneway());
    let header = CheckTransactionStateHeader::parse(&check).unwrap();
    assert_eq!(
        (header.tran_state_table_offset, header.commit_log_offset),
        (h.offset, h.phys)
    );
    assert_eq!(header.transaction_id.as_deref(), Some("u"));
    assert_eq!(header.msg_id.as_deref(), Some("u"));
    let (m, _) = decode_record(&check.body).unwrap();
    assert_eq!(
        (m.topic.as_str(), m.queue_id, &m.body[..]),
        (TOPIC, 0, &b"u"[..])
    );
    assert_eq!((m.queue_offset, m.physical_offset), (h.offset, h.phys));
    assert_eq!(
        find_property(&m.properties, "TRANSACTION_CHECK_TIMES"),
        Some("1")
    );
    assert_eq!(find_property(&m.properties, "PGROUP"), Some(GROUP));
    assert_eq!(header.offset_msg_id, m.offset_msg_id());
    assert!(delivered(&client, &addr).await.is_empty());

    // The producer answers as the Java client does: oneway, fromTransactionCheck.
    let answer = end_tx(
        Half {
            offset: header.tran_state_table_offset,
            phys: header.commit_log_offset,
        },
        GROUP,
        TxOutcome::Commit.code(),
        true,
    );
    client.remoting.oneway(&addr, answer).await.unwrap();
    eventually(
        Duration::from_secs(5),
        "checked message delivered",
        || async { (delivered(&client, &addr).await == ["u"]).then_some(()) },
    )
    .await;
    // Resolved: no more check-backs (checks that were already on their way are drained first).
    tokio::time::sleep(Duration::from_millis(200)).await;
    while inbox.try_recv().is_ok() {}
    assert!(next_check(&mut inbox, Duration::from_millis(800))
        .await
        .is_none());
    c.shutdown().await;
}

#[tokio::test]
async fn the_check_limit_discards_and_no_producer_means_no_check() {
    let c = Cluster::start_with(1, fast_checks).await;
    let (client, addr) = setup(&c).await;
    let h = send_half(&client, &addr, "never").await;
    // Nobody of the group is connected: nothing is asked and nothing counted.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(pending(&c), 1);

    let mut inbox = client.remoting.server_requests();
    register_producer(&client, &addr).await;
    for n in 1..=3 {
        let check = next_check(&mut inbox, Duration::from_secs(5))
            .await
            .expect("check-back");
        let (m, _) = decode_record(&check.body).unwrap();
        let times = n.to_string();
        assert_eq!(
            find_property(&m.properties, "TRANSACTION_CHECK_TIMES"),
            Some(times.as_str())
        );
    }
    eventually(Duration::from_secs(5), "discard after 3 checks", || async {
        (pending(&c) == 0).then_some(())
    })
    .await;
    assert!(next_check(&mut inbox, Duration::from_millis(500))
        .await
        .is_none());
    let r = end(&client, &addr, h, TxOutcome::Commit).await;
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("already resolved"));
    assert!(
        delivered(&client, &addr).await.is_empty(),
        "a discarded message is never delivered"
    );
    c.shutdown().await;
}
