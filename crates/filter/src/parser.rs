//! Recursive-descent parser from tokens to [`Expr`].
//!
//! Only parentheses recurse (bounded by [`MAX_DEPTH`]); `AND`/`OR` chains and runs of `NOT`
//! are read in one loop, so no input can exhaust the stack.

use crate::ast::{Expr, Operand, TextOp};
use crate::error::{ErrorKind, FilterError, Snippet};
use crate::lexer::{CmpOp, Keyword, Tok, Token};
use crate::MAX_DEPTH;

/// Parses a whole token list (ending in [`Tok::Eof`]) into one condition.
pub(crate) fn parse(tokens: Vec<Token>) -> Result<Expr, FilterError> {
    let mut p = Parser {
        toks: tokens,
        i: 0,
        depth: 0,
    };
    if p.peek() == &Tok::Eof {
        return Err(FilterError::new(ErrorKind::Empty, 0, "empty expression"));
    }
    let expr = p.parse_or()?;
    match p.peek() {
        Tok::Eof => Ok(expr),
        Tok::RParen => Err(p.error(ErrorKind::Syntax, "')' without a matching '('".into())),
        _ => Err(p.unexpected("AND, OR or end of input")),
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }

    fn peek2(&self) -> &Tok {
        self.toks.get(self.i + 1).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks[self.i].pos
    }

    /// Takes the current token and moves on; at the end it keeps returning [`Tok::Eof`].
    fn bump(&mut self) -> Tok {
        if self.toks[self.i].tok == Tok::Eof {
            return Tok::Eof;
        }
        let tok = std::mem::replace(&mut self.toks[self.i].tok, Tok::Eof);
        self.i += 1;
        tok
    }

    fn eat_kw(&mut self, kw: Keyword) -> bool {
        if self.peek() == &Tok::Kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    #[cold]
    #[inline(never)]
    fn error(&self, kind: ErrorKind, message: String) -> FilterError {
        FilterError::new(kind, self.pos(), message)
    }

    #[cold]
    #[inline(never)]
    fn unexpected(&self, expected: &str) -> FilterError {
        let found = self.peek();
        if matches!(found, Tok::Kw(Keyword::Like | Keyword::Escape)) {
            return self.error(ErrorKind::Unsupported, format!("{found} is not supported"));
        }
        self.error(
            ErrorKind::Syntax,
            format!("expected {expected}, found {found}"),
        )
    }

    /// `c OR c …` where each `c` is `c AND c …`, and each of those a run of `NOT`s before a
    /// predicate. Both levels share one loop so that every level of parentheses costs just
    /// this frame and [`parse_predicate`](Self::parse_predicate)'s.
    fn parse_or(&mut self) -> Result<Expr, FilterError> {
        let mut ors: Vec<Expr> = Vec::new();
        let mut ands: Vec<Expr> = Vec::new();
        loop {
            // NOT NOT x is x in three-valued logic too, so only the parity of a run matters.
            let mut negate = false;
            while self.eat_kw(Keyword::Not) {
                negate = !negate;
            }
            let term = self.parse_predicate()?;
            push_flat(&mut ands, if negate { negated(term) } else { term }, false);
            if self.eat_kw(Keyword::And) {
                continue;
            }
            let conjunction = collect(std::mem::take(&mut ands), Expr::And);
            push_flat(&mut ors, conjunction, true);
            if !self.eat_kw(Keyword::Or) {
                return Ok(collect(ors, Expr::Or));
            }
        }
    }

    /// A parenthesised condition or a simple one. This is the only recursive step, so it and
    /// its callers keep their frames small: everything else lives in non-inlined helpers.
    fn parse_predicate(&mut self) -> Result<Expr, FilterError> {
        if self.peek() != &Tok::LParen {
            return self.parse_simple();
        }
        let open = self.pos();
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(open));
        }
        self.bump();
        self.depth += 1;
        let inner = self.parse_or()?;
        self.depth -= 1;
        match self.peek() {
            Tok::RParen => {
                self.bump();
                Ok(inner)
            }
            Tok::Eof => Err(FilterError::new(ErrorKind::Syntax, open, "unclosed '('")),
            _ => Err(self.unexpected("')', AND or OR")),
        }
    }

    /// An operand, optionally followed by a comparison, `IS`, `BETWEEN`, `IN` or a string test.
    #[inline(never)]
    fn parse_simple(&mut self) -> Result<Expr, FilterError> {
        let (value, value_pos) = self.operand("a property, literal, NOT or '('")?;
        match self.peek() {
            &Tok::Cmp(op) => {
                self.bump();
                let Some((rhs, rhs_pos)) = self.parse_operand() else {
                    let what = format!("a property or literal after '{}'", op.symbol());
                    return Err(self.unexpected(&what));
                };
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    check_numeric(&value, value_pos, op.symbol())?;
                    check_numeric(&rhs, rhs_pos, op.symbol())?;
                }
                Ok(Expr::Cmp(op, value, rhs))
            }
            Tok::Kw(Keyword::Is) => {
                self.bump();
                let not = self.eat_kw(Keyword::Not);
                if !self.eat_kw(Keyword::Null) {
                    return Err(self.unexpected("NULL or NOT NULL after IS"));
                }
                let test = Expr::IsNull(value);
                Ok(if not { negated(test) } else { test })
            }
            Tok::Kw(Keyword::Not) => match self.peek2() {
                Tok::Kw(
                    Keyword::Between
                    | Keyword::In
                    | Keyword::Contains
                    | Keyword::StartsWith
                    | Keyword::EndsWith
                    | Keyword::Like,
                ) => {
                    self.bump();
                    Ok(negated(self.parse_suffix(value, value_pos)?))
                }
                _ => {
                    self.bump();
                    Err(self.unexpected("BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT"))
                }
            },
            Tok::Kw(
                Keyword::Between
                | Keyword::In
                | Keyword::Contains
                | Keyword::StartsWith
                | Keyword::EndsWith
                | Keyword::Like,
            ) => self.parse_suffix(value, value_pos),
            _ => as_condition(value, value_pos),
        }
    }

    /// `BETWEEN`, `IN`, `CONTAINS`, `STARTSWITH` or `ENDSWITH` and what follows, after `value`
    /// (and after a `NOT`, which the caller applies).
    fn parse_suffix(&mut self, value: Operand, value_pos: usize) -> Result<Expr, FilterError> {
        let op_pos = self.pos();
        match self.bump() {
            Tok::Kw(Keyword::Between) => {
                check_numeric(&value, value_pos, "BETWEEN")?;
                let (low, low_pos) = self.operand("a number after BETWEEN")?;
                check_numeric(&low, low_pos, "BETWEEN")?;
                if !self.eat_kw(Keyword::And) {
                    return Err(self.unexpected("AND in BETWEEN"));
                }
                let (high, high_pos) = self.operand("a number after BETWEEN … AND")?;
                check_numeric(&high, high_pos, "BETWEEN")?;
                Ok(Expr::Between(Box::new([value, low, high])))
            }
            Tok::Kw(Keyword::In) => {
                check_text(&value, value_pos, "IN")?;
                let list = self.parse_in_list()?;
                Ok(Expr::In { value, list })
            }
            Tok::Kw(kw @ (Keyword::Contains | Keyword::StartsWith | Keyword::EndsWith)) => {
                let (op, name) = match kw {
                    Keyword::Contains => (TextOp::Contains, "CONTAINS"),
                    Keyword::StartsWith => (TextOp::StartsWith, "STARTSWITH"),
                    _ => (TextOp::EndsWith, "ENDSWITH"),
                };
                check_text(&value, value_pos, name)?;
                if !matches!(self.peek(), Tok::Str(_)) {
                    return Err(self.unexpected(&format!("a string literal after {name}")));
                }
                let pattern = match self.bump() {
                    Tok::Str(s) => s.into(),
                    _ => Box::default(),
                };
                Ok(Expr::Text { op, value, pattern })
            }
            _ => Err(FilterError::new(
                ErrorKind::Unsupported,
                op_pos,
                "LIKE is not supported",
            )),
        }
    }

    /// `( 'a', 'b', … )` after `IN`: at least one string literal.
    fn parse_in_list(&mut self) -> Result<Box<[Box<str>]>, FilterError> {
        if self.peek() != &Tok::LParen {
            return Err(self.unexpected("'(' after IN"));
        }
        self.bump();
        if self.peek() == &Tok::RParen {
            return Err(self.error(ErrorKind::Syntax, "IN list must not be empty".into()));
        }
        let mut list: Vec<Box<str>> = Vec::new();
        loop {
            match self.peek() {
                Tok::Str(_) => {
                    if let Tok::Str(s) = self.bump() {
                        list.push(s.into());
                    }
                }
                Tok::Int(_) | Tok::Float(_) | Tok::Kw(Keyword::True | Keyword::False) => {
                    let found = self.peek().to_string();
                    return Err(self.error(
                        ErrorKind::Type,
                        format!("IN list holds only string literals, found {found}"),
                    ));
                }
                _ => return Err(self.unexpected("a string literal in the IN list")),
            }
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => {
                    self.bump();
                    break;
                }
                _ => return Err(self.unexpected("',' or ')' in the IN list")),
            }
        }
        list.sort_unstable();
        list.dedup();
        Ok(list.into())
    }

    /// [`parse_operand`](Self::parse_operand), or an error naming what was `expected`.
    fn operand(&mut self, expected: &str) -> Result<(Operand, usize), FilterError> {
        self.parse_operand()
            .ok_or_else(|| self.unexpected(expected))
    }

    /// A property name or a literal, with its byte offset; `None` (consuming nothing) if the
    /// next token is neither.
    fn parse_operand(&mut self) -> Option<(Operand, usize)> {
        let pos = self.pos();
        let is_operand = matches!(
            self.peek(),
            Tok::Ident(_)
                | Tok::Str(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Kw(Keyword::True | Keyword::False | Keyword::Null)
        );
        if !is_operand {
            return None;
        }
        let operand = match self.bump() {
            Tok::Ident(name) => Operand::Prop(name.into()),
            Tok::Str(s) => Operand::Str(s.into()),
            Tok::Int(n) => Operand::Int(n),
            Tok::Float(x) => Operand::Float(x),
            Tok::Kw(Keyword::True) => Operand::Bool(true),
            Tok::Kw(Keyword::False) => Operand::Bool(false),
            _ => Operand::Null,
        };
        Some((operand, pos))
    }
}

