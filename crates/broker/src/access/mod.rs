//! Access control on the broker's Remoting ports: who sent a request (the signature upstream's
//! clients compute with their access and secret keys) and whether that user may make it (ACL
//! 2.0 policies over the resources [`requests::of`] finds in it). Both run before dispatch;
//! a refusal is NO_PERMISSION (16) with a remark naming the user and the missing permission.
//!
//! The users and ACLs live in `<data>/config/auth.json`, written with fsync and rename before a
//! change is answered ([`Access::save`]); a file that does not parse stops the start.

pub mod requests;

use std::path::{Path, PathBuf};

use ferromq_auth::signature::{remoting_content, verify_remoting, ACCESS_KEY, SIGNATURE};
use ferromq_auth::{AuthError, AuthStore};
use ferromq_protocol::{Refusal, RemotingCommand};
use parking_lot::Mutex;

use crate::config::BrokerConfig;

/// Set by the broker on an authenticated request (a client's own value is removed first):
/// the user that handlers record, in the offset history among others.
pub const USER_FIELD: &str = "__ferromq_authenticated_user";

/// Set on a consumer's commit (UPDATE_CONSUMER_OFFSET, or a pull carrying one) by a user who may
/// not reset the group: the offset must stay between the group's committed offset and what it
/// has pulled ([`commit_within_pull`]), so a consumer credential can neither skip messages
/// nobody read nor rewind the group.
pub const COMMIT_BOUNDED_FIELD: &str = "__ferromq_commit_bounded";

/// The users, the ACLs, and where they are kept.
pub struct Access {
    pub store: AuthStore,
    path: PathBuf,
    /// Serialises snapshots, so the file always ends with the latest one.
    saving: Mutex<()>,
}

impl Access {
    /// Loads `<config>/auth.json` (absent: empty) and creates the configured initial user as a
    /// super user when missing.
    ///
    /// # Errors
    /// A file that does not parse (its line named) or cannot be written.
    pub fn open(cfg: &BrokerConfig, config_dir: &Path) -> Result<Self, String> {
        let path = config_dir.join("auth.json");
        let store = match std::fs::read(&path) {
            Ok(bytes) => AuthStore::from_json(&bytes, &path.display().to_string())
                .map_err(|e| e.to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AuthStore::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let access = Access {
            store,
            path,
            saving: Mutex::new(()),
        };
        if let Some((name, password)) = init_user(&cfg.init_authentication_user)? {
            let name = name.as_str();
            if access.store.user(name).is_none() {
                let info = ferromq_auth::model::UserInfo {
                    username: Some(name.to_string()),
                    password: Some(password),
                    user_type: Some(ferromq_auth::UserType::Super),
                    user_status: None,
                };
                access
                    .store
                    .create_user(&info)
                    .map_err(|e| format!("init-authentication-user: {e}"))?;
                access.save().map_err(|e| e.to_string())?;
                tracing::info!(user = name, "initial super user created");
            }
        }
        Ok(access)
    }

    /// Users and ACLs read from `path` only (a name server started on its own, given a copy of
    /// a broker's `auth.json`); [`Access::follow`] reloads it when it changes.
    ///
    /// # Errors
    /// The file cannot be read or does not parse (its line named).
    pub fn open_file(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let store =
            AuthStore::from_json(&bytes, &path.display().to_string()).map_err(|e| e.to_string())?;
        Ok(Access {
            store,
            path: path.to_path_buf(),
            saving: Mutex::new(()),
        })
    }

    /// Reloads the file every `every` when it changed, until `stop`; a version that does not
    /// parse is reported and the previous users and ACLs stay in force.
    pub fn follow(
        self: &std::sync::Arc<Self>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let this = self.clone();
        ferromq_tls::watch::on_change(
            vec![self.path.clone()],
            "users and ACLs",
            every,
            stop,
            move || {
                let bytes = std::fs::read(&this.path).map_err(|e| e.to_string())?;
                let store = AuthStore::from_json(&bytes, &this.path.display().to_string())
                    .map_err(|e| e.to_string())?;
                this.store.replace_with(store);
                Ok(())
            },
        );
    }

    /// Writes the current users and ACLs durably (fsync, rename, fsync of the directory).
    ///
    /// # Errors
    /// I/O errors; the previous file is then still in place.
    pub fn save(&self) -> std::io::Result<()> {
        let _one = self.saving.lock();
        crate::persist::write_atomic(&self.path, &self.store.to_json())
    }
}

/// `name:password`, or upstream's JSON (`{"username","password"}` or `{"accessKey","secretKey"}`);
/// empty: none. `setting` names it in errors.
fn name_and_secret(setting: &str, s: &str) -> Result<Option<(String, String)>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct Pair {
            #[serde(alias = "accessKey")]
            username: String,
            #[serde(alias = "secretKey")]
            password: String,
        }
        let p: Pair = serde_json::from_str(s).map_err(|e| {
            format!(
                "{setting} is not {{\"username\",\"password\"}} or {{\"accessKey\",\"secretKey\"}}: {e}"
            )
        })?;
        return Ok(Some((p.username, p.password)));
    }
    s.split_once(':')
        .map(|(n, p)| Some((n.to_string(), p.to_string())))
        .ok_or_else(|| format!("{setting} is not name:password"))
}

