//! Authentication and ACLs (`ferromq_auth`): the users-and-ACLs file read at start and on
//! reload, the admin codes' `UserInfo` and `AclInfo` bodies, the gRPC `authorization` header,
//! resource names and source addresses, and the decisions made from what was parsed. The first
//! byte picks the mode:
//!
//! - 0: the file (`AuthStore::from_json`); what loads must write and load again unchanged;
//! - 1: a `UserInfo` body, created then updated in a store;
//! - 2: an `AclInfo` body put into a store: an accepted ACL must survive the file round trip,
//!   and decisions are made from it for the resources and addresses that follow it;
//! - 3: a gRPC `authorization` header, then the signature check against it;
//! - other: resource, action and address parsers on the text.
#![no_main]

use std::net::IpAddr;

use ferromq_auth::decide::{authorize, validate_source_ip};
use ferromq_auth::model::{Action, UserInfo, UserStatus, UserType};
use ferromq_auth::signature::{parse_grpc_authorization, verify_grpc};
use ferromq_auth::{Acl, AuthStore, Request, Resource, User};
use libfuzzer_sys::fuzz_target;

/// A store's file, reloaded: its users and ACLs, written again (the comparison form).
fn reloaded(store: &AuthStore) -> Vec<u8> {
    let json = store.to_json();
    let again = AuthStore::from_json(&json, "fuzz round trip")
        .unwrap_or_else(|e| panic!("a written file does not load: {e}"));
    again.to_json()
}

fn file(data: &[u8]) {
    let Ok(store) = AuthStore::from_json(data, "fuzz") else {
        return;
    };
    let json = store.to_json();
    assert_eq!(reloaded(&store), json, "the file changed across a reload");
    for u in store.users("") {
        let _ = store.acl(&u.subject());
    }
    let _ = store.acls("", "");
    let _ = store.acls("User:", "Topic:");
}

fn user_info(data: &[u8]) {
    let Ok(info) = serde_json::from_slice::<UserInfo>(data) else {
        return;
    };
    let store = AuthStore::default();
    if store.create_user(&info).is_ok() {
        let _ = store.update_user(&info);
        let _ = reloaded(&store);
    }
}

fn acl_info(data: &[u8]) {
    // The ACL's JSON, then lines of `resource ip` to decide on.
    let (json, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(acl) = serde_json::from_slice::<Acl>(json) else {
        return;
    };
    let store = AuthStore::default();
    if store.put_acl(&acl).is_err() {
        return;
    }
    let json = store.to_json();
    assert_eq!(
        reloaded(&store),
        json,
        "an accepted ACL changed across a reload"
    );
    let user = User {
        username: acl.subject.trim_start_matches("User:").to_string(),
        password: "p".into(),
        user_type: UserType::Normal,
        user_status: UserStatus::Enable,
    };
    let stored = store.acl(&acl.subject);
    for line in String::from_utf8_lossy(rest).lines().take(16) {
        let (res, ip) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(resource) = Resource::parse(res) else {
            continue;
        };
        let ip = ip.parse::<IpAddr>().ok();
        let requests = [Request::new(resource, &[Action::Pub, Action::Sub])];
        let _ = authorize(&user, stored.as_deref(), &requests, ip);
    }
}

fn header(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(auth) = parse_grpc_authorization(&text) {
        let _ = verify_grpc("secret", "20261207T000000Z", &auth.signature);
    }
}

fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for part in text.split(['\n', ',']).take(32) {
        if let Ok(r) = Resource::parse(part) {
            let _ = r.to_string();
            let _ = r.specificity();
            let _ = r.covers(&Resource::topic(part));
        }
        let _ = Action::parse(part);
        let _ = validate_source_ip(part);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => file(rest),
        1 => user_info(rest),
        2 => acl_info(rest),
        3 => header(rest),
        _ => names(rest),
    }
});
