//! END_TRANSACTION (37): a producer commits or rolls back a half message (oneway from Java
//! producers, so the answer below only reaches clients that asked for one). Half messages
//! themselves arrive as ordinary sends (`send`), marked `TRAN_MSG=true`; the service is
//! `crate::transaction`.

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::transaction::EndTransactionHeader;
use ferromq_protocol::RemotingCommand;
use tracing::debug;

use crate::dispatch::Reply;
use crate::{transaction, Broker};

pub async fn end_transaction(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let h = EndTransactionHeader::parse(req)?;
    debug!(
        peer = %conn.remote_addr(),
        group = %h.producer_group,
        offset = h.tran_state_table_offset,
        outcome = h.commit_or_rollback,
        from_check = h.from_transaction_check,
        "end transaction"
    );
    transaction::resolve(b, h).await?;
    Ok(RemotingCommand::success())
}
