//! The ACL 2.0 model with upstream's names. Enum names are read case-insensitively and written
//! in upstream's spelling (`Pub`, `Allow`, `Super`, `enable`), as the admin codes' JSON carries them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Upstream's enums travel as names: this writes the canonical one and reads any case.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// # Errors
            /// An unknown name.
            pub fn parse(s: &str) -> Result<Self, String> {
                $(if s.trim().eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(format!(concat!("unknown ", stringify!($name), " {:?}"), s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum!(
    /// SUPER users pass every authorization check (they are still authenticated).
    UserType { Super => "Super", Normal => "Normal" }
);
named_enum!(UserStatus { Enable => "enable", Disable => "disable" });
named_enum!(Decision { Allow => "Allow", Deny => "Deny" });
named_enum!(PolicyType { Custom => "Custom", Default => "Default" });
named_enum!(
    /// Upstream's actions, plus ferromq's `ResetOffset`: changing a group's progress other than
    /// by consuming (resets, clones, imports, deletes and undos of offsets). Upstream lets SUB
    /// rewind or skip a group; here a consumer's SUB commits only within what its group pulled.
    Action {
        All => "All",
        Any => "Any",
        Pub => "Pub",
        Sub => "Sub",
        Create => "Create",
        Update => "Update",
        Delete => "Delete",
        Get => "Get",
        List => "List",
        ResetOffset => "ResetOffset",
    }
);
named_enum!(ResourceType { Cluster => "Cluster", Namespace => "Namespace", Topic => "Topic", Group => "Group" });

/// A user: the access key is `username`, the secret key `password` (upstream's names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub user_status: UserStatus,
}

impl User {
    /// `User:<name>`, the subject its ACL is stored under.
    pub fn subject(&self) -> String {
        format!("User:{}", self.username)
    }
}

/// `UserInfo` of the admin codes: every field optional (an update names what changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<UserType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<UserStatus>,
}

/// What a policy entry names: every resource (`*`), every resource of a type (`Topic:*`), the
/// ones starting with a prefix (`Topic:order*`) or one (`Topic:orders`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    Any,
    AllOf(ResourceType),
    Prefixed(ResourceType, String),
    Literal(ResourceType, String),
}

impl Resource {
    /// # Errors
    /// An unknown type, or an empty name.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(Resource::Any);
        }
        let (ty, name) = s.split_once(':').ok_or_else(|| {
            format!("resource {s:?} is not Type:name (Topic:, Group:, Cluster:) or *")
        })?;
        let ty = ResourceType::parse(ty)?;
        match name.split_once('*') {
            _ if name.is_empty() => Err(format!("resource {s:?} has no name")),
            Some(("", _)) => Ok(Resource::AllOf(ty)),
            Some((prefix, _)) => Ok(Resource::Prefixed(ty, prefix.to_string())),
            None => Ok(Resource::Literal(ty, name.to_string())),
        }
    }

    pub fn topic(name: &str) -> Self {
        Resource::Literal(ResourceType::Topic, name.to_string())
    }

    /// A group; a retry or dead-letter topic names its group (`%RETRY%g` → `Group:g`).
    pub fn group(name: &str) -> Self {
        let bare = name
            .strip_prefix("%RETRY%")
            .or_else(|| name.strip_prefix("%DLQ%"))
            .unwrap_or(name);
        Resource::Literal(ResourceType::Group, bare.to_string())
    }

    pub fn cluster(name: &str) -> Self {
        Resource::Literal(ResourceType::Cluster, name.to_string())
    }

    /// Whether this pattern covers `r` (a literal resource of a request).
    pub fn covers(&self, r: &Resource) -> bool {
        let Resource::Literal(rt, rn) = r else {
            return false;
        };
        match self {
            Resource::Any => true,
            Resource::AllOf(t) => t == rt,
            Resource::Prefixed(t, p) => t == rt && rn.starts_with(p.as_str()),
            Resource::Literal(t, n) => t == rt && n == rn,
        }
    }

    /// How specific the pattern is (greater wins): a literal, then longer prefixes, then
    /// every resource of a type, then `*`.
    pub fn specificity(&self) -> (u8, usize) {
        match self {
            Resource::Any => (0, 0),
            Resource::AllOf(_) => (1, 0),
            Resource::Prefixed(_, p) => (2, p.len()),
            Resource::Literal(..) => (3, 0),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Any => f.write_str("*"),
            Resource::AllOf(t) => write!(f, "{t}:*"),
            Resource::Prefixed(t, p) => write!(f, "{t}:{p}*"),
            Resource::Literal(t, n) => write!(f, "{t}:{n}"),
        }
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Resource::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One rule: actions on a resource, from addresses, allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntry {
    pub resource: Resource,
    pub actions: Vec<Action>,
    /// Addresses or CIDR ranges; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(default = "custom")]
    pub policy_type: PolicyType,
    pub entries: Vec<PolicyEntry>,
}

fn custom() -> PolicyType {
    PolicyType::Custom
}

/// A subject's policies (`AclInfo` of the admin codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acl {
    pub subject: String,
    pub policies: Vec<Policy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_read_and_write_as_upstream() {
        for s in [
            "*",
            "Topic:*",
            "Topic:ord*",
            "Group:g1",
            "Cluster:DefaultCluster",
        ] {
            assert_eq!(Resource::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Resource::parse("topic:abc").unwrap().to_string(),
            "Topic:abc"
        );
        assert!(Resource::parse("Queue:x").is_err());
        assert!(Resource::parse("Topic:").is_err());
        assert_eq!(Resource::group("%RETRY%g"), Resource::group("g"));
        let p = Resource::parse("Topic:ord*").unwrap();
        assert!(p.covers(&Resource::topic("orders")));
        assert!(!p.covers(&Resource::group("orders")));
        assert!(Resource::Any.covers(&Resource::cluster("c")));
    }

    #[test]
    fn acl_info_json_matches_the_admin_codes() {
        let json = r#"{"subject":"User:alice","policies":[{"entries":[{"resource":"Topic:foo","actions":["pub","Sub"],"sourceIps":["10.0.0.0/8"],"decision":"allow"}]}]}"#;
        let acl: Acl = serde_json::from_str(json).unwrap();
        assert_eq!(acl.policies[0].policy_type, PolicyType::Custom);
        assert_eq!(
            acl.policies[0].entries[0].actions,
            vec![Action::Pub, Action::Sub]
        );
        let out = serde_json::to_string(&acl).unwrap();
        assert!(out.contains(r#""actions":["Pub","Sub"]"#), "{out}");
        assert!(out.contains(r#""decision":"Allow""#), "{out}");
        let u: UserInfo = serde_json::from_str(r#"{"username":"a","userType":"super"}"#).unwrap();
        assert_eq!(u.user_type, Some(UserType::Super));
    }
}
