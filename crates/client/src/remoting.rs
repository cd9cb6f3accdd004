//! [`RemotingClient`]: connections by address, reconnecting when one closes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_net::{ConnConfig, Connection, Handler, NetError};
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::RemotingCommand;
use ferromq_tls::ClientTls;
use parking_lot::Mutex;
use thiserror::Error;
use tokio::sync::broadcast;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the server answered code {code}: {remark}")]
    Server { code: i32, remark: String },
    #[error("cannot decode the response: {0}")]
    Decode(String),
    #[error("no route for topic {0}")]
    NoRoute(String),
}

impl ClientError {
    /// The response code, when the server answered with an error.
    pub fn code(&self) -> Option<i32> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Publishes requests the server sends to this client (oneway notifications and calls).
struct Inbox(broadcast::Sender<RemotingCommand>);

impl Handler for Inbox {
    async fn handle(
        self: &Arc<Self>,
        _conn: Connection,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let code = req.code;
        let _ = self.0.send(req);
        Some(ferromq_net::connection::not_supported(code))
    }
}

/// A pool of connections keyed by `host:port`.
pub struct RemotingClient {
    conns: Mutex<HashMap<String, Connection>>,
    inbox: Arc<Inbox>,
    cfg: ConnConfig,
    tls: Option<ClientTls>,
    credentials: Option<Credentials>,
    pub timeout: Duration,
}

/// An access key and its secret: every request is signed as upstream's clients sign them
/// (`AccessKey` and `Signature` ext fields).
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.access_key)
    }
}

impl Credentials {
    /// Adds `AccessKey` and the `Signature` over every ext field and the body.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        ferromq_auth::signature::sign_request(
            &self.access_key,
            &self.secret_key,
            &mut cmd.ext_fields,
            cmd.version,
            &cmd.body,
        );
    }
}

/// How a client reaches a cluster: TLS, and credentials.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub tls: Option<ClientTls>,
    pub credentials: Option<Credentials>,
}

impl RemotingClient {
    pub fn new(timeout: Duration) -> Self {
        Self::with_options(timeout, ConnectOptions::default())
    }

    /// A pool whose connections are TLS sessions and whose requests are signed, as `options`
    /// say.
    pub fn with_options(timeout: Duration, options: ConnectOptions) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            conns: Mutex::new(HashMap::new()),
            inbox: Arc::new(Inbox(tx)),
            cfg: ConnConfig::default(),
            tls: options.tls,
            credentials: options.credentials,
            timeout,
        }
    }

    /// Signs `cmd` when this client has credentials (every request it sends goes through here).
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        if let Some(c) = &self.credentials {
            c.sign(cmd);
        }
    }

    /// Requests servers send to this client from now on.
    pub fn server_requests(&self) -> broadcast::Receiver<RemotingCommand> {
        self.inbox.0.subscribe()
    }

    /// The connection to `addr`, opened if needed.
    ///
    /// # Errors
    /// When the address cannot be reached within the timeout.
    pub async fn connection(&self, addr: &str) -> Result<Connection, ClientError> {
        if let Some(c) = self.conns.lock().get(addr).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = Connection::connect(
            addr,
            self.inbox.clone(),
            &self.cfg,
            self.timeout,
            self.tls.as_ref(),
        )
        .await?;
        self.conns.lock().insert(addr.to_string(), c.clone());
        Ok(c)
    }

    /// Sends a request and returns the response, whatever its code.
    ///
    /// # Errors
    /// Transport failures and timeouts.
    pub async fn invoke_raw(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        self.invoke_raw_within(addr, cmd, self.timeout).await
    }

    /// [`RemotingClient::invoke_raw`] with its own answer timeout (a held pull's is longer).
    ///
    /// # Errors
    /// Transport failures and timeouts.
    pub async fn invoke_raw_within(
        &self,
        addr: &str,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        self.sign(&mut cmd);
        let conn = self.connection(addr).await?;
        let r = conn.request(cmd, timeout).await;
        if matches!(r, Err(NetError::Closed)) {
            self.conns.lock().remove(addr);
        }
        Ok(r?)
    }

    /// Sends a request; a response code other than SUCCESS is an error.
    ///
    /// # Errors
    /// Transport failures, timeouts, and [`ClientError::Server`].
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ClientError> {
        let r = self.invoke_raw(addr, cmd).await?;
        if r.code != rs::SUCCESS {
            return Err(ClientError::Server {
                code: r.code,
                remark: r.remark.unwrap_or_default(),
            });
        }
        Ok(r)
    }

    /// Sends a oneway request.
    ///
    /// # Errors
    /// Transport failures.
    pub async fn oneway(&self, addr: &str, mut cmd: RemotingCommand) -> Result<(), ClientError> {
        self.sign(&mut cmd);
        Ok(self.connection(addr).await?.oneway(cmd).await?)
    }

    /// Closes every connection.
    pub fn close(&self) {
        for (_, c) in self.conns.lock().drain() {
            c.close();
        }
    }
}