#[cold]
#[inline(never)]
fn too_deep(pos: usize) -> FilterError {
    FilterError::new(
        ErrorKind::TooDeep,
        pos,
        format!("parentheses nested deeper than {MAX_DEPTH}"),
    )
}

/// The only term of a list, or the list under `make`.
fn collect(mut terms: Vec<Expr>, make: fn(Box<[Expr]>) -> Expr) -> Expr {
    match terms.pop() {
        Some(only) if terms.is_empty() => only,
        Some(last) => {
            terms.push(last);
            make(terms.into())
        }
        None => Expr::Const(None),
    }
}

/// Adds `term` to an OR (`or`) or AND list, splicing in a nested list of the same kind.
fn push_flat(terms: &mut Vec<Expr>, term: Expr, or: bool) {
    match term {
        Expr::Or(inner) if or => terms.extend(inner.into_vec()),
        Expr::And(inner) if !or => terms.extend(inner.into_vec()),
        other => terms.push(other),
    }
}

fn negated(expr: Expr) -> Expr {
    match expr {
        Expr::Not(inner) => *inner,
        Expr::Const(c) => Expr::Const(c.map(|b| !b)),
        other => Expr::Not(Box::new(other)),
    }
}

/// An operand standing alone where a condition is expected.
fn as_condition(value: Operand, pos: usize) -> Result<Expr, FilterError> {
    match value {
        Operand::Prop(name) => Ok(Expr::Truthy(name)),
        Operand::Bool(b) => Ok(Expr::Const(Some(b))),
        Operand::Null => Ok(Expr::Const(None)),
        other => Err(FilterError::new(
            ErrorKind::Type,
            pos,
            format!("expression must be boolean, found {}", describe(&other)),
        )),
    }
}

