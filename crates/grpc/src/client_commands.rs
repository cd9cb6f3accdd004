//! Server-to-client commands on consumers' Telemetry streams: PrintThreadStackTraceCommand and
//! VerifyMessageCommand, which the broker relays for mqadmin (`consumerStatus`,
//! `consumeMessageDirectly`). The client answers on the same stream under the command's nonce.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferromq_broker::remote_consumers::{Pending, RemoteConsumers, Verified};
use ferromq_protocol::grpc::{
    telemetry_command::Command, Code, PrintThreadStackTraceCommand, TelemetryCommand,
    VerifyMessageCommand,
};
use ferromq_protocol::message::DecodedMessage;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::convert::message_v2;
use crate::status::ok;
use crate::telemetry::CommandSender;

/// At most this many consumer streams, and this many questions waiting for answers.
const MAX_STREAMS: usize = 10_000;
const MAX_WAITING: usize = 1_024;

static NEXT_NONCE: AtomicU64 = AtomicU64::new(1);

struct Stream {
    group: String,
    client_id: String,
    out: CommandSender,
}

#[derive(Default)]
pub struct GrpcConsumers {
    streams: Mutex<HashMap<u64, Stream>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<TelemetryCommand>>>>,
}

/// Forgets a question when its asker stops waiting (answered, timed out or dropped).
struct Forget {
    nonce: String,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<TelemetryCommand>>>>,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.waiting.lock().remove(&self.nonce);
    }
}

impl GrpcConsumers {
    /// Remembers stream `id` of `client_id`, a consumer of `group`.
    pub fn subscribing(&self, id: u64, group: &str, client_id: &str, out: CommandSender) {
        let mut s = self.streams.lock();
        if s.len() < MAX_STREAMS || s.contains_key(&id) {
            let stream = Stream {
                group: group.to_string(),
                client_id: client_id.to_string(),
                out,
            };
            s.insert(id, stream);
        }
    }

    /// Forgets stream `id` (closed).
    pub fn closed(&self, id: u64) {
        self.streams.lock().remove(&id);
    }

    /// A client's answer to a command (false when nobody waits for it).
    pub fn answered(&self, cmd: TelemetryCommand) -> bool {
        let nonce = match &cmd.command {
            Some(Command::ThreadStackTrace(t)) => t.nonce.clone(),
            Some(Command::VerifyMessageResult(v)) => v.nonce.clone(),
            _ => return false,
        };
        match self.waiting.lock().remove(&nonce) {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        }
    }

    /// Sends `make(nonce)` to `client_id` and waits for the answer under that nonce.
    fn ask(
        &self,
        client_id: &str,
        make: impl FnOnce(String) -> Command,
    ) -> Pending<TelemetryCommand> {
        let out = self
            .streams
            .lock()
            .values()
            .find(|s| s.client_id == client_id && !s.out.is_closed())
            .map(|s| s.out.clone());
        let Some(out) = out else {
            return Box::pin(async move { Err("no Telemetry stream of that client".to_string()) });
        };
        let nonce = format!("fmq-{:x}", NEXT_NONCE.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        {
            let mut w = self.waiting.lock();
            if w.len() >= MAX_WAITING {
                return Box::pin(async move { Err("too many questions waiting".to_string()) });
            }
            w.insert(nonce.clone(), tx);
        }
        let forget = Forget {
            nonce: nonce.clone(),
            waiting: self.waiting.clone(),
        };
        let cmd = TelemetryCommand {
            status: Some(ok()),
            command: Some(make(nonce)),
        };
        let sent = out.try_send(Ok(cmd));
        Box::pin(async move {
            let _forget = forget;
            sent.map_err(|e| format!("its stream did not take the question: {e}"))?;
            rx.await
                .map_err(|_| "its stream closed before it answered".to_string())
        })
    }
}

impl RemoteConsumers for GrpcConsumers {
    fn reaches(&self, group: &str, client_id: &str) -> bool {
        self.streams
            .lock()
            .values()
            .any(|s| s.group == group && s.client_id == client_id)
    }

    fn thread_stacks(&self, client_id: &str) -> Pending<String> {
        let answer = self.ask(client_id, |nonce| {
            Command::PrintThreadStackTraceCommand(PrintThreadStackTraceCommand { nonce })
        });
        Box::pin(async move {
            let cmd = answer.await?;
            let code = cmd.status.as_ref().map_or(Code::Ok as i32, |s| s.code);
            match cmd.command {
                Some(Command::ThreadStackTrace(t)) if code == Code::Ok as i32 => {
                    Ok(t.thread_stack_trace.unwrap_or_default())
                }
                _ => Err(format!(
                    "the client answered {}",
                    cmd.status.map(|s| s.message).unwrap_or_default()
                )),
            }
        })
    }

    fn verify(&self, client_id: &str, message: &DecodedMessage) -> Pending<Verified> {
        let message = message_v2(message, None);
        let answer = self.ask(client_id, |nonce| {
            Command::VerifyMessageCommand(VerifyMessageCommand {
                nonce,
                message: Some(message),
            })
        });
        Box::pin(async move {
            let cmd = answer.await?;
            let code = cmd.status.map_or(Code::Ok as i32, |s| s.code);
            Ok(match Code::try_from(code) {
                Ok(Code::Ok) => Verified::Consumed,
                Ok(Code::FailedToConsumeMessage) => Verified::Failed,
                Ok(Code::MessageCorrupted) => Verified::Corrupted,
                _ => Verified::Unsupported,
            })
        })
    }
}
