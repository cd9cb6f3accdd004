//! The compiled form of an expression.

use crate::lexer::CmpOp;

/// A value in an expression: a message property or a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Prop(Box<str>),
    Str(Box<str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// The string tests added by RocketMQ 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// A condition; evaluating one gives TRUE, FALSE or unknown.
///
/// Negated forms (`NOT IN`, `NOT BETWEEN`, …) are stored as [`Expr::Not`] around the plain form,
/// which has the same three-valued result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `TRUE`, `FALSE` or `NULL` used as a condition.
    Const(Option<bool>),
    Or(Box<[Expr]>),
    And(Box<[Expr]>),
    Not(Box<Expr>),
    /// A property used as a condition: TRUE for "true", FALSE for "false" (any case).
    Truthy(Box<str>),
    Cmp(CmpOp, Operand, Operand),
    /// Value, low bound, high bound; boxed to keep `Expr` small.
    Between(Box<[Operand; 3]>),
    /// `list` is sorted and free of duplicates.
    In {
        value: Operand,
        list: Box<[Box<str>]>,
    },
    IsNull(Operand),
    Text {
        op: TextOp,
        value: Operand,
        pattern: Box<str>,
    },
}
