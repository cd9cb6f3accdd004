//! The authorization decision, as upstream's ACL 2.0 makes it: super users pass; otherwise,
//! for each resource a request touches, the most specific entry matching the resource, one of the
//! actions and the source address decides (custom policy first, the default policy only when no
//! custom entry matches); no matching entry denies.

use std::net::IpAddr;

use crate::model::{Acl, Action, Decision, PolicyEntry, PolicyType, Resource, User, UserType};

/// One thing a request does: any of `actions` on `resource` is enough (a route lookup is
/// allowed with Pub or Sub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub resource: Resource,
    pub actions: Vec<Action>,
}

impl Request {
    pub fn new(resource: Resource, actions: &[Action]) -> Self {
        Self {
            resource,
            actions: actions.to_vec(),
        }
    }
}

/// Why a request was refused, naming the permission it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn actions_match(entry: &PolicyEntry, wanted: &[Action]) -> bool {
    entry.actions.contains(&Action::All) || wanted.iter().any(|a| entry.actions.contains(a))
}

fn source_matches(entry: &PolicyEntry, ip: Option<IpAddr>) -> bool {
    if entry.source_ips.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    entry
        .source_ips
        .iter()
        .any(|s| match s.parse::<ipnet::IpNet>() {
            Ok(net) => net.contains(&ip),
            Err(_) => s.parse::<IpAddr>().is_ok_and(|a| a == ip),
        })
}

/// Checks a source-address entry as the admin codes accept it: an address or a CIDR range.
///
/// # Errors
/// Anything else (upstream's 1.0 wildcards such as `10.*` included).
pub fn validate_source_ip(s: &str) -> Result<(), String> {
    if s.parse::<ipnet::IpNet>().is_ok() || s.parse::<IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "source ip {s:?} is not an address or a CIDR range (10.0.0.0/8)"
        ))
    }
}

/// The entry that decides `req`, if any.
fn deciding<'a>(acl: &'a Acl, req: &Request, ip: Option<IpAddr>) -> Option<&'a PolicyEntry> {
    for kind in [PolicyType::Custom, PolicyType::Default] {
        let best = acl
            .policies
            .iter()
            .filter(|p| p.policy_type == kind)
            .flat_map(|p| &p.entries)
            .filter(|e| e.resource.covers(&req.resource))
            .filter(|e| actions_match(e, &req.actions))
            .filter(|e| source_matches(e, ip))
            // The most specific wins; between equals, a deny.
            .max_by_key(|e| (e.resource.specificity(), e.decision == Decision::Deny));
        if best.is_some() {
            return best;
        }
    }
    None
}

/// Whether `user` (with its ACL) may make every one of `requests` from `ip`.
///
/// # Errors
/// The first request refused, with the resource, the actions and the reason.
pub fn authorize(
    user: &User,
    acl: Option<&Acl>,
    requests: &[Request],
    ip: Option<IpAddr>,
) -> Result<(), Denied> {
    if user.user_type == UserType::Super {
        return Ok(());
    }
    for req in requests {
        let entry = acl.and_then(|acl| deciding(acl, req, ip));
        let reason = match entry {
            Some(e) if e.decision == Decision::Allow => continue,
            Some(e) => format!("denied by the entry for {}", e.resource),
            None => "no policy allows it".to_string(),
        };
        let actions: Vec<&str> = req.actions.iter().map(|a| a.name()).collect();
        let from = ip.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string());
        return Err(Denied(format!(
            "{} has no permission {} on {} from {from}: {reason}",
            user.subject(),
            actions.join("|"),
            req.resource,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Policy, UserStatus};

    fn user(t: UserType) -> User {
        User {
            username: "alice".into(),
            password: "s".into(),
            user_type: t,
            user_status: UserStatus::Enable,
        }
    }

    fn entry(resource: &str, actions: &[Action], decision: Decision, ips: &[&str]) -> PolicyEntry {
        PolicyEntry {
            resource: Resource::parse(resource).unwrap(),
            actions: actions.to_vec(),
            source_ips: ips.iter().map(|s| s.to_string()).collect(),
            decision,
        }
    }

    fn acl(entries: Vec<PolicyEntry>) -> Acl {
        Acl {
            subject: "User:alice".into(),
            policies: vec![Policy {
                policy_type: PolicyType::Custom,
                entries,
            }],
        }
    }

    #[test]
    fn the_most_specific_matching_entry_decides() {
        let u = user(UserType::Normal);
        let a = acl(vec![
            entry("Topic:*", &[Action::Pub], Decision::Allow, &[]),
            entry("Topic:secret*", &[Action::Pub], Decision::Deny, &[]),
            entry("Topic:secret-ok", &[Action::Pub], Decision::Allow, &[]),
        ]);
        let pub_on = |t: &str| vec![Request::new(Resource::topic(t), &[Action::Pub])];
        assert!(authorize(&u, Some(&a), &pub_on("orders"), None).is_ok());
        let e = authorize(&u, Some(&a), &pub_on("secret-1"), None).unwrap_err();
        assert!(e.0.contains("Pub on Topic:secret-1"), "{e}");
        assert!(authorize(&u, Some(&a), &pub_on("secret-ok"), None).is_ok());
        // No entry for Sub: denied.
        let sub = vec![Request::new(Resource::topic("orders"), &[Action::Sub])];
        assert!(authorize(&u, Some(&a), &sub, None).is_err());
        assert!(authorize(&u, None, &sub, None).is_err());
        assert!(authorize(&user(UserType::Super), None, &sub, None).is_ok());
    }

    #[test]
    fn source_addresses_restrict_entries() {
        let u = user(UserType::Normal);
        let a = acl(vec![entry(
            "Group:g",
            &[Action::Sub],
            Decision::Allow,
            &["10.0.0.0/8", "192.168.1.7"],
        )]);
        let r = vec![Request::new(Resource::group("g"), &[Action::Sub])];
        assert!(authorize(&u, Some(&a), &r, Some("10.1.2.3".parse().unwrap())).is_ok());
        assert!(authorize(&u, Some(&a), &r, Some("192.168.1.7".parse().unwrap())).is_ok());
        assert!(authorize(&u, Some(&a), &r, Some("127.0.0.1".parse().unwrap())).is_err());
        assert!(authorize(&u, Some(&a), &r, None).is_err());
        assert!(validate_source_ip("10.*").is_err());
    }

    #[test]
    fn all_covers_reset_offset_and_any_one_action_is_enough() {
        let u = user(UserType::Normal);
        let a = acl(vec![
            entry("Group:g", &[Action::Sub], Decision::Allow, &[]),
            entry("Group:ops*", &[Action::All], Decision::Allow, &[]),
        ]);
        let reset = |g: &str| vec![Request::new(Resource::group(g), &[Action::ResetOffset])];
        assert!(authorize(&u, Some(&a), &reset("g"), None).is_err());
        assert!(authorize(&u, Some(&a), &reset("ops-1"), None).is_ok());
        let route = vec![Request::new(
            Resource::group("g"),
            &[Action::Sub, Action::Get],
        )];
        assert!(authorize(&u, Some(&a), &route, None).is_ok());
    }
}
