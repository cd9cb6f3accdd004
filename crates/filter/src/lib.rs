//! SQL92 message filtering, as RocketMQ consumers ask for it with
//! `MessageSelector.bySql("region = 'eu' AND (price > 100 OR TAGS IN ('vip'))")`.
//!
//! An expression is compiled once with [`compile`] (the broker keeps the [`Filter`] per
//! subscription) and then checked against each message with [`Filter::matches`]. The values a
//! filter sees are the message's user properties, every one of them a string; the message tag
//! is the property `TAGS`.
//!
//! ```
//! use std::collections::HashMap;
//!
//! let filter = ferromq_filter::compile("a > 5 AND TAGS IN ('x', 'y')")?;
//! let props = HashMap::from([
//!     ("a".to_owned(), "7".to_owned()),
//!     ("TAGS".to_owned(), "x".to_owned()),
//! ]);
//! assert!(filter.matches_map(&props));
//! // Without TAGS the IN test is unknown, so the message does not match.
//! assert!(!filter.matches(&|name| (name == "a").then_some("7")));
//! assert!(filter.matches_encoded("a\u{1}7\u{2}TAGS\u{1}y\u{2}"));
//! # Ok::<(), ferromq_filter::FilterError>(())
//! ```
//!
//! # Grammar
//!
//! Keywords may be written in any case; property names are case-sensitive.
//!
//! | form | meaning |
//! | --- | --- |
//! | `'text'` | string; a quote inside is written twice: `'it''s'` |
//! | `42`, `-7` | integer (`i64`) |
//! | `1.5`, `-.5`, `2e3` | decimal (`f64`) |
//! | `TRUE`, `FALSE`, `NULL` | boolean and null literals |
//! | `name`, `a.b_$c` | a property: a letter, `_` or `$`, then letters, digits, `_`, `$`, `.` |
//! | `c OR c`, `c AND c`, `NOT c` | logic, binding in that order from loosest to tightest |
//! | `v = v`, `v <> v`, `v < v`, `v <= v`, `v > v`, `v >= v` | comparison |
//! | `v [NOT] BETWEEN v AND v` | numeric range, both ends included |
//! | `v [NOT] IN ('s', …)` | membership in a non-empty list of string literals |
//! | `v IS [NOT] NULL` | whether the property is absent |
//! | `v [NOT] CONTAINS 's'`, `v [NOT] STARTSWITH 's'`, `v [NOT] ENDSWITH 's'` | substring tests |
//! | `( c )` | grouping, at most [`MAX_DEPTH`] levels deep |
//!
//! Here `v` is a property or a literal and `c` a condition. A property, `TRUE`, `FALSE` or
//! `NULL` can stand alone as a condition; a string or number literal cannot. An expression is
//! at most [`MAX_EXPRESSION_LEN`] bytes long.
//!
//! # Semantics
//!
//! Conditions have three outcomes: true, false and unknown. A message matches only when the
//! whole expression is true; false and unknown both filter it out.
//!
//! * An absent property is NULL. Every comparison, range, `IN` or substring test with a NULL
//!   side is unknown, and so is its `NOT` form. `IS NULL` and `IS NOT NULL` are never unknown.
//! * `AND` is false if either side is false, else unknown if either is unknown; `OR` is true if
//!   either side is true, else unknown if either is unknown; `NOT` keeps unknown unknown.
//! * `<`, `<=`, `>`, `>=` and `BETWEEN` are numeric. A property's string is read as an `i64`
//!   when it is one and otherwise as an `f64` in plain decimal notation (`"1.5"`, `"2e3"`, no
//!   spaces, no `inf` or `NaN`). A value that is not a number makes the test unknown, never an
//!   error. Two integers compare exactly; an integer and a decimal compare as `f64`.
//! * `=` and `<>` compare two strings (a property or a string literal) as strings, and compare
//!   numerically as soon as one side is a number literal, with the same "not a number means
//!   unknown" rule. Against `TRUE` or `FALSE` a string must be `true` or `false` in any case,
//!   else the test is unknown. A boolean compared to a number is unknown.
//! * A property standing alone as a condition is true for `"true"`, false for `"false"` (any
//!   case) and unknown for anything else or when absent.
//! * `IN` and the substring tests compare strings exactly (case-sensitive, byte for byte).
//!
//! Operand types that are wrong for certain, such as `a > 'x'`, `a IN (1)`, `5 CONTAINS 'x'`
//! or a bare `'x'` as a condition, are refused by [`compile`].
//!
//! Not supported: arithmetic, `LIKE`, comparing conditions to each other (`(a > 1) = TRUE`),
//! quoted property names, hexadecimal or octal numbers and `L`-suffixed integers.

