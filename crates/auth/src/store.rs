//! The users and ACLs. Lookups on the request path take a read lock and clone an `Arc`; every
//! change returns the new snapshot to persist ([`AuthStore::to_json`]) before it is answered.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decide::validate_source_ip;
use crate::model::{
    Acl, Action, Policy, PolicyType, Resource, User, UserInfo, UserStatus, UserType,
};

/// Why an admin change was refused (answered NO_PERMISSION (16) or INVALID_PARAMETER (29), as
/// upstream does).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    /// The request is malformed (a blank name, an unknown action, a bad address).
    #[error("{0}")]
    Invalid(String),
    /// It contradicts what is stored (a user that exists, or does not).
    #[error("{0}")]
    Conflict(String),
    /// The stored file does not parse: the process must not start open.
    #[error("{0}")]
    Corrupt(String),
}

/// The file's shape: every user and every ACL.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    users: Vec<User>,
    acls: Vec<Acl>,
}

#[derive(Default)]
struct Tables {
    users: BTreeMap<String, Arc<User>>,
    acls: BTreeMap<String, Arc<Acl>>,
}

/// Users by name and ACLs by subject.
#[derive(Default)]
pub struct AuthStore {
    tables: RwLock<Tables>,
}

fn invalid(msg: impl Into<String>) -> AuthError {
    AuthError::Invalid(msg.into())
}

fn check_acl(acl: &Acl) -> Result<(), AuthError> {
    if !acl.subject.starts_with("User:") || acl.subject.len() <= "User:".len() {
        return Err(invalid(format!(
            "subject {:?} is not User:<name>",
            acl.subject
        )));
    }
    if acl.policies.is_empty() || acl.policies.iter().any(|p| p.entries.is_empty()) {
        return Err(invalid("an ACL needs at least one policy entry"));
    }
    for e in acl.policies.iter().flat_map(|p| &p.entries) {
        if e.actions.is_empty() || e.actions.contains(&Action::Any) {
            return Err(invalid(format!(
                "the entry for {} needs actions, and Any is not one",
                e.resource
            )));
        }
        for ip in &e.source_ips {
            validate_source_ip(ip).map_err(AuthError::Invalid)?;
        }
    }
    Ok(())
}

