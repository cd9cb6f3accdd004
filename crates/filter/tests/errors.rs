//! Compile errors: message, byte position and kind; size and depth limits.

use ferromq_filter::{compile, ErrorKind, FilterError, MAX_DEPTH, MAX_EXPRESSION_LEN};

fn err(expr: &str) -> FilterError {
    match compile(expr) {
        Ok(f) => panic!("{expr:?} compiled to {f:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's kind, position and a fragment of its message, and that its display is
/// one line ending in the position.
fn check(expr: &str, kind: ErrorKind, position: usize, fragment: &str) {
    let e = err(expr);
    let text = e.to_string();
    assert_eq!(e.kind(), kind, "{expr:?}: {text}");
    assert_eq!(e.position(), position, "{expr:?}: {text}");
    assert!(e.message().contains(fragment), "{expr:?}: {text}");
    assert!(text.ends_with(&format!(" at byte {position}")), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn empty_input() {
    check("", ErrorKind::Empty, 0, "empty expression");
    check("  \t\n ", ErrorKind::Empty, 0, "empty expression");
    assert_eq!(err("").to_string(), "empty expression at byte 0");
}

#[test]
fn unbalanced_parentheses() {
    check("(a = 1", ErrorKind::Syntax, 0, "unclosed '('");
    check("a = 1 AND ((b = 2)", ErrorKind::Syntax, 10, "unclosed '('");
    check("a = 1)", ErrorKind::Syntax, 5, "')' without a matching '('");
    check(
        "(a = 1))",
        ErrorKind::Syntax,
        7,
        "')' without a matching '('",
    );
    check("()", ErrorKind::Syntax, 1, "found ')'");
    check(
        "(a = 1 b = 2)",
        ErrorKind::Syntax,
        7,
        "expected ')', AND or OR",
    );
}

#[test]
fn unterminated_string() {
    check("a = 'abc", ErrorKind::Lexical, 4, "unterminated string");
    check("a = 'it''s", ErrorKind::Lexical, 4, "unterminated string");
    check(
        "a IN ('x', 'y)",
        ErrorKind::Lexical,
        11,
        "unterminated string",
    );
}

#[test]
fn trailing_tokens() {
    check(
        "a = 1 b",
        ErrorKind::Syntax,
        6,
        "expected AND, OR or end of input",
    );
    check("a = 1 2", ErrorKind::Syntax, 6, "found number 2");
    check("a = 1 = 2", ErrorKind::Syntax, 6, "found '='");
    check("a b", ErrorKind::Syntax, 2, "found property b");
    check("TRUE FALSE", ErrorKind::Syntax, 5, "found FALSE");
}

#[test]
fn missing_operands() {
    check(
        "a >",
        ErrorKind::Syntax,
        3,
        "a property or literal after '>'",
    );
    check("a > ", ErrorKind::Syntax, 4, "found end of input");
    check("a = AND b = 1", ErrorKind::Syntax, 4, "found AND");
    check("a = 1 AND", ErrorKind::Syntax, 9, "found end of input");
    check("a = 1 OR OR", ErrorKind::Syntax, 9, "found OR");
    check("NOT", ErrorKind::Syntax, 3, "found end of input");
    check("= 1", ErrorKind::Syntax, 0, "found '='");
    check("a BETWEEN 1", ErrorKind::Syntax, 11, "AND in BETWEEN");
    check("a BETWEEN 1 OR 2", ErrorKind::Syntax, 12, "AND in BETWEEN");
    check(
        "a BETWEEN 1 AND",
        ErrorKind::Syntax,
        15,
        "a number after BETWEEN",
    );
    check("a IS", ErrorKind::Syntax, 4, "NULL or NOT NULL after IS");
    check("a IS NOT 5", ErrorKind::Syntax, 9, "NULL or NOT NULL");
    check("a NOT = 5", ErrorKind::Syntax, 6, "after NOT");
    check(
        "a CONTAINS b",
        ErrorKind::Syntax,
        11,
        "a string literal after CONTAINS",
    );
    check(
        "a STARTSWITH",
        ErrorKind::Syntax,
        12,
        "a string literal after STARTSWITH",
    );
}

#[test]
fn in_lists() {
    check("a IN ()", ErrorKind::Syntax, 6, "IN list must not be empty");
    check("a IN 'x'", ErrorKind::Syntax, 5, "'(' after IN");
    check(
        "a IN ('x',)",
        ErrorKind::Syntax,
        10,
        "a string literal in the IN list",
    );
    check("a IN ('x' 'y')", ErrorKind::Syntax, 10, "',' or ')'");
    check("a IN ('x'", ErrorKind::Syntax, 9, "',' or ')'");
    check("a IN (1, 2)", ErrorKind::Type, 6, "only string literals");
    check("a IN (b)", ErrorKind::Syntax, 6, "found property b");
}

#[test]
fn type_errors() {
    check("'x'", ErrorKind::Type, 0, "expression must be boolean");
    check(
        "5",
        ErrorKind::Type,
        0,
        "expression must be boolean, found number 5",
    );
    check("a = 1 AND 2.5", ErrorKind::Type, 10, "must be boolean");
    check("NOT 'x'", ErrorKind::Type, 4, "must be boolean");
    check(
        "a > 'x'",
        ErrorKind::Type,
        4,
        "> compares numbers, found string 'x'",
    );
    check("'x' <= a", ErrorKind::Type, 0, "compares numbers");
    check("a < TRUE", ErrorKind::Type, 4, "found TRUE");
    check(
        "a BETWEEN 'a' AND 'z'",
        ErrorKind::Type,
        10,
        "BETWEEN compares numbers",
    );
    check(
        "a BETWEEN 1 AND 'z'",
        ErrorKind::Type,
        16,
        "BETWEEN compares numbers",
    );
    check(
        "5 IN ('5')",
        ErrorKind::Type,
        0,
        "IN needs a string operand",
    );
    check(
        "TRUE CONTAINS 'x'",
        ErrorKind::Type,
        0,
        "CONTAINS needs a string",
    );
}

#[test]
fn lexical_errors() {
    check("a = #", ErrorKind::Lexical, 4, "unexpected character '#'");
    check(
        "a = 1 && b = 2",
        ErrorKind::Lexical,
        6,
        "unexpected character '&'",
    );
    check("é = 1", ErrorKind::Lexical, 0, "unexpected character 'é'");
    check(
        "a = 'é' AND ü",
        ErrorKind::Lexical,
        13,
        "unexpected character 'ü'",
    );
    check("a = 12abc", ErrorKind::Lexical, 4, "invalid number '12abc'");
    check("a = 1.2.3", ErrorKind::Lexical, 4, "invalid number");
    check(
        "a = 99999999999999999999",
        ErrorKind::Lexical,
        4,
        "out of range",
    );
    check("a = 1e400", ErrorKind::Lexical, 4, "out of range");
    check("a = - 1", ErrorKind::Lexical, 4, "unexpected character '-'");
    check(
        "a = \u{0}",
        ErrorKind::Lexical,
        4,
        "unexpected character '\\u{0}'",
    );
}

#[test]
fn unsupported_syntax() {
    check("a != 1", ErrorKind::Unsupported, 2, "use '<>'");
    check(
        "a LIKE 'x%'",
        ErrorKind::Unsupported,
        2,
        "LIKE is not supported",
    );
    check(
        "a NOT LIKE 'x%'",
        ErrorKind::Unsupported,
        6,
        "LIKE is not supported",
    );
    check("(a) = 1", ErrorKind::Syntax, 4, "found '='");
}

#[test]
fn messages_stay_short_and_on_one_line() {
    let long = "x".repeat(10_000);
    let e = err(&format!("a = 1 {long}"));
    assert!(e.to_string().len() < 200, "{e}");
    let e = err("a = 1 'line\nbreak'");
    assert!(!e.to_string().contains('\n'), "{e}");
    assert!(e.to_string().contains("\\n"), "{e}");
}

#[test]
fn length_limit() {
    let padding = " ".repeat(MAX_EXPRESSION_LEN - 5);
    let at_limit = format!("a = 1{padding}");
    assert_eq!(at_limit.len(), MAX_EXPRESSION_LEN);
    assert!(compile(&at_limit).is_ok());
    let e = err(&format!("{at_limit} "));
    assert_eq!(e.kind(), ErrorKind::TooLong);
    assert!(e.to_string().contains("limit is 65536"), "{e}");
}

fn nested(depth: usize) -> String {
    format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn depth_limit() {
    assert!(compile(&nested(MAX_DEPTH)).unwrap().matches(&|_| Some("1")));
    let e = err(&nested(MAX_DEPTH + 1));
    assert_eq!(e.kind(), ErrorKind::TooDeep);
    assert_eq!(e.position(), MAX_DEPTH);
    assert!(e.message().contains("nested deeper than 256"), "{e}");
    // Unbalanced and hostile: as deep as the length limit allows, without a stack overflow.
    let e = err(&"(".repeat(MAX_EXPRESSION_LEN));
    assert_eq!(e.kind(), ErrorKind::TooDeep);
    let e = err(&"NOT (".repeat(MAX_EXPRESSION_LEN / 5));
    assert_eq!(e.kind(), ErrorKind::TooDeep);
}

#[test]
fn depth_limit_on_a_small_stack() {
    // The deepest accepted filter compiles, evaluates and drops within a 256 KiB stack.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let f = compile(&nested(MAX_DEPTH)).unwrap();
            assert!(f.matches(&|_| Some("1")));
            let mixed = format!(
                "{}a = 1{}",
                "(b = 1 OR NOT (".repeat(MAX_DEPTH / 2),
                "))".repeat(MAX_DEPTH / 2)
            );
            assert!(compile(&mixed).unwrap().matches(&|_| Some("1")));
            assert!(compile(&"(".repeat(MAX_EXPRESSION_LEN)).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn long_flat_expressions_are_fine() {
    // Length, not depth, bounds AND/OR chains and NOT runs.
    let chain = vec!["a = 1"; 5000].join(" AND ");
    assert!(compile(&chain).unwrap().matches(&|_| Some("1")));
    let nots = format!("{}a = 1", "NOT ".repeat(10_000));
    assert!(compile(&nots).unwrap().matches(&|_| Some("1")));
}