fn init_user(s: &str) -> Result<Option<(String, String)>, String> {
    name_and_secret("init-authentication-user", s)
}

/// What the broker signs its own name-server calls with: `inner-client-credentials`, else the
/// initial user's; none when authentication is off.
///
/// # Errors
/// A setting that does not parse.
pub fn inner_credentials(cfg: &BrokerConfig) -> Result<Option<(String, String)>, String> {
    if !cfg.authentication_enabled {
        return Ok(None);
    }
    match name_and_secret("inner-client-credentials", &cfg.inner_client_credentials)? {
        Some(c) => Ok(Some(c)),
        None => init_user(&cfg.init_authentication_user),
    }
}

/// Signs one of the broker's own requests when it has credentials.
pub fn sign_inner(creds: Option<&(String, String)>, req: &mut RemotingCommand) {
    if let Some((ak, sk)) = creds {
        ferromq_auth::signature::sign_request(ak, sk, &mut req.ext_fields, req.version, &req.body);
    }
}

fn denied(message: String) -> Refusal {
    Refusal::NoPermission {
        message,
        forbidden_type: None,
    }
}

/// Authenticates and authorizes `req` when the broker is configured to; on success an
/// authenticated request carries its user in [`USER_FIELD`].
///
/// # Errors
/// NO_PERMISSION naming what is wrong: no or a bad signature, an unknown or disabled user, a
/// missing permission, or a request whose resources cannot be read.
pub fn check(
    cfg: &BrokerConfig,
    access: &Access,
    peer: std::net::IpAddr,
    req: &mut RemotingCommand,
) -> Result<(), Refusal> {
    req.ext_fields.remove(USER_FIELD);
    req.ext_fields.remove(COMMIT_BOUNDED_FIELD);
    if !cfg.authentication_enabled || cfg.auth_whitelist.contains(&req.code) {
        return Ok(());
    }
    let Some(name) = req.ext(ACCESS_KEY).filter(|n| !n.is_empty()) else {
        return Err(denied(format!(
            "request code {} carries no AccessKey: this broker requires credentials",
            req.code
        )));
    };
    let user = known_user(access, name).map_err(denied)?;
    let content = remoting_content(
        req.ext_fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        req.version,
        &req.body,
    );
    let signature = req.ext(SIGNATURE).unwrap_or_default();
    if !verify_remoting(&user.password, &content, signature) {
        return Err(denied(format!(
            "User:{name}: the request's signature does not match (wrong secret key, or the \
             request was changed)"
        )));
    }
    if cfg.authorization_enabled {
        let wanted = requests::of(&cfg.cluster, req).map_err(denied)?;
        // One ACL lookup for both questions a consumer's commit asks.
        let acl = access.store.acl(&user.subject());
        let allowed = |w: &[ferromq_auth::Request]| {
            ferromq_auth::decide::authorize(&user, acl.as_deref(), w, Some(peer)).map_err(|d| d.0)
        };
        allowed(&wanted).map_err(denied)?;
        if let Some(group) = commit_group(req) {
            let reset = [ferromq_auth::Request::new(
                ferromq_auth::Resource::group(group),
                &[ferromq_auth::Action::ResetOffset],
            )];
            if allowed(&reset).is_err() {
                req.ext_fields
                    .insert(COMMIT_BOUNDED_FIELD.to_string(), "1".to_string());
            }
        }
    }
    req.ext_fields
        .insert(USER_FIELD.to_string(), user.username.clone());
    Ok(())
}

