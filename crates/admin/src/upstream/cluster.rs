//! clusterList and brokerStatus, and which masters a command goes to (`-c` a cluster, `-b` one
//! broker).

use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use super::broadcast::ask;
use crate::args::Output;
use crate::cluster::Broker;
use crate::output::{print_json, table};
use crate::{AdminError, Ctx, EXIT_OK};

/// clusterList: every broker (masters and slaves) of every cluster.
///
/// # Errors
/// When no name server answers.
pub(super) async fn cluster_list(ctx: &Ctx) -> Result<i32, AdminError> {
    let info = ctx.cluster.cluster_info().await?;
    let mut rows = Vec::new();
    let mut js = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        for n in names {
            if let Some(b) = info.broker_addr_table.get(n) {
                for (id, addr) in &b.broker_addrs {
                    rows.push(vec![cluster.clone(), n.clone(), id.clone(), addr.clone()]);
                    js.push(
                        json!({"cluster": cluster, "brokerName": n, "brokerId": id, "addr": addr}),
                    );
                }
            }
        }
    }
    if ctx.output == Output::Json {
        print_json(&json!({ "brokers": js }));
    } else {
        print!("{}", table(&["CLUSTER", "BROKER", "BID", "ADDR"], &rows));
    }
    Ok(EXIT_OK)
}

/// brokerStatus: the runtime table (GET_BROKER_RUNTIME_INFO) of one broker, or of every master.
///
/// # Errors
/// When no name server answers, or a broker fails.
pub(super) async fn broker_status(
    ctx: &Ctx,
    broker_addr: Option<String>,
) -> Result<i32, AdminError> {
    let brokers = match broker_addr {
        Some(a) => vec![pinned(a)],
        None => ctx.cluster.all_brokers().await?,
    };
    let mut all: Vec<(Broker, Value)> = Vec::new();
    for b in brokers {
        let v = ask(
            ctx,
            &b,
            RemotingCommand::request(rq::GET_BROKER_RUNTIME_INFO),
        )
        .await?;
        all.push((b, v["table"].clone()));
    }
    if ctx.output == Output::Json {
        let js: Vec<Value> = all
            .iter()
            .map(|(b, t)| json!({"brokerName": b.name, "addr": b.addr, "table": t}))
            .collect();
        print_json(&json!({ "brokers": js }));
    } else {
        for (b, t) in &all {
            println!("{} ({})", b.name, b.addr);
            for (k, v) in t.as_object().into_iter().flatten() {
                println!(
                    "  {k:<40} : {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                );
            }
        }
    }
    Ok(EXIT_OK)
}

/// The broker at `addr`, named by its address (mqadmin's `-b`).
fn pinned(addr: String) -> Broker {
    Broker {
        name: addr.clone(),
        addr,
    }
}

/// `-b` one broker, else every master of `-c` the cluster.
///
/// # Errors
/// When the cluster is unknown or has no master.
pub(super) async fn where_to(
    ctx: &Ctx,
    cluster: Option<String>,
    broker_addr: Option<String>,
) -> Result<Vec<Broker>, AdminError> {
    match broker_addr {
        Some(a) => Ok(vec![pinned(a)]),
        None => masters_of(ctx, cluster.as_deref().unwrap_or_default()).await,
    }
}

/// The masters of a cluster.
///
/// # Errors
/// When no name server answers, the cluster is unknown or has no master.
pub(super) async fn masters_of(ctx: &Ctx, cluster: &str) -> Result<Vec<Broker>, AdminError> {
    let info = ctx.cluster.cluster_info().await?;
    let names = info.cluster_addr_table.get(cluster).ok_or_else(|| {
        AdminError::Failed(format!(
            "no cluster named {cluster} (clusters: {})",
            info.cluster_addr_table
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let v: Vec<Broker> = names
        .iter()
        .filter_map(|n| info.broker_addr_table.get(n))
        .filter_map(|b| {
            b.master_addr().map(|a| Broker {
                name: b.broker_name.clone(),
                addr: a.to_string(),
            })
        })
        .collect();
    if v.is_empty() {
        return Err(AdminError::Failed(format!(
            "cluster {cluster} has no master"
        )));
    }
    Ok(v)
}
