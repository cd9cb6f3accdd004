//! Registration with every name server: at start, every `register-interval-secs`, and at once
//! after any topic change. One persistent connection per name server; the name server drops
//! the broker when that connection closes or the broker goes silent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_net::{ConnConfig, Connection, NoHandler};
use ferromq_protocol::body::{self, RegisterBrokerBody};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::Broker;

const RPC_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(b: Arc<Broker>, registered: watch::Sender<bool>) {
    let addrs = b.cfg.namesrv_addrs();
    let mut conns: HashMap<String, Connection> = HashMap::new();
    let interval = Duration::from_secs(b.cfg.register_interval_secs.clamp(1, 60));
    let mut failures = 0u32;
    loop {
        let ok = register_all(&b, &addrs, &mut conns).await;
        if ok > 0 {
            failures = 0;
            registered.send_replace(true);
        } else {
            failures += 1;
        }
        // Retry quickly while no name server has accepted us yet.
        let wait = if ok == 0 {
            Duration::from_millis(500 * failures.min(10) as u64)
        } else {
            interval
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = b.topics.changed.notified() => {}
            _ = b.shutdown.cancelled() => break,
        }
    }
}

/// Registers with every name server concurrently; returns how many accepted.
async fn register_all(
    b: &Broker,
    addrs: &[String],
    conns: &mut HashMap<String, Connection>,
) -> usize {
    let mut request = registration(b);
    crate::access::sign_inner(b.inner_credentials.as_ref(), &mut request);
    for addr in addrs {
        if conns.get(addr).is_none_or(Connection::is_closed) {
            match Connection::connect(
                addr,
                Arc::new(NoHandler),
                &ConnConfig::default(),
                RPC_TIMEOUT,
                b.namesrv_tls.as_ref(),
            )
            .await
            {
                Ok(c) => {
                    conns.insert(addr.clone(), c);
                }
                Err(e) => {
                    warn!(namesrv = %addr, "cannot reach name server: {e}");
                    conns.remove(addr);
                }
            }
        }
    }
    let calls = conns.iter().map(|(addr, c)| {
        let req = request.clone();
        async move {
            match c.request(req, RPC_TIMEOUT).await {
                Ok(r) if r.code == rs::SUCCESS => {
                    debug!(namesrv = %addr, "registered");
                    true
                }
                Ok(r) => {
                    warn!(namesrv = %addr, code = r.code, remark = ?r.remark, "registration refused");
                    false
                }
                Err(e) => {
                    warn!(namesrv = %addr, "registration failed: {e}");
                    c.close();
                    false
                }
            }
        }
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count()
}

fn registration(b: &Broker) -> RemotingCommand {
    let body = body::to_vec(&RegisterBrokerBody {
        topic_config_serialize_wrapper: b.topics.wrapper(),
        filter_server_list: Vec::new(),
    });
    let crc = crc32fast::hash(&body) & 0x7FFF_FFFF;
    RemotingCommand::request(rq::REGISTER_BROKER)
        .with_ext("brokerName", &b.cfg.broker_name)
        .with_ext("brokerAddr", b.cfg.broker_addr())
        .with_ext("clusterName", &b.cfg.cluster)
        .with_ext(
            "haServerAddr",
            format!("{}:{}", b.cfg.host, b.cfg.port.wrapping_add(1)),
        )
        .with_ext("brokerId", 0)
        .with_ext("heartbeatTimeoutMillis", 120_000)
        .with_ext("compressed", false)
        .with_ext("bodyCrc32", crc)
        .with_ext(body::REGISTER_COMPLETE_TABLE_EXT, true)
        .with_body(body)
}

/// Tells every name server this broker is leaving (best effort, bounded).
pub async fn unregister_all(b: &Broker) {
    let calls = b.cfg.namesrv_addrs().into_iter().map(|addr| async move {
        let mut req = RemotingCommand::request(rq::UNREGISTER_BROKER)
            .with_ext("brokerName", &b.cfg.broker_name)
            .with_ext("brokerAddr", b.cfg.broker_addr())
            .with_ext("clusterName", &b.cfg.cluster)
            .with_ext("brokerId", 0);
        crate::access::sign_inner(b.inner_credentials.as_ref(), &mut req);
        let timeout = Duration::from_secs(2);
        let connected = Connection::connect(
            &addr,
            Arc::new(NoHandler),
            &ConnConfig::default(),
            timeout,
            b.namesrv_tls.as_ref(),
        )
        .await;
        if let Ok(c) = connected {
            let _ = c.request(req, timeout).await;
            c.close();
        }
    });
    futures::future::join_all(calls).await;
}
