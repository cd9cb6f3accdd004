//! Authentication over the wire with crafted requests: no credentials, a missing or malformed
//! signature, a signed request replayed with another body or another header field, an unknown
//! or disabled user, a user without the permission; and a users file that does not parse
//! stopping the broker's start. Each is refused with NO_PERMISSION (16) and a remark saying why.

use std::time::Duration;

use ferromq_broker::{Broker, BrokerConfig};
use ferromq_client::{Credentials, RemotingClient};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;

fn with_acl(c: &mut BrokerConfig) {
    c.authentication_enabled = true;
    c.authorization_enabled = true;
    c.init_authentication_user = "root:rootpw".into();
}

fn creds(ak: &str, sk: &str) -> Credentials {
    Credentials {
        access_key: ak.into(),
        secret_key: sk.into(),
    }
}

async fn send(addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    RemotingClient::new(Duration::from_secs(5))
        .invoke_raw(addr, cmd)
        .await
        .expect("an answer")
}

fn create_user(name: &str, password: &str) -> RemotingCommand {
    RemotingCommand::request(rq::AUTH_CREATE_USER)
        .with_ext("username", name)
        .with_body(format!(r#"{{"username":"{name}","password":"{password}"}}"#).into_bytes())
}

fn refused(r: &RemotingCommand, why: &str) {
    assert_eq!(r.code, rs::NO_PERMISSION, "{:?}", r.remark);
    let remark = r.remark.clone().unwrap_or_default();
    assert!(remark.contains(why), "remark {remark:?} should say {why:?}");
}

#[tokio::test]
async fn bad_credentials_are_refused_with_the_reason() {
    let c = Cluster::start_with(1, with_acl).await;
    let addr = c.broker_addr(0);
    let root = creds("root", "rootpw");

    let unsigned = RemotingCommand::request(rq::GET_TOPIC_CONFIG).with_ext("topic", "T");
    refused(&send(&addr, unsigned.clone()).await, "carries no AccessKey");

    let mut no_signature = unsigned.clone();
    no_signature
        .ext_fields
        .insert("AccessKey".into(), "root".into());
    refused(
        &send(&addr, no_signature.clone()).await,
        "signature does not match",
    );
    let mut not_base64 = no_signature.clone();
    not_base64
        .ext_fields
        .insert("Signature".into(), "%%%".into());
    refused(&send(&addr, not_base64).await, "signature does not match");

    let mut wrong_secret = unsigned.clone();
    creds("root", "guess").sign(&mut wrong_secret);
    refused(&send(&addr, wrong_secret).await, "signature does not match");
    let mut unknown = unsigned.clone();
    creds("mallory", "x").sign(&mut unknown);
    refused(&send(&addr, unknown).await, "User:mallory is not found");

    // A signed request replayed with another body, or another header field, is refused; the
    // original is served.
    let mut signed = create_user("bob", "bobpw");
    root.sign(&mut signed);
    let mut other_body = signed.clone();
    other_body.body = br#"{"username":"bob","password":"mine","userType":"Super"}"#
        .to_vec()
        .into();
    refused(&send(&addr, other_body).await, "signature does not match");
    let mut other_field = signed.clone();
    other_field
        .ext_fields
        .insert("username".into(), "eve".into());
    refused(&send(&addr, other_field).await, "signature does not match");
    assert_eq!(send(&addr, signed).await.code, rs::SUCCESS);

    // bob has no ACL: authenticated, not authorized; the remark names the permission.
    let mut create_topic = RemotingCommand::request(rq::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", "BobTopic")
        .with_ext("readQueueNums", 1)
        .with_ext("writeQueueNums", 1)
        .with_ext("perm", 6);
    creds("bob", "bobpw").sign(&mut create_topic);
    refused(
        &send(&addr, create_topic).await,
        "User:bob has no permission Create on Topic:BobTopic",
    );

    // A disabled user is refused before anything else.
    let mut disable = RemotingCommand::request(rq::AUTH_UPDATE_USER)
        .with_ext("username", "bob")
        .with_body(br#"{"username":"bob","userStatus":"disable"}"#.to_vec());
    root.sign(&mut disable);
    assert_eq!(send(&addr, disable).await.code, rs::SUCCESS);
    let mut as_bob = unsigned.clone();
    creds("bob", "bobpw").sign(&mut as_bob);
    refused(&send(&addr, as_bob).await, "User:bob is disabled");

    // Only a super user makes a super user.
    let mut carol = create_user("carol", "carolpw");
    root.sign(&mut carol);
    assert_eq!(send(&addr, carol).await.code, rs::SUCCESS);
    let mut grant = RemotingCommand::request(rq::AUTH_CREATE_ACL)
        .with_ext("subject", "User:carol")
        .with_body(
            br#"{"subject":"User:carol","policies":[{"entries":[{"resource":"Cluster:DefaultCluster","actions":["Update"],"decision":"Allow"}]}]}"#
                .to_vec(),
        );
    root.sign(&mut grant);
    assert_eq!(send(&addr, grant).await.code, rs::SUCCESS);
    let mut promote = RemotingCommand::request(rq::AUTH_CREATE_USER)
        .with_ext("username", "dave")
        .with_body(br#"{"username":"dave","password":"d","userType":"Super"}"#.to_vec());
    creds("carol", "carolpw").sign(&mut promote);
    refused(&send(&addr, promote).await, "only a super user");
    c.shutdown().await;
}

#[tokio::test]
async fn a_users_file_that_does_not_parse_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("auth.json"),
        "{\n  \"users\": [\n    {\"username\": \"a\", \"password\": 7}\n  ]\n}\n",
    )
    .unwrap();
    let mut cfg = BrokerConfig {
        port: 0,
        fast_port: 0,
        grpc: false,
        namesrv: "127.0.0.1:1".into(),
        data_dir: dir.path().to_path_buf(),
        segment_size: 16 * 1024 * 1024,
        ..BrokerConfig::default()
    };
    with_acl(&mut cfg);
    let err = match Broker::start(cfg).await {
        Ok(_) => panic!("the broker started with a users file it cannot read"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("auth.json") && err.contains("line 3"), "{err}");
}

/// A consumer credential (Sub only) commits within what its group pulled: no skip past unseen
/// messages, no rewind; a super user resets freely.
#[tokio::test]
async fn a_consumer_credential_cannot_skip_or_rewind_its_group() {
    use ferromq_client::requests::{self, Pull};
    let c = Cluster::start_with(1, with_acl).await;
    let addr = c.broker_addr(0);
    let root = creds("root", "rootpw");
    let signed = |who: &Credentials, mut cmd: RemotingCommand| {
        who.sign(&mut cmd);
        cmd
    };
    let mut topic = RemotingCommand::request(rq::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", "T")
        .with_ext("readQueueNums", 1)
        .with_ext("writeQueueNums", 1)
        .with_ext("perm", 6);
    root.sign(&mut topic);
    assert_eq!(send(&addr, topic).await.code, rs::SUCCESS);
    for i in 0..5 {
        let cmd = requests::send_v2("P", "T", 0, format!("m{i}").into_bytes().into(), "");
        assert_eq!(send(&addr, signed(&root, cmd)).await.code, rs::SUCCESS);
    }
    assert_eq!(
        send(&addr, signed(&root, create_user("sub", "subpw")))
            .await
            .code,
        rs::SUCCESS
    );
    let grant = RemotingCommand::request(rq::AUTH_CREATE_ACL)
        .with_ext("subject", "User:sub")
        .with_body(
            br#"{"subject":"User:sub","policies":[{"entries":[
                {"resource":"Topic:T","actions":["Sub"],"decision":"Allow"},
                {"resource":"Group:G","actions":["Sub"],"decision":"Allow"}]}]}"#
                .to_vec(),
        );
    assert_eq!(send(&addr, signed(&root, grant)).await.code, rs::SUCCESS);
    let sub = creds("sub", "subpw");
    let commit = |offset| requests::update_consumer_offset("G", "T", 0, offset);

    refused(
        &send(&addr, signed(&sub, commit(3))).await,
        "skipping messages needs ResetOffset",
    );
    let pull = requests::pull(&Pull {
        group: "G",
        topic: "T",
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    });
    assert_eq!(send(&addr, signed(&sub, pull)).await.code, rs::SUCCESS);
    assert_eq!(send(&addr, signed(&sub, commit(3))).await.code, rs::SUCCESS);
    refused(
        &send(&addr, signed(&sub, commit(2))).await,
        "needs ResetOffset",
    );
    assert_eq!(send(&addr, signed(&sub, commit(5))).await.code, rs::SUCCESS);
    refused(
        &send(&addr, signed(&sub, commit(9))).await,
        "skipping messages needs ResetOffset",
    );
    // An operator (here the super user) moves the group anywhere.
    assert_eq!(
        send(&addr, signed(&root, commit(1))).await.code,
        rs::SUCCESS
    );
    let q = send(
        &addr,
        signed(&root, requests::query_consumer_offset("G", "T", 0)),
    )
    .await;
    assert_eq!(q.ext("offset"), Some("1"));
    c.shutdown().await;
}
