//! Turns an expression into tokens, each with the byte offset where it starts.

use std::fmt;

use crate::error::{ErrorKind, FilterError, Snippet};

/// Keywords, recognised whatever their case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    Between,
    In,
    Is,
    Null,
    True,
    False,
    Contains,
    StartsWith,
    EndsWith,
    /// Reserved so that its use gets a clear "not supported" error.
    Like,
    /// Reserved with `LIKE`.
    Escape,
}

const KEYWORDS: [(&str, Keyword); 14] = [
    ("AND", Keyword::And),
    ("OR", Keyword::Or),
    ("NOT", Keyword::Not),
    ("BETWEEN", Keyword::Between),
    ("IN", Keyword::In),
    ("IS", Keyword::Is),
    ("NULL", Keyword::Null),
    ("TRUE", Keyword::True),
    ("FALSE", Keyword::False),
    ("CONTAINS", Keyword::Contains),
    ("STARTSWITH", Keyword::StartsWith),
    ("ENDSWITH", Keyword::EndsWith),
    ("LIKE", Keyword::Like),
    ("ESCAPE", Keyword::Escape),
];

impl Keyword {
    fn lookup(word: &str) -> Option<Self> {
        KEYWORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|&(_, k)| k)
    }

    fn name(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|&&(_, k)| k == self)
            .map_or("?", |&(name, _)| name)
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Kw(Keyword),
    Cmp(CmpOp),
    LParen,
    RParen,
    Comma,
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(name) => write!(f, "property {}", Snippet(name)),
            Tok::Str(s) => write!(f, "string '{}'", Snippet(s)),
            Tok::Int(n) => write!(f, "number {n}"),
            Tok::Float(x) => write!(f, "number {x}"),
            Tok::Kw(k) => f.write_str(k.name()),
            Tok::Cmp(op) => write!(f, "'{}'", op.symbol()),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// Splits `src` into tokens; the last one is always [`Tok::Eof`] at `src.len()`.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' => {
                i += 1;
                Tok::Cmp(CmpOp::Eq)
            }
            b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (b, next) {
                    (b'<', Some(b'>')) => (CmpOp::Ne, 2),
                    (b'<', Some(b'=')) => (CmpOp::Le, 2),
                    (b'>', Some(b'=')) => (CmpOp::Ge, 2),
                    (b'<', _) => (CmpOp::Lt, 1),
                    _ => (CmpOp::Gt, 1),
                };
                i += len;
                Tok::Cmp(op)
            }
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Err(FilterError::new(
                    ErrorKind::Unsupported,
                    start,
                    "'!=' is not supported, use '<>'",
                ));
            }
            b'\'' => {
                let (s, end) = lex_string(src, start)?;
                i = end;
                Tok::Str(s)
            }
            b'0'..=b'9' | b'.' | b'-' if starts_number(bytes, i) => {
                let (tok, end) = lex_number(src, start)?;
                i = end;
                tok
            }
            _ if is_ident_start(b) => {
                while i < bytes.len() && is_ident_part(bytes[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                match Keyword::lookup(word) {
                    Some(k) => Tok::Kw(k),
                    None => Tok::Ident(word.to_owned()),
                }
            }
            _ => {
                let len = src[start..].chars().next().map_or(1, char::len_utf8);
                return Err(FilterError::new(
                    ErrorKind::Lexical,
                    start,
                    format!(
                        "unexpected character '{}'",
                        Snippet(&src[start..start + len])
                    ),
                ));
            }
        };
        tokens.push(Token { tok, pos: start });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(tokens)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.'
}

/// Whether a number literal starts at `i`: a digit, `.digit`, `-digit` or `-.digit`.
fn starts_number(bytes: &[u8], i: usize) -> bool {
    let digit_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    let dot_digit_at = |j: usize| bytes.get(j) == Some(&b'.') && digit_at(j + 1);
    match bytes[i] {
        b'-' => digit_at(i + 1) || dot_digit_at(i + 1),
        b'.' => dot_digit_at(i),
        _ => true,
    }
}