mod ast;
mod error;
mod eval;
mod lexer;
mod parser;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use error::{ErrorKind, FilterError};

/// The longest expression, in bytes, that [`compile`] accepts.
pub const MAX_EXPRESSION_LEN: usize = 64 * 1024;

/// The deepest nesting of parentheses that [`compile`] accepts.
pub const MAX_DEPTH: usize = 256;

/// The property holding a message's tag.
pub const TAGS: &str = "TAGS";

/// A compiled filter expression. Cloning is cheap: clones share the compiled form.
#[derive(Clone)]
pub struct Filter {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    expr: ast::Expr,
}

/// Compiles `expr` into a [`Filter`]; see the [crate docs](crate) for the language.
///
/// Time and memory are linear in the length of `expr` (an `IN` list is sorted once).
///
/// # Errors
///
/// Returns a [`FilterError`] naming the problem and its byte offset when `expr` is empty, longer
/// than [`MAX_EXPRESSION_LEN`], nests parentheses deeper than [`MAX_DEPTH`], holds a character,
/// string or number that cannot be read, does not follow the grammar, or applies an operator to
/// a literal of the wrong type.
pub fn compile(expr: &str) -> Result<Filter, FilterError> {
    if expr.len() > MAX_EXPRESSION_LEN {
        return Err(FilterError::new(
            ErrorKind::TooLong,
            MAX_EXPRESSION_LEN,
            format!(
                "expression is {} bytes long, the limit is {MAX_EXPRESSION_LEN}",
                expr.len()
            ),
        ));
    }
    let tokens = lexer::tokenize(expr)?;
    let compiled = parser::parse(tokens)?;
    Ok(Filter {
        inner: Arc::new(Inner {
            source: expr.to_owned(),
            expr: compiled,
        }),
    })
}

impl Filter {
    /// Whether a message with these properties passes: `props` returns a property's value, or
    /// `None` if the message does not have it.
    pub fn matches<'v>(&self, props: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        eval::eval(&self.inner.expr, props) == Some(true)
    }

    /// [`matches`](Self::matches) over a map of properties.
    pub fn matches_map(&self, props: &HashMap<String, String>) -> bool {
        let lookup = |name: &str| props.get(name).map(String::as_str);
        eval::eval(&self.inner.expr, &lookup) == Some(true)
    }

    /// [`matches`](Self::matches) over properties in RocketMQ's wire encoding,
    /// `name\u{1}value\u{2}name\u{1}value\u{2}…`. When a name repeats, its last value counts.
    pub fn matches_encoded(&self, properties: &str) -> bool {
        let lookup = |name: &str| {
            properties
                .rsplit('\u{2}')
                .filter_map(|pair| pair.split_once('\u{1}'))
                .find(|&(key, _)| key == name)
                .map(|(_, value)| value)
        };
        eval::eval(&self.inner.expr, &lookup) == Some(true)
    }

    /// The expression this filter was compiled from.
    pub fn expression(&self) -> &str {
        &self.inner.source
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("expression", &self.inner.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.source)
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        compile(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_send_sync_clone_debug() {
        fn check<T: Send + Sync + Clone + fmt::Debug + 'static>() {}
        check::<Filter>();
        check::<FilterError>();
    }

    #[test]
    fn encoded_lookup() {
        let f = compile("a = '1' AND TAGS = 'x'").unwrap();
        assert!(f.matches_encoded("a\u{1}1\u{2}TAGS\u{1}x\u{2}"));
        assert!(f.matches_encoded("a\u{1}1\u{2}TAGS\u{1}x"));
        assert!(f.matches_encoded("a\u{1}0\u{2}TAGS\u{1}x\u{2}a\u{1}1\u{2}"));
        assert!(!f.matches_encoded("a\u{1}1\u{2}"));
        assert!(!f.matches_encoded(""));
        assert!(!f.matches_encoded("ab\u{1}1\u{2}TAGS\u{1}x\u{2}"));
    }

    #[test]
    fn display_and_from_str() {
        let f: Filter = "a > 1".parse().unwrap();
        assert_eq!(f.to_string(), "a > 1");
        assert_eq!(f.expression(), "a > 1");
        assert!(format!("{f:?}").contains("a > 1"));
    }
}
