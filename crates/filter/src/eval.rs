//! Three-valued evaluation of a compiled [`Expr`] against message properties.
//!
//! `Option<bool>` is the truth value: `Some(true)`, `Some(false)` or `None` for unknown.

use std::cmp::Ordering;

use crate::ast::{Expr, Operand, TextOp};
use crate::lexer::CmpOp;

/// A resolved operand.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

/// Evaluates `expr`; `props` returns a property's value, or `None` when it is absent.
pub(crate) fn eval<'v, F>(expr: &Expr, props: &F) -> Option<bool>
where
    F: ?Sized + Fn(&str) -> Option<&'v str>,
{
    match expr {
        Expr::Const(c) => *c,
        Expr::Or(terms) => {
            let mut result = Some(false);
            for term in terms.iter() {
                match eval(term, props) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => result = None,
                }
            }
            result
        }
        Expr::And(terms) => {
            let mut result = Some(true);
            for term in terms.iter() {
                match eval(term, props) {
                    Some(false) => return Some(false),
                    Some(true) => {}
                    None => result = None,
                }
            }
            result
        }
        Expr::Not(inner) => eval(inner, props).map(|b| !b),
        Expr::Truthy(name) => props(name).and_then(parse_bool),
        Expr::Cmp(op, lhs, rhs) => compare(*op, resolve(lhs, props), resolve(rhs, props)),
        Expr::Between(operands) => {
            let [value, low, high] = &**operands;
            let value = resolve(value, props);
            let above = compare(CmpOp::Ge, value, resolve(low, props));
            if above == Some(false) {
                return Some(false);
            }
            let below = compare(CmpOp::Le, value, resolve(high, props));
            match (above, below) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        }
        Expr::In { value, list } => match resolve(value, props) {
            Val::Str(s) => Some(list.binary_search_by(|item| (**item).cmp(s)).is_ok()),
            _ => None,
        },
        Expr::IsNull(value) => Some(matches!(resolve(value, props), Val::Null)),
        Expr::Text { op, value, pattern } => match resolve(value, props) {
            Val::Str(s) => Some(match op {
                TextOp::Contains => s.contains(&**pattern),
                TextOp::StartsWith => s.starts_with(&**pattern),
                TextOp::EndsWith => s.ends_with(&**pattern),
            }),
            _ => None,
        },
    }
}

fn resolve<'r, 'f: 'r, 'v: 'r, F>(operand: &'f Operand, props: &F) -> Val<'r>
where
    F: ?Sized + Fn(&str) -> Option<&'v str>,
{
    match operand {
        Operand::Prop(name) => props(name).map_or(Val::Null, Val::Str),
        Operand::Str(s) => Val::Str(s),
        Operand::Int(n) => Val::Int(*n),
        Operand::Float(x) => Val::Float(*x),
        Operand::Bool(b) => Val::Bool(*b),
        Operand::Null => Val::Null,
    }
}

fn compare(op: CmpOp, lhs: Val<'_>, rhs: Val<'_>) -> Option<bool> {
    match op {
        CmpOp::Eq => equals(lhs, rhs),
        CmpOp::Ne => equals(lhs, rhs).map(|eq| !eq),
        _ => {
            let ord = compare_numbers(to_number(lhs)?, to_number(rhs)?)?;
            Some(match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
    }
}

fn equals(lhs: Val<'_>, rhs: Val<'_>) -> Option<bool> {
    match (lhs, rhs) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Str(a), Val::Str(b)) => Some(a == b),
        (Val::Bool(a), Val::Bool(b)) => Some(a == b),
        (Val::Bool(b), Val::Str(s)) | (Val::Str(s), Val::Bool(b)) => parse_bool(s).map(|v| v == b),
        (Val::Bool(_), _) | (_, Val::Bool(_)) => None,
        (a, b) => Some(compare_numbers(to_number(a)?, to_number(b)?)? == Ordering::Equal),
    }
}

fn to_number(value: Val<'_>) -> Option<Num> {
    match value {
        Val::Int(n) => Some(Num::Int(n)),
        Val::Float(x) => Some(Num::Float(x)),
        Val::Str(s) => parse_number(s),
        Val::Null | Val::Bool(_) => None,
    }
}

fn compare_numbers(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
        (a, b) => as_f64(a).partial_cmp(&as_f64(b)),
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        // Precision loss above 2^53 is the documented i64-versus-f64 rule.
        Num::Int(n) => n as f64,
        Num::Float(x) => x,
    }
}

/// A property value as a number: an `i64` if it is one, else an `f64` written in decimal
/// notation. Words Rust would also accept (`inf`, `NaN`) and surrounding spaces are refused.
fn parse_number(s: &str) -> Option<Num> {
    let plausible = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plausible {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return Some(Num::Int(n));
    }
    s.parse::<f64>().ok().map(Num::Float)
}

/// `"true"` and `"false"` in any case; anything else is not a boolean.
fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_numbers() {
        assert!(matches!(parse_number("42"), Some(Num::Int(42))));
        assert!(matches!(parse_number("-7"), Some(Num::Int(-7))));
        assert!(matches!(parse_number("+7"), Some(Num::Int(7))));
        assert!(matches!(parse_number("1.5"), Some(Num::Float(x)) if x == 1.5));
        assert!(matches!(parse_number("1e3"), Some(Num::Float(x)) if x == 1000.0));
        assert!(matches!(parse_number("99999999999999999999"), Some(Num::Float(x)) if x > 9.9e19));
        for bad in [
            "", " 1", "1 ", "inf", "NaN", "infinity", "0x10", "1-", "--1", "e", ".",
        ] {
            assert!(parse_number(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn int_and_float_compare_as_float() {
        assert_eq!(
            compare_numbers(Num::Int(3), Num::Float(3.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare_numbers(Num::Float(2.5), Num::Int(3)),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_numbers(Num::Int(i64::MAX), Num::Int(i64::MAX - 1)),
            Some(Ordering::Greater)
        );
    }
}
