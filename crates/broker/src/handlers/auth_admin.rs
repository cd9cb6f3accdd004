//! Users and ACLs over upstream's admin codes (AUTH_CREATE_USER 3001 … AUTH_LIST_ACL 3010), as
//! mqadmin `createUser` … `listAcl` and `ferromq admin user|acl` send them. Every change is on
//! disk before it is answered.

use std::sync::Arc;

use ferromq_auth::model::{Acl, PolicyType, Resource, UserInfo, UserType};
use ferromq_protocol::{Refusal, RemotingCommand};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::access::{self, USER_FIELD};
use crate::dispatch::Reply;
use crate::error::ReplyError;
use crate::Broker;

fn parse<T: DeserializeOwned>(req: &RemotingCommand) -> Result<T, ReplyError> {
    serde_json::from_slice(&req.body).map_err(|e| {
        Refusal::InvalidParameter(format!("the request body is not valid JSON: {e}")).into()
    })
}

fn json<T: Serialize>(v: &T) -> Reply {
    Ok(RemotingCommand::success().with_body(serde_json::to_vec(v).unwrap_or_default()))
}

/// Persists the change just made, then answers SUCCESS.
fn saved(b: &Broker) -> Reply {
    b.access
        .save()
        .map_err(|e| Refusal::SystemError(format!("cannot write the users and ACLs: {e}")))?;
    Ok(RemotingCommand::success())
}

fn store_err(e: ferromq_auth::AuthError) -> ReplyError {
    access::refusal(e).into()
}

/// Only a super user may make or change a super user (when requests are authenticated).
fn guard_super(
    b: &Broker,
    req: &RemotingCommand,
    target: Option<UserType>,
) -> Result<(), ReplyError> {
    let Some(caller) = req.ext(USER_FIELD) else {
        return Ok(());
    };
    let caller_is_super = b
        .access
        .store
        .user(caller)
        .is_some_and(|u| u.user_type == UserType::Super);
    if target == Some(UserType::Super) && !caller_is_super {
        return Err(Refusal::NoPermission {
            message: format!(
                "User:{caller} is not a super user: only a super user may make or change one"
            ),
            forbidden_type: None,
        }
        .into());
    }
    Ok(())
}

fn user_info(req: &RemotingCommand) -> Result<UserInfo, ReplyError> {
    let mut info: UserInfo = if req.body.is_empty() {
        UserInfo::default()
    } else {
        parse(req)?
    };
    if let Some(name) = req.ext("username").filter(|n| !n.is_empty()) {
        info.username = Some(name.to_string());
    }
    Ok(info)
}

/// AUTH_CREATE_USER (3001).
pub fn create_user(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let info = user_info(req)?;
    guard_super(b, req, info.user_type)?;
    b.access.store.create_user(&info).map_err(store_err)?;
    saved(b)
}

/// AUTH_UPDATE_USER (3002).
pub fn update_user(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let info = user_info(req)?;
    let existing = info
        .username
        .as_deref()
        .and_then(|n| b.access.store.user(n))
        .map(|u| u.user_type);
    guard_super(b, req, info.user_type.or(existing))?;
    b.access.store.update_user(&info).map_err(store_err)?;
    saved(b)
}

/// AUTH_DELETE_USER (3003): a user that does not exist is not an error.
pub fn delete_user(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let name = req.req_str("username")?;
    let ty = b.access.store.user(name).map(|u| u.user_type);
    guard_super(b, req, ty)?;
    if b.access.store.delete_user(name) {
        return saved(b);
    }
    Ok(RemotingCommand::success())
}

fn info_of(u: &ferromq_auth::User) -> UserInfo {
    UserInfo {
        username: Some(u.username.clone()),
        password: Some(u.password.clone()),
        user_type: Some(u.user_type),
        user_status: Some(u.user_status),
    }
}

/// AUTH_GET_USER (3004): the user (with its secret key, as upstream) or no body.
pub fn get_user(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let name = req.req_str("username")?;
    match b.access.store.user(name) {
        Some(u) => json(&info_of(&u)),
        None => Ok(RemotingCommand::success()),
    }
}

/// AUTH_LIST_USER (3005): users whose name contains `filter`.
pub fn list_users(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let users: Vec<UserInfo> = b
        .access
        .store
        .users(req.ext("filter").unwrap_or_default())
        .iter()
        .map(|u| info_of(u))
        .collect();
    json(&users)
}

/// AUTH_CREATE_ACL (3006) and AUTH_UPDATE_ACL (3007): create, or merge entries by resource.
pub fn put_acl(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let mut acl: serde_json::Value = parse(req)?;
    if acl.get("subject").and_then(|s| s.as_str()).is_none() {
        if let Some(s) = req.ext("subject") {
            acl["subject"] = s.into();
        }
    }
    let acl: Acl = serde_json::from_value(acl)
        .map_err(|e| Refusal::InvalidParameter(format!("the ACL is not valid: {e}")))?;
    b.access.store.put_acl(&acl).map_err(store_err)?;
    saved(b)
}

/// AUTH_DELETE_ACL (3008): the whole ACL, or one resource's entry.
pub fn delete_acl(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let subject = req.req_str("subject")?;
    let policy_type = req
        .ext("policyType")
        .filter(|s| !s.is_empty())
        .map(PolicyType::parse)
        .transpose()
        .map_err(Refusal::InvalidParameter)?;
    let resource = req
        .ext("resource")
        .filter(|s| !s.is_empty())
        .map(Resource::parse)
        .transpose()
        .map_err(Refusal::InvalidParameter)?;
    b.access
        .store
        .delete_acl(subject, policy_type, resource.as_ref())
        .map_err(store_err)?;
    saved(b)
}

/// AUTH_GET_ACL (3009).
pub fn get_acl(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let subject = req.req_str("subject")?;
    match b.access.store.acl(subject) {
        Some(acl) => json(&*acl),
        None => Ok(RemotingCommand::success()),
    }
}

/// AUTH_LIST_ACL (3010): filtered by subject and resource substrings.
pub fn list_acls(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let acls = b.access.store.acls(
        req.ext("subjectFilter").unwrap_or_default(),
        req.ext("resourceFilter").unwrap_or_default(),
    );
    json(&acls)
}