/// Reads a quoted string starting at the quote at `start`; `''` stands for one quote.
/// Returns the unescaped text and the offset just past the closing quote.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), FilterError> {
    let bytes = src.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut chunk = i;
    loop {
        match bytes.get(i) {
            None => {
                return Err(FilterError::new(
                    ErrorKind::Lexical,
                    start,
                    "unterminated string literal",
                ))
            }
            Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                // Quotes are ASCII, so these offsets are always on character boundaries.
                out.push_str(&src[chunk..=i]);
                i += 2;
                chunk = i;
            }
            Some(b'\'') => {
                out.push_str(&src[chunk..i]);
                return Ok((out, i + 1));
            }
            Some(_) => i += 1,
        }
    }
}

/// Reads a number literal at `start` (see [`starts_number`]): an optional `-`, digits, an
/// optional fraction and an optional exponent. Without fraction or exponent it is an `i64`.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), FilterError> {
    let bytes = src.as_bytes();
    let digits = |mut j: usize| {
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut i = start;
    if bytes[i] == b'-' {
        i += 1;
    }
    i = digits(i);
    let mut float = false;
    if bytes.get(i) == Some(&b'.') {
        float = true;
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = digits(j);
        }
    }
    let text = &src[start..i];
    if bytes.get(i).is_some_and(|&b| is_ident_part(b)) {
        let end = i + bytes[i..].iter().take_while(|&&b| is_ident_part(b)).count();
        return Err(FilterError::new(
            ErrorKind::Lexical,
            start,
            format!("invalid number '{}'", Snippet(&src[start..end])),
        ));
    }
    let tok = if float {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Tok::Float(x),
            _ => return Err(out_of_range(start, text)),
        }
    } else {
        match text.parse::<i64>() {
            Ok(n) => Tok::Int(n),
            Err(_) => return Err(out_of_range(start, text)),
        }
    };
    Ok((tok, i))
}

fn out_of_range(start: usize, text: &str) -> FilterError {
    FilterError::new(
        ErrorKind::Lexical,
        start,
        format!("number {} out of range", Snippet(text)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("1 -2 1.5 .5 -.5 1. 1e3 2E-2 -9223372036854775808"),
            vec![
                Tok::Int(1),
                Tok::Int(-2),
                Tok::Float(1.5),
                Tok::Float(0.5),
                Tok::Float(-0.5),
                Tok::Float(1.0),
                Tok::Float(1000.0),
                Tok::Float(0.02),
                Tok::Int(i64::MIN),
                Tok::Eof,
            ]
        );
        assert!(tokenize("9223372036854775808").is_err());
        assert!(tokenize("1e999").is_err());
        assert!(tokenize("12abc").is_err());
        assert!(tokenize("1e").is_err());
        assert!(tokenize("1.2.3").is_err());
    }

    #[test]
    fn strings_and_operators() {
        assert_eq!(
            toks("a.b_$1<>'it''s'<=>=<>=(,)"),
            vec![
                Tok::Ident("a.b_$1".into()),
                Tok::Cmp(CmpOp::Ne),
                Tok::Str("it's".into()),
                Tok::Cmp(CmpOp::Le),
                Tok::Cmp(CmpOp::Ge),
                Tok::Cmp(CmpOp::Ne),
                Tok::Cmp(CmpOp::Eq),
                Tok::LParen,
                Tok::Comma,
                Tok::RParen,
                Tok::Eof,
            ]
        );
        assert_eq!(
            toks("'' ''''"),
            vec![Tok::Str(String::new()), Tok::Str("'".into()), Tok::Eof]
        );
        assert_eq!(toks("'héllo'"), vec![Tok::Str("héllo".into()), Tok::Eof]);
    }

    #[test]
    fn keywords_ignore_case() {
        assert_eq!(
            toks("and Or nOT startsWith"),
            vec![
                Tok::Kw(Keyword::And),
                Tok::Kw(Keyword::Or),
                Tok::Kw(Keyword::Not),
                Tok::Kw(Keyword::StartsWith),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn token_positions_are_byte_offsets() {
        let t = tokenize("é = 'x'").unwrap_err();
        assert_eq!(t.position(), 0);
        let t = tokenize("'é' = x").unwrap();
        assert_eq!(
            t.iter().map(|t| t.pos).collect::<Vec<_>>(),
            vec![0, 5, 7, 8]
        );
    }
}