impl AuthStore {
    /// Reads a snapshot written by [`AuthStore::to_json`]; `origin` names it in errors.
    ///
    /// # Errors
    /// [`AuthError::Corrupt`] naming the line and column, or the entry that is not valid.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<Self, AuthError> {
        let snap: Snapshot = serde_json::from_slice(bytes)
            .map_err(|e| AuthError::Corrupt(format!("{origin}: {e}")))?;
        let store = AuthStore::default();
        {
            let mut t = store.tables.write();
            for u in snap.users {
                if u.username.trim().is_empty() {
                    return Err(AuthError::Corrupt(format!(
                        "{origin}: a user without a name"
                    )));
                }
                t.users.insert(u.username.clone(), Arc::new(u));
            }
            for a in snap.acls {
                check_acl(&a).map_err(|e| AuthError::Corrupt(format!("{origin}: {e}")))?;
                t.acls.insert(a.subject.clone(), Arc::new(a));
            }
        }
        Ok(store)
    }

    /// Takes every user and ACL of `other` in place of this store's (a reloaded file).
    pub fn replace_with(&self, other: AuthStore) {
        let new = other.tables.into_inner();
        *self.tables.write() = new;
    }

    /// Everything, to be written durably.
    pub fn to_json(&self) -> Vec<u8> {
        let t = self.tables.read();
        let snap = Snapshot {
            users: t.users.values().map(|u| (**u).clone()).collect(),
            acls: t.acls.values().map(|a| (**a).clone()).collect(),
        };
        serde_json::to_vec_pretty(&snap).unwrap_or_default()
    }

    pub fn user(&self, name: &str) -> Option<Arc<User>> {
        self.tables.read().users.get(name).cloned()
    }

    pub fn acl(&self, subject: &str) -> Option<Arc<Acl>> {
        self.tables.read().acls.get(subject).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.read().users.is_empty()
    }

    /// Users whose name contains `filter`.
    pub fn users(&self, filter: &str) -> Vec<Arc<User>> {
        let t = self.tables.read();
        t.users
            .values()
            .filter(|u| u.username.contains(filter))
            .cloned()
            .collect()
    }

    /// # Errors
    /// A blank name or password, or a user of that name.
    pub fn create_user(&self, info: &UserInfo) -> Result<(), AuthError> {
        let name = info.username.as_deref().unwrap_or_default().trim();
        let password = info.password.as_deref().unwrap_or_default();
        if name.is_empty() {
            return Err(invalid("the username is blank"));
        }
        if password.is_empty() {
            return Err(invalid("the password is blank"));
        }
        let mut t = self.tables.write();
        if t.users.contains_key(name) {
            return Err(AuthError::Conflict(format!("user {name} exists")));
        }
        let user = User {
            username: name.to_string(),
            password: password.to_string(),
            user_type: info.user_type.unwrap_or(UserType::Normal),
            user_status: info.user_status.unwrap_or(UserStatus::Enable),
        };
        t.users.insert(name.to_string(), Arc::new(user));
        Ok(())
    }

    /// Changes what `info` names (password, type, status).
    ///
    /// # Errors
    /// No such user.
    pub fn update_user(&self, info: &UserInfo) -> Result<(), AuthError> {
        let name = info.username.as_deref().unwrap_or_default().trim();
        let mut t = self.tables.write();
        let Some(old) = t.users.get(name) else {
            return Err(AuthError::Conflict(format!("user {name:?} does not exist")));
        };
        let mut user = (**old).clone();
        if let Some(p) = info.password.as_deref().filter(|p| !p.is_empty()) {
            user.password = p.to_string();
        }
        if let Some(ty) = info.user_type {
            user.user_type = ty;
        }
        if let Some(st) = info.user_status {
            user.user_status = st;
        }
        t.users.insert(name.to_string(), Arc::new(user));
        Ok(())
    }

    /// Deletes a user and its ACL; `false` when there was none (not an error, as upstream).
    pub fn delete_user(&self, name: &str) -> bool {
        let mut t = self.tables.write();
        t.acls.remove(&format!("User:{name}"));
        t.users.remove(name).is_some()
    }

    /// Creates the subject's ACL, or merges into it: an entry replaces the one for the same
    /// resource in the same kind of policy.
    ///
    /// # Errors
    /// An invalid ACL, or a subject that is no user.
    pub fn put_acl(&self, acl: &Acl) -> Result<(), AuthError> {
        check_acl(acl)?;
        let mut t = self.tables.write();
        let name = &acl.subject["User:".len()..];
        if !t.users.contains_key(name) {
            return Err(AuthError::Conflict(format!(
                "the subject {} is not a user",
                acl.subject
            )));
        }
        let mut merged = t
            .acls
            .get(&acl.subject)
            .map(|a| (**a).clone())
            .unwrap_or_else(|| Acl {
                subject: acl.subject.clone(),
                policies: vec![],
            });
        for p in &acl.policies {
            let target = match merged
                .policies
                .iter_mut()
                .position(|q| q.policy_type == p.policy_type)
            {
                Some(i) => &mut merged.policies[i],
                None => {
                    merged.policies.push(Policy {
                        policy_type: p.policy_type,
                        entries: vec![],
                    });
                    merged.policies.last_mut().unwrap_or_else(|| unreachable!())
                }
            };
            for e in &p.entries {
                target.entries.retain(|x| x.resource != e.resource);
                target.entries.push(e.clone());
            }
        }
        t.acls.insert(acl.subject.clone(), Arc::new(merged));
        Ok(())
    }

    /// Deletes the subject's whole ACL, or only its entry for `resource` in the policy of
    /// `policy_type` (custom when not given).
    ///
    /// # Errors
    /// No such ACL or entry.
    pub fn delete_acl(
        &self,
        subject: &str,
        policy_type: Option<PolicyType>,
        resource: Option<&Resource>,
    ) -> Result<(), AuthError> {
        let mut t = self.tables.write();
        let Some(old) = t.acls.get(subject) else {
            return Err(AuthError::Conflict(format!("no ACL for {subject}")));
        };
        let Some(resource) = resource else {
            t.acls.remove(subject);
            return Ok(());
        };
        let kind = policy_type.unwrap_or(PolicyType::Custom);
        let mut acl = (**old).clone();
        let before: usize = acl.policies.iter().map(|p| p.entries.len()).sum();
        for p in acl.policies.iter_mut().filter(|p| p.policy_type == kind) {
            p.entries.retain(|e| &e.resource != resource);
        }
        acl.policies.retain(|p| !p.entries.is_empty());
        let after: usize = acl.policies.iter().map(|p| p.entries.len()).sum();
        if before == after {
            return Err(AuthError::Conflict(format!(
                "the ACL of {subject} has no {kind} entry for {resource}"
            )));
        }
        if acl.policies.is_empty() {
            t.acls.remove(subject);
        } else {
            t.acls.insert(subject.to_string(), Arc::new(acl));
        }
        Ok(())
    }

    /// ACLs whose subject contains `subject_filter`, with only the entries whose resource
    /// contains `resource_filter` (all of them when the subject itself matches it).
    pub fn acls(&self, subject_filter: &str, resource_filter: &str) -> Vec<Acl> {
        let t = self.tables.read();
        t.acls
            .values()
            .filter(|a| a.subject.contains(subject_filter))
            .filter_map(|a| {
                let mut a = (**a).clone();
                if !resource_filter.is_empty() && !a.subject.contains(resource_filter) {
                    for p in &mut a.policies {
                        p.entries
                            .retain(|e| e.resource.to_string().contains(resource_filter));
                    }
                    a.policies.retain(|p| !p.entries.is_empty());
                }
                (!a.policies.is_empty()).then_some(a)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Decision, PolicyEntry};

    fn info(name: &str, password: &str) -> UserInfo {
        UserInfo {
            username: Some(name.into()),
            password: Some(password.into()),
            ..UserInfo::default()
        }
    }

    fn acl(subject: &str, resource: &str, actions: &[Action]) -> Acl {
        Acl {
            subject: subject.into(),
            policies: vec![Policy {
                policy_type: PolicyType::Custom,
                entries: vec![PolicyEntry {
                    resource: Resource::parse(resource).unwrap(),
                    actions: actions.to_vec(),
                    source_ips: vec![],
                    decision: Decision::Allow,
                }],
            }],
        }
    }

    #[test]
    fn users_and_acls_round_trip_through_the_snapshot() {
        let s = AuthStore::default();
        s.create_user(&info("alice", "pw")).unwrap();
        assert!(matches!(
            s.create_user(&info("alice", "x")),
            Err(AuthError::Conflict(_))
        ));
        assert!(matches!(
            s.create_user(&info(" ", "x")),
            Err(AuthError::Invalid(_))
        ));
        s.put_acl(&acl("User:alice", "Topic:a", &[Action::Pub]))
            .unwrap();
        s.put_acl(&acl("User:alice", "Topic:a", &[Action::Sub]))
            .unwrap();
        s.put_acl(&acl("User:alice", "Group:g", &[Action::Sub]))
            .unwrap();
        assert!(s
            .put_acl(&acl("User:bob", "Topic:a", &[Action::Pub]))
            .is_err());
        assert!(s
            .put_acl(&acl("User:alice", "Topic:a", &[Action::Any]))
            .is_err());
        let a = s.acl("User:alice").unwrap();
        assert_eq!(
            a.policies[0].entries.len(),
            2,
            "the second put replaced Topic:a"
        );

        let back = AuthStore::from_json(&s.to_json(), "auth.json").unwrap();
        assert_eq!(back.user("alice").unwrap().password, "pw");
        assert_eq!(*back.acl("User:alice").unwrap(), *a);
        assert_eq!(back.acls("", "Group").len(), 1);
        assert_eq!(back.acls("", "Group")[0].policies[0].entries.len(), 1);

        back.delete_acl("User:alice", None, Some(&Resource::topic("a")))
            .unwrap();
        assert_eq!(back.acl("User:alice").unwrap().policies[0].entries.len(), 1);
        assert!(back.delete_user("alice"));
        assert!(back.acl("User:alice").is_none());
    }

    #[test]
    fn a_file_that_does_not_parse_names_the_line() {
        let e = AuthStore::from_json(
            b"{\n  \"users\": [\n    {\"username\": 1}\n  ]\n}",
            "auth.json",
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().contains("auth.json") && e.to_string().contains("line 3"),
            "{e}"
        );
    }
}
