//! The two header encodings. Both decode into the same [`RemotingCommand`] fields.

pub mod binary;
pub mod json;
