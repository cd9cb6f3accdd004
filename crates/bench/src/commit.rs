//! `ferromq bench commit`: consumer-offset commits (UPDATE_CONSUMER_OFFSET, acknowledged) as
//! fast as the broker takes them, spread over many groups and every queue of a topic, each key
//! committing increasing offsets like a real consumer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ferromq_client::{requests, MqClient};
use ferromq_protocol::codes::response as rs;
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::CommonArgs;
use crate::driver::{drive, Budget, ErrorLog, Output, Stop};
use crate::route::{self, QueueTarget};
use crate::stats::{Collector, Recorder, Summary};
use crate::BenchError;

/// `ferromq bench commit`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Examples:
  ferromq bench commit --namesrv 127.0.0.1:9876 --inflight 64 --duration 10s --create-topic-queues 8
  ferromq bench commit --namesrv 127.0.0.1:9876 --groups 1000 --connections 4 --json")]
pub struct CommitArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Commits in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub inflight: u32,
    /// Connections the commits are spread over.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Consumer groups committing (`<prefix>-0` …).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub groups: u32,
    #[arg(long, default_value = "BenchCommitGroup")]
    pub group_prefix: String,
    /// Create the topic with this many queues per broker first.
    #[arg(long)]
    pub create_topic_queues: Option<u32>,
}

struct Shared {
    targets: Vec<QueueTarget>,
    groups: Vec<String>,
    topic: String,
    stop: Stop,
    budget: Budget,
    errors: ErrorLog,
}

pub(crate) async fn run(args: CommitArgs) -> Result<Summary, BenchError> {
    let c = &args.common;
    let out = Output {
        json: c.json,
        quiet: false,
    };
    let clients: Vec<Arc<MqClient>> = (0..args.connections)
        .map(|_| c.client().map(Arc::new))
        .collect::<Result<_, _>>()?;
    let targets = route::produce_targets(&clients[0], &c.topic, args.create_topic_queues).await?;
    for client in &clients {
        for t in &targets {
            client
                .remoting
                .connection(&t.addr)
                .await
                .map_err(|source| BenchError::Cluster {
                    context: format!("cannot connect to broker {}", t.addr),
                    source,
                })?;
        }
    }
    let limit = c.duration.or(if c.count.is_none() {
        Some(Duration::from_secs(10))
    } else {
        None
    });
    out.note(&format!(
        "commit offsets of {} groups on {}: {}; {} in flight over {} connection(s)",
        args.groups,
        c.topic,
        route::describe(&targets),
        args.inflight,
        args.connections
    ));
    let shared = Arc::new(Shared {
        groups: (0..args.groups)
            .map(|i| format!("{}-{i}", args.group_prefix))
            .collect(),
        topic: c.topic.clone(),
        targets,
        stop: Stop::default(),
        budget: Budget::new(c.count),
        errors: ErrorLog::default(),
    });
    let recorders: Vec<Arc<Recorder>> = (0..args.inflight)
        .map(|_| Arc::new(Recorder::default()))
        .collect();
    let mut collector = Collector::new(recorders.clone(), Instant::now());
    let mut tasks = JoinSet::new();
    for (i, rec) in recorders.into_iter().enumerate() {
        tasks.spawn(committer(
            shared.clone(),
            clients[i % clients.len()].clone(),
            rec,
            i,
            args.inflight as usize,
        ));
    }
    let elapsed = drive(
        tasks,
        &mut collector,
        &shared.stop,
        limit,
        c.report_interval,
        c.timeout + Duration::from_secs(1),
        out,
    )
    .await;
    for client in &clients {
        client.remoting.close();
    }
    let params = json!({
        "inflight": args.inflight,
        "connections": args.connections,
        "groups": args.groups,
        "queues": shared.targets.len(),
        "duration_limit_secs": limit.map(|d| d.as_secs_f64()),
        "count_limit": c.count,
    });
    Ok(collector.summary("commit", &c.topic, elapsed, params))
}

/// One in-flight slot: walks its own share of the (group, queue) keys, committing increasing
/// offsets, so no two tasks race on a key.
async fn committer(
    s: Arc<Shared>,
    client: Arc<MqClient>,
    rec: Arc<Recorder>,
    index: usize,
    tasks: usize,
) {
    let keys = s.groups.len() * s.targets.len();
    let mut k = index % keys.max(1);
    let mut offset: i64 = 0;
    while !s.stop.is_set() && s.budget.claim(1) == 1 {
        let group = &s.groups[k / s.targets.len()];
        let t = &s.targets[k % s.targets.len()];
        k = (k + tasks) % keys.max(1);
        if k < tasks {
            offset += 1;
        }
        let cmd = requests::update_consumer_offset(group, &s.topic, t.queue_id, offset);
        let started = Instant::now();
        match client.remoting.invoke_raw(&t.addr, cmd).await {
            Ok(r) if r.code == rs::SUCCESS => rec.ok(1, 0, started.elapsed()),
            Ok(r) => {
                rec.error();
                s.errors.report(format!(
                    "commit refused: code {} {}",
                    r.code,
                    r.remark.unwrap_or_default()
                ));
            }
            Err(e) => {
                rec.error();
                s.errors.report(format!("commit failed: {e}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}
