//! Transactional messages with ferromq's own client and raw commands: half messages
//! (SEND_MESSAGE_V2 with `TRAN_MSG=true`), END_TRANSACTION (37) commit / rollback / unknown,
//! CHECK_TRANSACTION_STATE (39) check-backs to the producer's connection, the check limit,
//! recovery after a restart, and malformed END_TRANSACTIONs.

//!
//! Layout: `fixtures.rs` (setup and the requests the tests share), then `basic.rs` (commit,
//! rollback, malformed requests), `checks.rs` (check-backs and their limit) and `restart.rs`.

mod basic;
mod checks;
mod fixtures;
mod restart;