/// Ordering comparisons and BETWEEN take properties, numbers and NULL, never a string or
/// boolean literal.
fn check_numeric(value: &Operand, pos: usize, op: &str) -> Result<(), FilterError> {
    match value {
        Operand::Str(_) | Operand::Bool(_) => Err(FilterError::new(
            ErrorKind::Type,
            pos,
            format!("{op} compares numbers, found {}", describe(value)),
        )),
        _ => Ok(()),
    }
}

/// IN and the string tests take properties, strings and NULL, never a number or boolean.
fn check_text(value: &Operand, pos: usize, op: &str) -> Result<(), FilterError> {
    match value {
        Operand::Int(_) | Operand::Float(_) | Operand::Bool(_) => Err(FilterError::new(
            ErrorKind::Type,
            pos,
            format!("{op} needs a string operand, found {}", describe(value)),
        )),
        _ => Ok(()),
    }
}

fn describe(value: &Operand) -> String {
    match value {
        Operand::Prop(name) => format!("property {}", Snippet(name)),
        Operand::Str(s) => format!("string '{}'", Snippet(s)),
        Operand::Int(n) => format!("number {n}"),
        Operand::Float(x) => format!("number {x}"),
        Operand::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_owned(),
        Operand::Null => "NULL".to_owned(),
    }
}
