//! Executing exactly the plan that was shown: a change sent with its plan's queues (`expect`)
//! is applied only if nothing moved since, atomically; otherwise PLAN_MOVED names the queues
//! and nothing changes. Hand-edited plans are refused by row.

use bytes::Bytes;
use ferromq_broker::progress::model::*;
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_testkit::Cluster;

const TOPIC: &str = "ExactT";
const GROUP: &str = "ExactG";

async fn fill(client: &MqClient, addr: &str, queues: i32, per_queue: i32) {
    client
        .create_topic(addr, &TopicConfig::new(TOPIC, queues))
        .await
        .unwrap();
    for q in 0..queues {
        for i in 0..per_queue {
            let body = Bytes::from(format!("m-{q}-{i}"));
            client.send(addr, "P", TOPIC, q, body, "").await.unwrap();
        }
    }
}

fn reset_earliest() -> ChangeRequest {
    ChangeRequest::Reset(ResetRequest {
        groups: vec![GROUP.into()],
        topics: vec![TopicScope {
            topic: TOPIC.into(),
            queues: None,
        }],
        spec: ResetSpec::Earliest,
        dry_run: true,
        allow_intents: false,
        expect: None,
    })
}

fn expected(plan: &PlanResult) -> Vec<ExpectedQueue> {
    plan.queues.iter().map(ExpectedQueue::from).collect()
}

async fn offsets(client: &MqClient, addr: &str) -> Vec<Option<i64>> {
    let mut v = Vec::new();
    for q in 0..2 {
        v.push(client.query_offset(addr, GROUP, TOPIC, q).await.unwrap());
    }
    v
}

async fn history_len(client: &MqClient, addr: &str) -> usize {
    let h: HistoryResult = client
        .ferro(
            addr,
            rq::FERRO_HISTORY,
            &HistoryRequest {
                group: Some(GROUP.into()),
                limit: 100,
                before: None,
            },
        )
        .await
        .unwrap();
    h.changes.len()
}

#[tokio::test]
async fn a_plan_whose_queue_moved_is_refused_and_a_plan_that_holds_is_applied_exactly() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, 2, 10).await;
    client
        .update_offset(&addr, GROUP, TOPIC, 0, 6)
        .await
        .unwrap();
    client
        .update_offset(&addr, GROUP, TOPIC, 1, 7)
        .await
        .unwrap();

    let request = reset_earliest();
    let plan = client
        .ferro_change(&addr, &request.planned(true, None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.queues.len(), 2);
    let history = history_len(&client, &addr).await;

    // A consumer commits on queue 1 after the operator saw the plan.
    client
        .update_offset(&addr, GROUP, TOPIC, 1, 9)
        .await
        .unwrap();
    // The check (dry run with the plan) and the apply both refuse, naming queue 1 only.
    for dry_run in [true, false] {
        let moved = client
            .ferro_change(&addr, &request.planned(dry_run, Some(expected(&plan))))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(moved.moved.len(), 1, "{moved:?}");
        assert_eq!(moved.moved[0].key.queue_id, 1);
        assert_eq!(
            (moved.moved[0].expected, moved.moved[0].actual),
            (Some(7), Some(9))
        );
        assert!(moved.missing.is_empty() && moved.unplanned.is_empty());
    }
    assert_eq!(offsets(&client, &addr).await, vec![Some(6), Some(9)]);
    assert_eq!(
        history_len(&client, &addr).await,
        history,
        "nothing recorded"
    );

    // The remark says it in words too.
    let r = client
        .remoting
        .invoke_raw(
            &addr,
            ferromq_protocol::RemotingCommand::request(rq::FERRO_RESET_OFFSETS)
                .with_body(request.planned(false, Some(expected(&plan))).body()),
        )
        .await
        .unwrap();
    assert_eq!(r.code, rs::PLAN_MOVED);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.contains("queue 1 moved (plan: 7, now: 9)"),
        "{remark}"
    );

    // Planned again, nothing moved: applied, with the plan's targets.
    let plan = client
        .ferro_change(&addr, &request.planned(true, None))
        .await
        .unwrap()
        .unwrap();
    let applied = client
        .ferro_change(&addr, &request.planned(false, Some(expected(&plan))))
        .await
        .unwrap()
        .unwrap();
    assert!(applied.change_id.is_some());
    assert_eq!(offsets(&client, &addr).await, vec![Some(0), Some(0)]);
    c.shutdown().await;
}

#[tokio::test]
async fn a_hand_edited_plan_is_refused_by_row_and_nothing_is_applied() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, 2, 5).await;
    client
        .update_offset(&addr, GROUP, TOPIC, 0, 3)
        .await
        .unwrap();
    client
        .update_offset(&addr, GROUP, TOPIC, 1, 4)
        .await
        .unwrap();
    let request = reset_earliest();
    let plan = client
        .ferro_change(&addr, &request.planned(true, None))
        .await
        .unwrap()
        .unwrap();
    let apply = |edit: &dyn Fn(&mut Vec<ExpectedQueue>)| {
        let mut e = expected(&plan);
        edit(&mut e);
        request.planned(false, Some(e))
    };

    // A queue the topic does not have: not in scope.
    let unknown = apply(&|e| e[1].queue_id = 99);
    let moved = client
        .ferro_change(&addr, &unknown)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(moved.unplanned.len(), 1);
    assert_eq!(moved.unplanned[0].queue_id, 99);
    assert_eq!(moved.missing.len(), 1, "queue 1 is then not in the plan");

    // Another group: not in scope either.
    let wrong_group = apply(&|e| e[0].group = "SomeoneElse".into());
    let moved = client
        .ferro_change(&addr, &wrong_group)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(moved.unplanned[0].group, "SomeoneElse");

    // A negative offset or a target past the end: refused as invalid, naming the row.
    for (edit, needle) in [
        (
            apply(&|e| e[0].target = Some(-5)),
            "plan row group ExactG topic ExactT queue 0",
        ),
        (
            apply(&|e| e[1].target = Some(1_000)),
            "past the queue's max offset",
        ),
    ] {
        let e = client.ferro_change(&addr, &edit).await.unwrap_err();
        assert_eq!(e.code(), Some(rs::INVALID_PARAMETER), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    assert_eq!(offsets(&client, &addr).await, vec![Some(3), Some(4)]);
    assert_eq!(history_len(&client, &addr).await, 0, "nothing applied");
    c.shutdown().await;
}