/// The group a consumer's commit in `req` moves, if it carries one.
fn commit_group(req: &RemotingCommand) -> Option<&str> {
    use ferromq_protocol::codes::request as rq;
    match req.code {
        rq::UPDATE_CONSUMER_OFFSET => req.ext("consumerGroup"),
        // A pull carries a commit when its sysFlag has the commit bit (1).
        rq::PULL_MESSAGE | rq::LITE_PULL_MESSAGE
            if req
                .ext("sysFlag")
                .and_then(|f| f.parse::<i32>().ok())
                .is_some_and(|f| f & 1 != 0) =>
        {
            req.ext("consumerGroup")
        }
        _ => None,
    }
}

/// For a commit marked [`COMMIT_BOUNDED_FIELD`]: refuses an offset below the group's committed
/// one (a rewind) or beyond what the group pulled in this broker run (a skip; before any pull,
/// beyond the committed one).
///
/// # Errors
/// NO_PERMISSION saying which bound and that resets need ResetOffset.
pub fn commit_within_pull(
    b: &crate::Broker,
    req: &RemotingCommand,
    (group, topic, queue_id): (&str, &str, i32),
    offset: i64,
) -> Result<(), Refusal> {
    if req.ext(COMMIT_BOUNDED_FIELD).is_none() {
        return Ok(());
    }
    let committed = b.offsets.get(group, topic, queue_id).unwrap_or(0);
    let pulled = b
        .pull_state
        .pull_offset(group, topic, queue_id)
        .unwrap_or(committed);
    let user = req.ext(USER_FIELD).unwrap_or("?");
    if offset < committed {
        return Err(denied(format!(
            "User:{user} may not rewind {group} on {topic} queue {queue_id} from {committed} to \
             {offset}: moving a group back needs ResetOffset"
        )));
    }
    if offset > pulled.max(committed) {
        return Err(denied(format!(
            "User:{user} may not commit {offset} for {group} on {topic} queue {queue_id}: the \
             group pulled up to {pulled}; skipping messages needs ResetOffset"
        )));
    }
    Ok(())
}

/// The enabled user named by a request's access key.
///
/// # Errors
/// Unknown or disabled.
pub fn known_user(
    access: &Access,
    name: &str,
) -> Result<std::sync::Arc<ferromq_auth::User>, String> {
    let Some(user) = access.store.user(name) else {
        return Err(format!("User:{name} is not found"));
    };
    if user.user_status == ferromq_auth::model::UserStatus::Disable {
        return Err(format!("User:{name} is disabled"));
    }
    Ok(user)
}

/// Whether an authenticated `user` may make `wanted` from `peer` (its ACL; super users may).
///
/// # Errors
/// The permission missing, named.
pub fn authorize(
    access: &Access,
    user: &ferromq_auth::User,
    wanted: &[ferromq_auth::Request],
    peer: std::net::IpAddr,
) -> Result<(), String> {
    let acl = access.store.acl(&user.subject());
    ferromq_auth::decide::authorize(user, acl.as_deref(), wanted, Some(peer)).map_err(|d| d.0)
}

/// Who made a change, for the offset history: the authenticated user and the address.
pub fn actor(req: &RemotingCommand, peer: std::net::SocketAddr) -> String {
    match req.ext(USER_FIELD) {
        Some(user) => format!("User:{user}@{peer}"),
        None => peer.to_string(),
    }
}

/// An admin change refused by the store: a conflict is NO_PERMISSION (as upstream), a malformed
/// request INVALID_PARAMETER.
pub fn refusal(e: AuthError) -> Refusal {
    match e {
        AuthError::Invalid(m) => Refusal::InvalidParameter(m),
        AuthError::Conflict(m) | AuthError::Corrupt(m) => denied(m),
    }
}
