//! Operator semantics and the three-valued NULL rules.

use std::collections::HashMap;

use ferromq_filter::compile;

/// The three-valued result of `expr`: `matches` tells TRUE apart, and `NOT (expr)` tells FALSE
/// from unknown (NOT keeps unknown unknown).
fn truth(expr: &str, props: &[(&str, &str)]) -> Option<bool> {
    let lookup = |name: &str| props.iter().find(|(k, _)| *k == name).map(|&(_, v)| v);
    let yes = compile(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches(&lookup);
    let no = compile(&format!("NOT ({expr})")).unwrap().matches(&lookup);
    assert!(!(yes && no), "{expr} is both true and false");
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const U: Option<bool> = None;

#[test]
fn numeric_comparisons() {
    let p = [("a", "5"), ("f", "2.5"), ("neg", "-3"), ("big", "1e3")];
    for (expr, want) in [
        ("a = 5", T),
        ("a <> 5", F),
        ("a > 4", T),
        ("a > 5", F),
        ("a >= 5", T),
        ("a < 6", T),
        ("a <= 4", F),
        ("a = 5.0", T),
        ("a < 5.5", T),
        ("f > 2", T),
        ("f = 2.5", T),
        ("f <= 2.4", F),
        ("neg < 0", T),
        ("neg = -3", T),
        ("big = 1000", T),
        ("big > 999.5", T),
        ("5 = a", T),
        ("6 > a", T),
        ("a > f", T),
        ("1 < 2", T),
        ("1 = 1.0", T),
        ("-1 > -2", T),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn non_numeric_values_make_numeric_tests_unknown() {
    let p = [("s", "abc"), ("sp", " 5"), ("inf", "inf"), ("e", "")];
    for expr in [
        "s > 1",
        "s = 1",
        "s <> 1",
        "sp = 5",
        "inf > 1",
        "e < 1",
        "s BETWEEN 1 AND 2",
        "s NOT BETWEEN 1 AND 2",
    ] {
        assert_eq!(truth(expr, &p), U, "{expr}");
    }
}

#[test]
fn large_integers_compare_exactly() {
    let p = [("n", "9223372036854775807"), ("m", "9223372036854775806")];
    assert_eq!(truth("n > 9223372036854775806", &p), T);
    assert_eq!(truth("n = 9223372036854775807", &p), T);
    assert_eq!(truth("n > m", &p), T);
}

#[test]
fn string_equality() {
    let p = [("s", "abc"), ("n", "05"), ("q", "it's"), ("t", "abc")];
    for (expr, want) in [
        ("s = 'abc'", T),
        ("s = 'ABC'", F),
        ("s <> 'abd'", T),
        ("'abc' = s", T),
        ("n = '05'", T),
        ("n = '5'", F),
        ("n = 5", T),
        ("q = 'it''s'", T),
        ("s = t", T),
        ("'5' = 5", T),
        ("'x' = 5", U),
        ("'a' = 'a'", T),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn booleans() {
    let p = [("t", "true"), ("f", "FALSE"), ("x", "yes"), ("one", "1")];
    for (expr, want) in [
        ("t = TRUE", T),
        ("t = FALSE", F),
        ("f = false", T),
        ("f <> TRUE", T),
        ("x = TRUE", U),
        ("one = TRUE", U),
        ("TRUE = t", T),
        ("TRUE = FALSE", F),
        ("TRUE = 1", U),
        ("t", T),
        ("f", F),
        ("x", U),
        ("missing", U),
        ("NOT t", F),
        ("TRUE", T),
        ("FALSE", F),
        ("NULL", U),
        ("NOT NULL", U),
        ("t AND f", F),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn between() {
    let p = [("a", "5"), ("f", "1.5")];
    for (expr, want) in [
        ("a BETWEEN 1 AND 10", T),
        ("a BETWEEN 5 AND 5", T),
        ("a BETWEEN 6 AND 10", F),
        ("a BETWEEN 1 AND 4.9", F),
        ("a NOT BETWEEN 1 AND 10", F),
        ("a NOT BETWEEN 6 AND 10", T),
        ("f BETWEEN 1 AND 2", T),
        ("a between -1 and 5.0", T),
        ("a BETWEEN 10 AND 1", F),
        ("a BETWEEN f AND 6", T),
        ("missing BETWEEN 1 AND 2", U),
        ("missing NOT BETWEEN 1 AND 2", U),
        // One bound unknown: decided by the other bound when that one already fails.
        ("a BETWEEN missing AND 4", F),
        ("a BETWEEN 6 AND missing", F),
        ("a BETWEEN missing AND 6", U),
        ("a BETWEEN 1 AND AND_x", U),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn in_lists() {
    let p = [("TAGS", "x"), ("e", "")];
    for (expr, want) in [
        ("TAGS IN ('x', 'y')", T),
        ("TAGS IN ('y', 'x', 'x')", T),
        ("TAGS IN ('X')", F),
        ("TAGS NOT IN ('y', 'z')", T),
        ("TAGS NOT IN ('x')", F),
        ("e IN ('')", T),
        ("missing IN ('x')", U),
        ("missing NOT IN ('x')", U),
        ("'x' IN ('x')", T),
        ("NULL IN ('x')", U),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
    let list: Vec<String> = (0..1000).map(|i| format!("'v{i}'")).collect();
    let expr = format!("k IN ({})", list.join(","));
    for i in [0, 1, 500, 999] {
        assert_eq!(truth(&expr, &[("k", &format!("v{i}"))]), T);
    }
    assert_eq!(truth(&expr, &[("k", "v1000")]), F);
}

#[test]
fn is_null() {
    let p = [("a", "1"), ("e", "")];
    for (expr, want) in [
        ("a IS NULL", F),
        ("a IS NOT NULL", T),
        ("e IS NULL", F),
        ("missing IS NULL", T),
        ("missing is not null", F),
        ("NOT missing IS NULL", F),
        ("NULL IS NULL", T),
        ("'x' IS NULL", F),
        ("5 IS NOT NULL", T),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn string_tests() {
    let p = [("s", "hello world"), ("e", "")];
    for (expr, want) in [
        ("s CONTAINS 'lo w'", T),
        ("s CONTAINS 'xyz'", F),
        ("s CONTAINS ''", T),
        ("s NOT CONTAINS 'xyz'", T),
        ("s STARTSWITH 'hello'", T),
        ("s STARTSWITH 'world'", F),
        ("s NOT STARTSWITH 'world'", T),
        ("s ENDSWITH 'world'", T),
        ("s ENDSWITH 'World'", F),
        ("s NOT ENDSWITH 'hello'", T),
        ("e STARTSWITH ''", T),
        ("missing CONTAINS 'a'", U),
        ("missing NOT CONTAINS 'a'", U),
        ("missing STARTSWITH 'a'", U),
        ("missing NOT ENDSWITH 'a'", U),
        ("'abc' contains 'b'", T),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn null_comparisons_are_unknown() {
    let p = [("a", "1")];
    for expr in [
        "missing = 1",
        "missing <> 1",
        "missing > 1",
        "missing = 'x'",
        "missing <> 'x'",
        "missing = TRUE",
        "a = NULL",
        "a <> NULL",
        "NULL = NULL",
        "a > NULL",
        "missing = other",
    ] {
        assert_eq!(truth(expr, &p), U, "{expr}");
    }
}

#[test]
fn three_valued_logic() {
    // u is unknown, t true, f false.
    let p = [("x", "1")];
    let (t, f, u) = ("x = 1", "x = 2", "missing = 1");
    for (l, r, and, or) in [
        (t, t, T, T),
        (t, f, F, T),
        (f, f, F, F),
        (t, u, U, T),
        (u, t, U, T),
        (f, u, F, U),
        (u, f, F, U),
        (u, u, U, U),
    ] {
        assert_eq!(truth(&format!("{l} AND {r}"), &p), and, "{l} AND {r}");
        assert_eq!(truth(&format!("{l} OR {r}"), &p), or, "{l} OR {r}");
    }
    assert_eq!(truth(&format!("NOT {u}"), &p), U);
    assert_eq!(truth(&format!("NOT NOT {u}"), &p), U);
    assert_eq!(truth(&format!("NOT NOT {t}"), &p), T);
    assert_eq!(truth(&format!("NOT NOT NOT {t}"), &p), F);
    assert_eq!(truth(&format!("{u} AND {u} OR {t}"), &p), T);
}

#[test]
fn precedence_and_grouping() {
    let p = [("a", "1"), ("b", "2"), ("c", "3")];
    for (expr, want) in [
        // AND binds tighter than OR.
        ("a = 1 OR b = 0 AND c = 0", T),
        ("(a = 1 OR b = 0) AND c = 0", F),
        // NOT binds tighter than AND, looser than comparison.
        ("NOT a = 2 AND b = 2", T),
        ("NOT (a = 1 AND b = 2)", F),
        ("NOT a = 1 OR b = 2", T),
        ("((((a = 1))))", T),
        // BETWEEN's AND is its own; the next AND is logical.
        ("a BETWEEN 0 AND 1 AND b = 2", T),
        ("a BETWEEN 0 AND 1 AND b = 3", F),
        ("NOT a BETWEEN 2 AND 3 OR c = 0", T),
        ("a = 1 AND NOT b IN ('2') OR c IS NULL", F),
        ("a = 1 AND (b = 2 AND (c = 3 OR c = 4))", T),
        ("a=1 AND(b=2)OR(c<>3)", T),
        ("A = 1", U),
    ] {
        assert_eq!(truth(expr, &p), want, "{expr}");
    }
}

#[test]
fn keywords_ignore_case_and_names_do_not() {
    let p = [("Tags", "q"), ("TAGS", "x")];
    assert_eq!(truth("TAGS in ('x') aNd Tags = 'q' oR FALSE", &p), T);
    assert_eq!(truth("tags IS null", &p), T);
}

#[test]
fn map_and_dyn_lookups_agree() {
    let f = compile("a > 5 AND TAGS IN ('x','y') AND b IS NULL").unwrap();
    let mut map = HashMap::new();
    map.insert("a".to_owned(), "6".to_owned());
    map.insert("TAGS".to_owned(), "y".to_owned());
    assert!(f.matches_map(&map));
    assert!(f.matches(&|name| map.get(name).map(String::as_str)));
    assert!(f.matches_encoded("a\u{1}6\u{2}TAGS\u{1}y\u{2}"));
    map.insert("b".to_owned(), "1".to_owned());
    assert!(!f.matches_map(&map));
    let clone = f.clone();
    assert!(!clone.matches_map(&map));
    std::thread::spawn(move || {
        assert!(clone.matches(&|n| (n == "a").then_some("9").or((n == "TAGS").then_some("x"))))
    })
    .join()
    .unwrap();
}
