//! Authentication and authorization of gRPC calls, when the broker has them on: the 5.x
//! clients' `authorization` header (`MQv2-HMAC-SHA1 Credential=<ak>, SignedHeaders=
//! x-mq-date-time, Signature=<hex>`, an HMAC of the `x-mq-date-time` header) and the same ACLs
//! as Remoting. A refusal is the RPC's answer with status UNAUTHORIZED (40100), as upstream's
//! proxy answers both kinds.

use std::net::SocketAddr;

use ferromq_auth::signature::{parse_grpc_authorization, verify_grpc};
use ferromq_auth::{Action, Request as Wanted, Resource};
use ferromq_broker::{access, Broker};
use ferromq_protocol::grpc::{self as v2, Code};
use tonic::Request;

use crate::status::status;

/// Who sent the call, checked, and whether they may make what `wanted` lists (built only when
/// authorization is on: with it off a call pays one flag test).
///
/// # Errors
/// The v2 status to answer with.
pub fn check<T>(
    b: &Broker,
    req: &Request<T>,
    peer: SocketAddr,
    wanted: impl FnOnce() -> Vec<Wanted>,
) -> Result<(), v2::Status> {
    if !b.cfg.authentication_enabled {
        return Ok(());
    }
    let refuse = |m: String| status(Code::Unauthorized, m);
    let header = |k: &str| req.metadata().get(k).and_then(|v| v.to_str().ok());
    let Some(auth) = header("authorization") else {
        return Err(refuse(
            "the call carries no authorization header: this broker requires credentials".into(),
        ));
    };
    let date_time = header("x-mq-date-time").unwrap_or_default();
    let parsed = parse_grpc_authorization(auth).map_err(refuse)?;
    let user = access::known_user(&b.access, &parsed.access_key).map_err(refuse)?;
    if !verify_grpc(&user.password, date_time, &parsed.signature) {
        return Err(refuse(format!(
            "User:{}: the call's signature does not match (wrong secret key)",
            user.username
        )));
    }
    if b.cfg.authorization_enabled {
        access::authorize(&b.access, &user, &wanted(), peer.ip()).map_err(refuse)?;
    }
    Ok(())
}

fn named(r: &Option<v2::Resource>) -> Option<&str> {
    r.as_ref()
        .map(|r| r.name.as_str())
        .filter(|n| !n.is_empty())
}

/// Pub on each topic named.
pub fn publish<'a>(topics: impl Iterator<Item = &'a Option<v2::Resource>>) -> Vec<Wanted> {
    let mut v: Vec<Wanted> = topics
        .filter_map(named)
        .map(|t| Wanted::new(Resource::topic(t), &[Action::Pub]))
        .collect();
    v.dedup();
    v
}

/// Sub on the group and, when named, the topic.
pub fn subscribe(
    group: &Option<v2::Resource>,
    topic: Option<&Option<v2::Resource>>,
) -> Vec<Wanted> {
    let mut v: Vec<Wanted> = named(group)
        .map(|g| Wanted::new(Resource::group(g), &[Action::Sub]))
        .into_iter()
        .collect();
    if let Some(t) = topic.and_then(named).filter(|t| !t.starts_with("%RETRY%")) {
        v.push(Wanted::new(Resource::topic(t), &[Action::Sub]));
    }
    v
}

/// A route lookup: Pub or Sub on the topic.
pub fn route(topic: &Option<v2::Resource>) -> Vec<Wanted> {
    named(topic)
        .map(|t| Wanted::new(Resource::topic(t), &[Action::Pub, Action::Sub]))
        .into_iter()
        .collect()
}
