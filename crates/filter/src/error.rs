//! The one error type of this crate: what went wrong and at which byte.

use std::fmt;

/// The broad class of a [`FilterError`], for callers that react differently to, say, an
/// over-long expression and a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The expression is empty or only white space.
    Empty,
    /// The expression is longer than [`crate::MAX_EXPRESSION_LEN`] bytes.
    TooLong,
    /// Parentheses nest deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// A character, number or string literal that cannot be read.
    Lexical,
    /// Tokens in an order the grammar does not allow.
    Syntax,
    /// A well-formed expression whose operand types do not fit, such as `a > 'x'` or a bare
    /// number where a condition is expected.
    Type,
    /// Syntax known from other SQL dialects that this filter deliberately does not support.
    Unsupported,
}

/// Why an expression did not compile, and where.
///
/// Its `Display` is a single line: the message followed by `at byte N`, where `N` is a byte
/// offset into the expression as given to [`crate::compile`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {position}")]
pub struct FilterError {
    kind: ErrorKind,
    position: usize,
    message: String,
}

impl FilterError {
    pub(crate) fn new(kind: ErrorKind, position: usize, message: impl Into<String>) -> Self {
        Self {
            kind,
            position,
            message: message.into(),
        }
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset into the expression where the problem was found.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Writes `text` for an error message: at most `max` characters, control characters escaped,
/// so that an error always stays on one short line whatever the input holds.
pub(crate) struct Snippet<'a>(pub &'a str);

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 32;
        for (n, c) in self.0.chars().enumerate() {
            if n == MAX {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}
