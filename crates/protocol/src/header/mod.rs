//! The two header encodings. Both decode into the same [`crate::RemotingCommand`] fields.

pub mod binary;
pub mod json;
