//! Transactional messages on the wire: the system topics, the properties a half message carries,
//! and the headers of END_TRANSACTION (37, producer → broker) and CHECK_TRANSACTION_STATE (39,
//! broker → producer). Field names are upstream's (`EndTransactionRequestHeader`,
//! `CheckTransactionStateRequestHeader`), so Java producers read and write them unchanged.

use crate::codes::{request, sys_flag};
use crate::{HeaderError, RemotingCommand};

/// Half (prepared) messages wait here, queue 0, until they are committed or rolled back.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// One op record per resolved half message (body = its half-queue offset, tag `d`).
pub const OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// The tag of op records ("remove"), as upstream writes it.
pub const OP_REMOVE_TAG: &str = "d";

/// `commitOrRollback` = 0: no decision (upstream `TRANSACTION_NOT_TYPE`).
pub const TRANSACTION_NOT_TYPE: i32 = 0;

/// Properties of transactional messages (`MessageConst`).
pub mod prop {
    /// `"true"` on a message sent as a half message.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// The producer group; check-backs go to a connection of this group.
    pub const PGROUP: &str = "PGROUP";
    /// How many times the broker asked the producer about this half message.
    pub const CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Seconds before the first check-back, when longer than the broker's timeout.
    pub const CHECK_IMMUNITY_SECS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
}

/// What the producer decided (`commitOrRollback`, a `MessageSysFlag` transaction type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOutcome {
    /// 0: not decided yet (UNKNOW); the broker keeps the half message and checks back later.
    Unknown,
    /// 8: deliver the message.
    Commit,
    /// 12: drop the message.
    Rollback,
}

impl TxOutcome {
    /// Maps upstream's `commitOrRollback` value; other values are not outcomes.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            TRANSACTION_NOT_TYPE => Some(Self::Unknown),
            sys_flag::TRANSACTION_COMMIT => Some(Self::Commit),
            sys_flag::TRANSACTION_ROLLBACK => Some(Self::Rollback),
            _ => None,
        }
    }

    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            Self::Unknown => TRANSACTION_NOT_TYPE,
            Self::Commit => sys_flag::TRANSACTION_COMMIT,
            Self::Rollback => sys_flag::TRANSACTION_ROLLBACK,
        }
    }
}

/// The END_TRANSACTION header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransactionHeader {
    pub producer_group: String,
    /// Offset of the half message in the half topic's queue (the send response's `queueOffset`).
    pub tran_state_table_offset: i64,
    /// Commit-log offset of the half message (from the send response's offset msgId).
    pub commit_log_offset: i64,
    /// The raw `commitOrRollback` value; see [`TxOutcome::from_code`].
    pub commit_or_rollback: i32,
    pub from_transaction_check: bool,
    pub msg_id: Option<String>,
    pub transaction_id: Option<String>,
}

impl EndTransactionHeader {
    /// Reads the header from a request.
    ///
    /// # Errors
    /// A missing or non-numeric required field.
    pub fn parse(req: &RemotingCommand) -> Result<Self, HeaderError> {
        Ok(Self {
            producer_group: req.req_str("producerGroup")?.to_string(),
            tran_state_table_offset: req.req_i64("tranStateTableOffset")?,
            commit_log_offset: req.req_i64("commitLogOffset")?,
            commit_or_rollback: req.req_i32("commitOrRollback")?,
            from_transaction_check: req.opt_bool("fromTransactionCheck")?.unwrap_or(false),
            msg_id: req.ext("msgId").map(String::from),
            transaction_id: req.ext("transactionId").map(String::from),
        })
    }

    /// The request (not marked oneway; callers that want that mark it).
    pub fn to_request(&self) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(request::END_TRANSACTION)
            .with_ext("producerGroup", &self.producer_group)
            .with_ext("tranStateTableOffset", self.tran_state_table_offset)
            .with_ext("commitLogOffset", self.commit_log_offset)
            .with_ext("commitOrRollback", self.commit_or_rollback)
            .with_ext("fromTransactionCheck", self.from_transaction_check);
        if let Some(m) = &self.msg_id {
            cmd.put_ext("msgId", m);
        }
        if let Some(t) = &self.transaction_id {
            cmd.put_ext("transactionId", t);
        }
        cmd
    }
}

/// The CHECK_TRANSACTION_STATE header; the body is the half message as a stored record with
/// its real topic and queue restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTransactionStateHeader {
    pub tran_state_table_offset: i64,
    pub commit_log_offset: i64,
    /// The message's `UNIQ_KEY` (what the producer calls the message id).
    pub msg_id: Option<String>,
    pub transaction_id: Option<String>,
    /// The broker's id of the half message (store host + commit-log offset).
    pub offset_msg_id: String,
}

impl CheckTransactionStateHeader {
    /// The request, without body and not yet marked oneway.
    pub fn to_request(&self) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE)
            .with_ext("tranStateTableOffset", self.tran_state_table_offset)
            .with_ext("commitLogOffset", self.commit_log_offset)
            .with_ext("offsetMsgId", &self.offset_msg_id);
        if let Some(m) = &self.msg_id {
            cmd.put_ext("msgId", m);
        }
        if let Some(t) = &self.transaction_id {
            cmd.put_ext("transactionId", t);
        }
        cmd
    }

    /// Reads the header from a check request (what a producer does).
    ///
    /// # Errors
    /// A missing or non-numeric offset.
    pub fn parse(req: &RemotingCommand) -> Result<Self, HeaderError> {
        Ok(Self {
            tran_state_table_offset: req.req_i64("tranStateTableOffset")?,
            commit_log_offset: req.req_i64("commitLogOffset")?,
            msg_id: req.ext("msgId").map(String::from),
            transaction_id: req.ext("transactionId").map(String::from),
            offset_msg_id: req.ext("offsetMsgId").unwrap_or_default().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_transaction_round_trips() {
        let h = EndTransactionHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 1234,
            commit_or_rollback: TxOutcome::Commit.code(),
            from_transaction_check: true,
            msg_id: Some("U1".into()),
            transaction_id: None,
        };
        assert_eq!(EndTransactionHeader::parse(&h.to_request()).unwrap(), h);
        assert_eq!(TxOutcome::from_code(12), Some(TxOutcome::Rollback));
        assert_eq!(TxOutcome::from_code(0), Some(TxOutcome::Unknown));
        assert_eq!(TxOutcome::from_code(4), None);
    }

    #[test]
    fn a_missing_offset_is_named() {
        let req = RemotingCommand::request(request::END_TRANSACTION)
            .with_ext("producerGroup", "PG")
            .with_ext("commitLogOffset", 1)
            .with_ext("commitOrRollback", 8);
        let e = EndTransactionHeader::parse(&req).unwrap_err();
        assert!(e.to_string().contains("tranStateTableOffset"), "{e}");
    }
}
