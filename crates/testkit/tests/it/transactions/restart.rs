//! The pending set across restarts, with and without the checkpoint.

use super::fixtures::*;

#[tokio::test]
async fn pending_half_messages_survive_restarts() {
    let mut c = Cluster::start(1).await;
    let (client, addr) = setup(&c).await;
    let done = send_half(&client, &addr, "done").await;
    let late_commit = send_half(&client, &addr, "late-commit").await;
    let late_rollback = send_half(&client, &addr, "late-rollback").await;
    assert_eq!(
        end(&client, &addr, done, TxOutcome::Commit).await.code,
        rs::SUCCESS
    );

    // A clean restart, then one without the checkpoint (as after a SIGKILL before the first
    // one was written): both rebuild the same pending set from the half and op queues.
    c.restart_broker(0).await;
    assert_eq!(pending(&c), 2);
    c.stop_broker(0).await;
    let checkpoint = c.data_dir(0).join("config").join("transactions.json");
    let _ = std::fs::remove_file(&checkpoint);
    let _ = std::fs::remove_file(checkpoint.with_extension("json.bak"));
    c.restart_broker(0).await;
    assert_eq!(pending(&c), 2);

    let client = c.client();
    let addr = c.broker_addr(0);
    assert_eq!(delivered(&client, &addr).await, vec!["done"]);
    let r = end(&client, &addr, done, TxOutcome::Commit).await;
    assert!(r.remark.unwrap().contains("already resolved"));
    assert_eq!(
        end(&client, &addr, late_commit, TxOutcome::Commit)
            .await
            .code,
        rs::SUCCESS
    );
    assert_eq!(
        end(&client, &addr, late_rollback, TxOutcome::Rollback)
            .await
            .code,
        rs::SUCCESS
    );
    assert_eq!(delivered(&client, &addr).await, vec!["done", "late-commit"]);
    assert_eq!(pending(&c), 0);

    // Resolutions are durable too.
    c.restart_broker(0).await;
    assert_eq!(pending(&c), 0);
    let client = c.client();
    assert_eq!(
        delivered(&client, &c.broker_addr(0)).await,
        vec!["done", "late-commit"]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_pending_message_is_checked_back_after_a_restart() {
    let mut c = Cluster::start_with(1, fast_checks).await;
    let (client, addr) = setup(&c).await;
    let h = send_half(&client, &addr, "r").await;
    c.restart_broker(0).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    let mut inbox = client.remoting.server_requests();
    register_producer(&client, &addr).await;
    let check = next_check(&mut inbox, Duration::from_secs(5))
        .await
        .expect("check-back");
    let header = CheckTransactionStateHeader::parse(&check).unwrap();
    assert_eq!(
        (header.tran_state_table_offset, header.commit_log_offset),
        (h.offset, h.phys)
    );
    let answer = end_tx(h, GROUP, TxOutcome::Rollback.code(), true);
    client.remoting.oneway(&addr, answer).await.unwrap();
    eventually(Duration::from_secs(5), "rolled back", || async {
        (pending(&c) == 0).then_some(())
    })
    .await;
    assert!(delivered(&client, &addr).await.is_empty());
    c.shutdown().await;
}
