//! Errors of the wire layer.

use thiserror::Error;

/// A frame or header that cannot be decoded. The connection that sent it is closed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame too short: {0} bytes")]
    FrameTooShort(usize),
    #[error("header length {header} exceeds frame length {frame}")]
    HeaderTooLong { header: usize, frame: usize },
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    #[error("malformed JSON header: {0}")]
    BadJsonHeader(String),
    #[error("malformed binary header: {0}")]
    BadBinaryHeader(&'static str),
    #[error("malformed message record: {0}")]
    BadRecord(&'static str),
}

/// A request whose `extFields` lack a required key or carry an unusable value.
/// The broker answers these with a response code and a remark naming the field.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum HeaderError {
    #[error("the header field '{0}' is required")]
    Missing(&'static str),
    #[error("the header field '{field}' has an invalid value '{value}'")]
    Invalid { field: &'static str, value: String },
}

impl HeaderError {
    /// The response for a request with this header problem: INVALID_PARAMETER naming the field.
    pub fn to_response(&self) -> crate::RemotingCommand {
        crate::RemotingCommand::error(crate::codes::response::INVALID_PARAMETER, self.to_string())
    }
}
