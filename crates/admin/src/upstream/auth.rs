//! Users and ACLs with mqadmin's commands (createUser … listAcl), on `-b` one broker or every
//! master of `-c` a cluster, over upstream's codes (AUTH_CREATE_USER 3001 … AUTH_LIST_ACL 3010).

use clap::Subcommand;
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use super::broadcast::{body_json, each_broker_send};
use super::cluster::where_to;
use crate::args::Output;
use crate::output::{print_json, table};
use crate::{AdminError, Ctx, EXIT_OK};

/// User and ACL commands under mqadmin's names (`createUser` …), flattened into `ferromq admin`,
/// and the same grouped as `ferromq admin user …` and `ferromq admin acl …`.
#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// mqadmin createUser: a user (access key `-u`, secret key `-p`), Normal unless `-t Super`.
    #[command(
        name = "createUser",
        after_help = "Examples:\n  ferromq admin createUser -c DefaultCluster -u alice -p 's3cret'"
    )]
    CreateUser(UserCreate),
    /// mqadmin updateUser: a new secret key, type or status (enable/disable).
    #[command(name = "updateUser")]
    UpdateUser(UserUpdate),
    /// mqadmin deleteUser: the user and its ACL.
    #[command(name = "deleteUser")]
    DeleteUser(UserName),
    /// mqadmin getUser (its secret key included, as upstream's).
    #[command(name = "getUser")]
    GetUser(UserName),
    /// mqadmin listUser: users whose name contains `-f`.
    #[command(name = "listUser")]
    ListUser(UserFilter),
    /// mqadmin createAcl: one entry per resource (`Topic:orders`, `Group:g*`, `Topic:*`, `*`)
    /// with the actions (Pub, Sub, Create, Update, Delete, Get, List, All, and ferromq's
    /// ResetOffset), allowed or denied, from optional addresses or CIDR ranges.
    #[command(
        name = "createAcl",
        after_help = "Examples:\n  ferromq admin createAcl -c DefaultCluster -s User:alice -r Topic:orders,Group:billing -a Pub,Sub -d Allow\n  \
        ferromq admin createAcl -c DefaultCluster -s User:ops -r 'Group:*' -a ResetOffset,Get -d Allow -i 10.0.0.0/8"
    )]
    CreateAcl(AclArgs),
    /// mqadmin updateAcl: as createAcl; an entry replaces the one for the same resource.
    #[command(name = "updateAcl")]
    UpdateAcl(AclArgs),
    /// mqadmin deleteAcl: the subject's whole ACL, or its entry for `-r` one resource.
    #[command(name = "deleteAcl")]
    DeleteAcl(AclDelete),
    /// mqadmin getAcl.
    #[command(name = "getAcl")]
    GetAcl(AclSubject),
    /// mqadmin listAcl: ACLs whose subject contains `-s`, entries whose resource contains `-r`.
    #[command(name = "listAcl")]
    ListAcl(AclFilter),
    /// Users (access keys and their secrets): create, update, delete, get, list. The same as
    /// mqadmin's createUser … listUser.
    #[command(
        after_help = "Examples:\n  ferromq admin user create -c DefaultCluster -u alice -p 's3cret'\n  \
        ferromq admin user update -c DefaultCluster -u alice -s disable\n  ferromq admin user list -c DefaultCluster"
    )]
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// ACLs (what each user may do): create, update, delete, get, list. The same as mqadmin's
    /// createAcl … listAcl.
    #[command(
        after_help = "Examples:\n  ferromq admin acl create -c DefaultCluster -s User:alice -r Topic:orders -a Pub -d Allow\n  \
        ferromq admin acl list -c DefaultCluster -r Topic:orders"
    )]
    Acl {
        #[command(subcommand)]
        command: AclCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// A user (access key `-u`, secret key `-p`), Normal unless `-t Super` (mqadmin createUser).
    Create(UserCreate),
    /// A new secret key, type or status (mqadmin updateUser).
    Update(UserUpdate),
    /// The user and its ACL (mqadmin deleteUser).
    Delete(UserName),
    /// One user, secret key included (mqadmin getUser).
    Get(UserName),
    /// Users whose name contains `-f` (mqadmin listUser).
    List(UserFilter),
}

