//! Asking the name servers for a topic's route: which brokers hold it and with how many queues.
//! A broker needs the whole cluster's view to assign queues (QUERY_ASSIGNMENT) and to tell
//! whether a topic lives on it alone (reset notices).

use std::sync::Arc;
use std::time::Duration;

use ferromq_net::{ConnConfig, Connection, NoHandler};
use ferromq_protocol::body::TopicRouteData;
use ferromq_protocol::codes::{request, response};
use ferromq_protocol::RemotingCommand;

const ROUTE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the name servers say about `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAnswer {
    Found(TopicRouteData),
    /// A name server answered that no broker holds it.
    Unknown,
    /// No name server answered.
    Unreachable,
}

/// The route of `topic` from the first name server that answers (over TLS with `tls`).
pub async fn topic_route(
    namesrv: &[String],
    (tls, creds): (Option<&ferromq_tls::ClientTls>, Option<&(String, String)>),
    topic: &str,
) -> RouteAnswer {
    for addr in namesrv {
        let Ok(conn) = Connection::connect(
            addr,
            Arc::new(NoHandler),
            &ConnConfig::default(),
            ROUTE_TIMEOUT,
            tls,
        )
        .await
        else {
            continue;
        };
        let mut req =
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic);
        crate::access::sign_inner(creds, &mut req);
        let resp = conn.request(req, ROUTE_TIMEOUT).await;
        conn.close();
        match resp {
            Ok(r) if r.code == response::SUCCESS => {
                if let Ok(route) = ferromq_protocol::body::parse::<TopicRouteData>(&r.body) {
                    return RouteAnswer::Found(route);
                }
            }
            Ok(r) if r.code == response::TOPIC_NOT_EXIST => return RouteAnswer::Unknown,
            _ => {}
        }
    }
    RouteAnswer::Unreachable
}
