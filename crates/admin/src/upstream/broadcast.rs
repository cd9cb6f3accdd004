//! One request on many brokers (each outcome listed, exit 3 on a partial success), and reading
//! the JSON bodies of upstream answers.

use ferromq_client::ClientError;
use ferromq_protocol::RemotingCommand;
use serde::Serialize;
use serde_json::{json, Value};

use crate::args::Output;
use crate::cluster::Broker;
use crate::output::print_json;
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

/// How one broker fared, as listed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    broker_name: String,
    addr: String,
    ok: bool,
    error: Option<String>,
}

/// Sends the same request to every broker (see [`each_broker`]).
///
/// # Errors
/// [`AdminError::Failed`] when it failed on every broker.
pub(super) async fn each_broker_send(
    ctx: &Ctx,
    brokers: &[Broker],
    what: &str,
    cmd: &RemotingCommand,
) -> Result<i32, AdminError> {
    each_broker(ctx, brokers, what, |b| {
        let cmd = cmd.clone();
        async move {
            ctx.cluster
                .client
                .remoting
                .invoke(&b.addr, cmd)
                .await
                .map(|_| ())
        }
    })
    .await
}

/// Runs `f` on every broker and lists each outcome; exit 3 when some failed after others
/// succeeded.
///
/// # Errors
/// [`AdminError::Failed`] when `f` failed on every broker.
pub(super) async fn each_broker<F, Fut>(
    ctx: &Ctx,
    brokers: &[Broker],
    what: &str,
    f: F,
) -> Result<i32, AdminError>
where
    F: Fn(Broker) -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    let mut results = Vec::new();
    for b in brokers {
        let r = f(b.clone()).await;
        results.push(Outcome {
            broker_name: b.name.clone(),
            addr: b.addr.clone(),
            ok: r.is_ok(),
            error: r.err().map(|e| e.to_string()),
        });
    }
    let ok = results.iter().filter(|r| r.ok).count();
    if ctx.output == Output::Json {
        print_json(&json!({"operation": what, "brokers": results}));
    } else {
        for r in &results {
            match &r.error {
                None => println!("{what}: done on {} ({})", r.broker_name, r.addr),
                Some(e) => println!("{what}: FAILED on {} ({}): {e}", r.broker_name, r.addr),
            }
        }
    }
    if ok == results.len() {
        Ok(EXIT_OK)
    } else if ok == 0 {
        Err(AdminError::Failed(format!("{what} failed on every broker")))
    } else {
        Ok(EXIT_PARTIAL)
    }
}

/// One request on one broker, its answer's body as JSON.
///
/// # Errors
/// [`AdminError::Broker`] when the broker fails or refuses.
pub(super) async fn ask(ctx: &Ctx, b: &Broker, cmd: RemotingCommand) -> Result<Value, AdminError> {
    let r = ctx
        .cluster
        .client
        .remoting
        .invoke(&b.addr, cmd)
        .await
        .map_err(|e| AdminError::broker(b, &e))?;
    Ok(body_json(&r))
}

/// A response body as JSON (fastjson's non-standard keys normalised).
pub(super) fn body_json(r: &RemotingCommand) -> Value {
    ferromq_protocol::json::from_slice::<Value>(&r.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into_owned()))
}

/// An upstream stats body's `offsetTable`: each queue (its fastjson `MessageQueue` key parsed)
/// with its entry.
pub(super) fn offset_table(v: &Value) -> impl Iterator<Item = (Value, &Value)> {
    v["offsetTable"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, entry)| {
            let mq: Value = ferromq_protocol::json::parse_object_key(k).unwrap_or_default();
            (mq, entry)
        })
}

/// An upstream `ConsumerConnection` body's connections.
pub(super) fn connection_set(v: &Value) -> impl Iterator<Item = &Value> {
    v["connectionSet"].as_array().into_iter().flatten()
}

/// An epoch-milliseconds field as a time, `none` when absent or zero.
pub(super) fn time_or(v: &Value, none: &str) -> String {
    match v.as_i64().unwrap_or(0) {
        last if last > 0 => crate::time::format_ms(last),
        _ => none.to_string(),
    }
}