#[derive(Subcommand, Debug)]
pub enum AclCommand {
    /// Entries for resources, actions, a decision and optional source addresses (mqadmin createAcl).
    Create(AclArgs),
    /// As create; an entry replaces the one for the same resource (mqadmin updateAcl).
    Update(AclArgs),
    /// The whole ACL, or the entry for `-r` one resource (mqadmin deleteAcl).
    Delete(AclDelete),
    /// One subject's ACL (mqadmin getAcl).
    Get(AclSubject),
    /// ACLs by subject and resource substrings (mqadmin listAcl).
    List(AclFilter),
}

// Where a command goes: `-c` every master of a cluster, or `-b` one broker.
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Where {
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// One broker, `host:port`.
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct UserCreate {
    #[command(flatten)]
    at: Where,
    #[arg(short = 'u', long = "username")]
    username: String,
    #[arg(short = 'p', long = "password")]
    password: String,
    /// Super or Normal.
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct UserUpdate {
    #[command(flatten)]
    at: Where,
    #[arg(short = 'u', long = "username")]
    username: String,
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    /// Super or Normal.
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
    /// enable or disable.
    #[arg(short = 's', long = "userStatus")]
    user_status: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct UserName {
    #[command(flatten)]
    at: Where,
    #[arg(short = 'u', long = "username")]
    username: String,
}

#[derive(clap::Args, Debug)]
pub struct UserFilter {
    #[command(flatten)]
    at: Where,
    #[arg(short = 'f', long = "filter", default_value = "")]
    filter: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AclArgs {
    #[command(flatten)]
    at: Where,
    /// `User:<name>`.
    #[arg(short = 's', long = "subject")]
    subject: String,
    /// Comma-separated resources.
    #[arg(short = 'r', long = "resources", value_delimiter = ',')]
    resources: Vec<String>,
    /// Comma-separated actions.
    #[arg(short = 'a', long = "actions", value_delimiter = ',')]
    actions: Vec<String>,
    /// Allow or Deny.
    #[arg(short = 'd', long = "decision")]
    decision: String,
    /// Comma-separated source addresses or CIDR ranges (default: any).
    #[arg(short = 'i', long = "sourceIp", value_delimiter = ',')]
    source_ips: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct AclDelete {
    #[command(flatten)]
    at: Where,
    #[arg(short = 's', long = "subject")]
    subject: String,
    /// One resource whose entry goes; without it the whole ACL goes.
    #[arg(short = 'r', long = "resources")]
    resource: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct AclSubject {
    #[command(flatten)]
    at: Where,
    #[arg(short = 's', long = "subject")]
    subject: String,
}

#[derive(clap::Args, Debug)]
pub struct AclFilter {
    #[command(flatten)]
    at: Where,
    #[arg(short = 's', long = "subject", default_value = "")]
    subject: String,
    #[arg(short = 'r', long = "resource", default_value = "")]
    resource: String,
}

impl From<UserCommand> for AuthCommand {
    fn from(c: UserCommand) -> Self {
        match c {
            UserCommand::Create(a) => AuthCommand::CreateUser(a),
            UserCommand::Update(a) => AuthCommand::UpdateUser(a),
            UserCommand::Delete(a) => AuthCommand::DeleteUser(a),
            UserCommand::Get(a) => AuthCommand::GetUser(a),
            UserCommand::List(a) => AuthCommand::ListUser(a),
        }
    }
}

impl From<AclCommand> for AuthCommand {
    fn from(c: AclCommand) -> Self {
        match c {
            AclCommand::Create(a) => AuthCommand::CreateAcl(a),
            AclCommand::Update(a) => AuthCommand::UpdateAcl(a),
            AclCommand::Delete(a) => AuthCommand::DeleteAcl(a),
            AclCommand::Get(a) => AuthCommand::GetAcl(a),
            AclCommand::List(a) => AuthCommand::ListAcl(a),
        }
    }
}

fn usage(e: String) -> AdminError {
    AdminError::Usage(e)
}

/// The ACL body mqadmin sends, checked here so a typo is a usage error, not a broker refusal.
fn acl_body(a: &AclArgs) -> Result<Vec<u8>, AdminError> {
    use ferromq_auth::model::{Action, Decision, Resource};
    let actions: Vec<Action> = a
        .actions
        .iter()
        .map(|s| Action::parse(s))
        .collect::<Result<_, _>>()
        .map_err(usage)?;
    let decision = Decision::parse(&a.decision).map_err(usage)?;
    let entries: Vec<Value> = a
        .resources
        .iter()
        .map(|r| {
            let resource = Resource::parse(r).map_err(usage)?;
            Ok(json!({
                "resource": resource.to_string(),
                "actions": actions.iter().map(|x| x.name()).collect::<Vec<_>>(),
                "sourceIps": a.source_ips,
                "decision": decision.name(),
            }))
        })
        .collect::<Result<_, AdminError>>()?;
    Ok(serde_json::to_vec(&json!({
        "subject": a.subject,
        "policies": [{"policyType": "Custom", "entries": entries}],
    }))
    .unwrap_or_default())
}

fn user_body(
    username: &str,
    password: Option<&str>,
    ty: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<u8>, AdminError> {
    use ferromq_auth::model::{UserInfo, UserStatus, UserType};
    let info = UserInfo {
        username: Some(username.to_string()),
        password: password.map(String::from),
        user_type: ty.map(UserType::parse).transpose().map_err(usage)?,
        user_status: status.map(UserStatus::parse).transpose().map_err(usage)?,
    };
    Ok(serde_json::to_vec(&info).unwrap_or_default())
}

/// Runs one user or ACL command; `Ok` carries the exit code.
///
/// # Errors
/// Bad usage, an unknown cluster, or a failure on every broker.
pub(crate) async fn run(ctx: &Ctx, cmd: AuthCommand) -> Result<i32, AdminError> {
    let (at, what, req) = match cmd {
        // The grouped names are the mqadmin ones under another spelling.
        AuthCommand::User { command } => return Box::pin(run(ctx, command.into())).await,
        AuthCommand::Acl { command } => return Box::pin(run(ctx, command.into())).await,
        AuthCommand::CreateUser(UserCreate {
            at,
            username,
            password,
            user_type,
        }) => {
            let body = user_body(&username, Some(&password), user_type.as_deref(), None)?;
            (
                at,
                "createUser",
                RemotingCommand::request(rq::AUTH_CREATE_USER)
                    .with_ext("username", &username)
                    .with_body(body),
            )
        }
        AuthCommand::UpdateUser(UserUpdate {
            at,
            username,
            password,
            user_type,
            user_status,
        }) => {
            if password.is_none() && user_type.is_none() && user_status.is_none() {
                return Err(usage("updateUser needs -p, -t or -s".into()));
            }
            let body = user_body(
                &username,
                password.as_deref(),
                user_type.as_deref(),
                user_status.as_deref(),
            )?;
            (
                at,
                "updateUser",
                RemotingCommand::request(rq::AUTH_UPDATE_USER)
                    .with_ext("username", &username)
                    .with_body(body),
            )
        }
        AuthCommand::DeleteUser(UserName { at, username }) => (
            at,
            "deleteUser",
            RemotingCommand::request(rq::AUTH_DELETE_USER).with_ext("username", &username),
        ),
        AuthCommand::CreateAcl(a) | AuthCommand::UpdateAcl(a) => {
            let body = acl_body(&a)?;
            (
                a.at.clone(),
                "createAcl",
                RemotingCommand::request(rq::AUTH_CREATE_ACL)
                    .with_ext("subject", &a.subject)
                    .with_body(body),
            )
        }
        AuthCommand::DeleteAcl(AclDelete {
            at,
            subject,
            resource,
        }) => {
            let mut req =
                RemotingCommand::request(rq::AUTH_DELETE_ACL).with_ext("subject", &subject);
            if let Some(r) = resource {
                req = req.with_ext("resource", r);
            }
            (at, "deleteAcl", req)
        }
        AuthCommand::GetUser(UserName { at, username }) => {
            let req = RemotingCommand::request(rq::AUTH_GET_USER).with_ext("username", &username);
            return read(ctx, at, req, Kind::Users).await;
        }
        AuthCommand::ListUser(UserFilter { at, filter }) => {
            let req = RemotingCommand::request(rq::AUTH_LIST_USER).with_ext("filter", &filter);
            return read(ctx, at, req, Kind::Users).await;
        }
        AuthCommand::GetAcl(AclSubject { at, subject }) => {
            let req = RemotingCommand::request(rq::AUTH_GET_ACL).with_ext("subject", &subject);
            return read(ctx, at, req, Kind::Acls).await;
        }
        AuthCommand::ListAcl(AclFilter {
            at,
            subject,
            resource,
        }) => {
            let req = RemotingCommand::request(rq::AUTH_LIST_ACL)
                .with_ext("subjectFilter", &subject)
                .with_ext("resourceFilter", &resource);
            return read(ctx, at, req, Kind::Acls).await;
        }
    };
    let targets = where_to(ctx, at.cluster, at.broker_addr).await?;
    each_broker_send(ctx, &targets, what, &req).await
}

enum Kind {
    Users,
    Acls,
}

/// Asks every target and prints what each holds (one object or a list; nothing when absent).
async fn read(ctx: &Ctx, at: Where, req: RemotingCommand, kind: Kind) -> Result<i32, AdminError> {
    let targets = where_to(ctx, at.cluster, at.broker_addr).await?;
    let mut all = Vec::new();
    for b in &targets {
        let r = ctx
            .cluster
            .client
            .remoting
            .invoke(&b.addr, req.clone())
            .await
            .map_err(|e| AdminError::Broker {
                broker: b.name.clone(),
                addr: b.addr.clone(),
                message: e.to_string(),
            })?;
        let items = match body_json(&r) {
            Value::Array(v) => v,
            Value::String(s) if s.is_empty() => vec![],
            one => vec![one],
        };
        all.push(json!({"brokerName": b.name, "addr": b.addr, "items": items}));
    }
    if ctx.output == Output::Json {
        print_json(&all);
        return Ok(EXIT_OK);
    }
    let mut rows = Vec::new();
    for b in &all {
        for it in b["items"].as_array().into_iter().flatten() {
            let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
            match kind {
                Kind::Users => rows.push(vec![
                    s(&b["brokerName"]),
                    s(&it["username"]),
                    s(&it["userType"]),
                    s(&it["userStatus"]),
                ]),
                Kind::Acls => {
                    for p in it["policies"].as_array().into_iter().flatten() {
                        for e in p["entries"].as_array().into_iter().flatten() {
                            let list = |v: &Value| {
                                v.as_array()
                                    .map(|a| {
                                        a.iter()
                                            .filter_map(Value::as_str)
                                            .collect::<Vec<_>>()
                                            .join(",")
                                    })
                                    .filter(|x| !x.is_empty())
                                    .unwrap_or_else(|| "-".into())
                            };
                            rows.push(vec![
                                s(&b["brokerName"]),
                                s(&it["subject"]),
                                s(&p["policyType"]),
                                s(&e["resource"]),
                                list(&e["actions"]),
                                list(&e["sourceIps"]),
                                s(&e["decision"]),
                            ]);
                        }
                    }
                }
            }
        }
    }
    let headers: &[&str] = match kind {
        Kind::Users => &["BROKER", "USERNAME", "TYPE", "STATUS"],
        Kind::Acls => &[
            "BROKER",
            "SUBJECT",
            "POLICY",
            "RESOURCE",
            "ACTIONS",
            "SOURCE-IPS",
            "DECISION",
        ],
    };
    print!("{}", table(headers, &rows));
    Ok(EXIT_OK)
}
