//! Property tests: compiling and matching never panic, whatever the input.

use std::collections::HashMap;

use ferromq_filter::compile;
use proptest::prelude::*;

/// Tokens of the grammar, plus a few near misses, to build plausible expressions from.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "TAGS",
    "x.y",
    "$z",
    "_",
    "AND",
    "OR",
    "NOT",
    "and",
    "BETWEEN",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "LIKE",
    "(",
    ")",
    ",",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "!=",
    "'x'",
    "'y'",
    "''",
    "'it''s'",
    "'",
    "0",
    "1",
    "-1",
    "1.5",
    "-.5",
    "1e3",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1e999",
    ".",
    "-",
    " ",
    "é",
    "\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|parts| parts.join(" "))
}

/// Property values that exercise each conversion rule.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("true".to_owned()),
        Just("FALSE".to_owned()),
        Just("NaN".to_owned()),
        Just("1e999".to_owned()),
        (-10i64..10).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        "[xy'0-9.eE+-]{0,6}",
        any::<String>(),
    ]
}

fn properties() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(
        prop::sample::select(&["a", "b", "TAGS", "x.y", "$z", "_"][..]).prop_map(str::to_owned),
        value(),
        0..6,
    )
}

/// A property name, literal or NULL, as expression text.
fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["a", "b", "TAGS", "x.y", "missing", "NULL"][..])
            .prop_map(str::to_owned),
        (-10i64..10).prop_map(|n| n.to_string()),
        (-100i32..100).prop_map(|n| format!("{}", f64::from(n) / 8.0)),
        "[xy'0-9]{0,3}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["a", "b", "missing", "NULL"][..]).prop_map(str::to_owned),
        (-10i64..10).prop_map(|n| n.to_string()),
        Just("2.5".to_owned()),
    ]
}

/// Well-typed conditions: every one of them compiles.
fn condition() -> impl Strategy<Value = String> {
    let name = || prop::sample::select(&["a", "b", "TAGS", "x.y", "missing"][..]);
    let cmp = prop::sample::select(&["=", "<>"][..]);
    let ord = prop::sample::select(&["<", "<=", ">", ">="][..]);
    let not = || prop::sample::select(&["", "NOT "][..]);
    let text = prop::sample::select(&["CONTAINS", "STARTSWITH", "ENDSWITH"][..]);
    let leaf = prop_oneof![
        (operand(), cmp, operand()).prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        (number(), ord, number()).prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        (name(), not(), number(), number())
            .prop_map(|(v, n, l, h)| format!("{v} {n}BETWEEN {l} AND {h}")),
        (name(), not(), prop::collection::vec("[xy0-9]{0,2}", 1..4))
            .prop_map(|(v, n, l)| format!("{v} {n}IN ('{}')", l.join("', '"))),
        (name(), not()).prop_map(|(v, n)| format!("{v} IS {n}NULL")),
        (name(), not(), text, "[xy0-9]{0,2}").prop_map(|(v, n, t, s)| format!("{v} {n}{t} '{s}'")),
        name().prop_map(str::to_owned),
        prop::sample::select(&["TRUE", "FALSE", "NULL"][..]).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} AND {r}")),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} OR {r}")),
            inner.clone().prop_map(|c| format!("NOT {c}")),
            inner.prop_map(|c| format!("({c})")),
        ]
    })
}

/// Encoded RocketMQ properties, possibly malformed.
fn encoded() -> impl Strategy<Value = String> {
    "[abTAGS\u{1}\u{2}x0-9]{0,30}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn compile_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = compile(&s);
    }

    #[test]
    fn compile_never_panics_on_ascii_noise(s in "[ -~]{0,80}") {
        let _ = compile(&s);
    }

    #[test]
    fn errors_point_inside_the_input(s in token_soup()) {
        if let Err(e) = compile(&s) {
            prop_assert!(e.position() <= s.len(), "{} for {:?}", e, s);
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn matching_never_panics(s in token_soup(), props in properties(), enc in encoded()) {
        if let Ok(f) = compile(&s) {
            let direct = f.matches(&|name| props.get(name).map(String::as_str));
            prop_assert_eq!(direct, f.matches_map(&props));
            let _ = f.matches_encoded(&enc);
            // A filter and its negation never both match.
            if let Ok(not) = compile(&format!("NOT ({s})")) {
                prop_assert!(!(direct && not.matches_map(&props)), "{}", s);
            }
        }
    }

    #[test]
    fn well_typed_conditions_compile_and_match_consistently(
        expr in condition(),
        props in properties(),
    ) {
        let f = compile(&expr);
        prop_assert!(f.is_ok(), "{:?}: {:?}", expr, f);
        let f = f.unwrap();
        let yes = f.matches_map(&props);
        let not = compile(&format!("NOT ({expr})")).unwrap();
        prop_assert!(!(yes && not.matches_map(&props)), "{}", expr);
        let encodable = props.values().all(|v| !v.contains(['\u{1}', '\u{2}']));
        if encodable {
            let encoded: String = props.iter().map(|(k, v)| format!("{k}\u{1}{v}\u{2}")).collect();
            prop_assert_eq!(yes, f.matches_encoded(&encoded), "{}", encoded);
        }
    }

    #[test]
    fn numeric_comparison_agrees_with_rust(a in any::<i64>(), b in any::<i64>()) {
        let f = compile(&format!("p > {b}")).unwrap();
        prop_assert!(!f.matches(&|_| Some("")));
        let value = a.to_string();
        prop_assert_eq!(f.matches(&|_| Some(value.as_str())), a > b);
        let eq = compile(&format!("p = {b}")).unwrap();
        prop_assert_eq!(eq.matches(&|_| Some(value.as_str())), a == b);
    }

    #[test]
    fn string_literals_round_trip(s in any::<String>()) {
        let quoted = s.replace('\'', "''");
        let expr = format!("p = '{quoted}'");
        let f = compile(&expr);
        prop_assert!(f.is_ok(), "{:?}: {:?}", expr, f);
        prop_assert!(f.unwrap().matches(&|_| Some(s.as_str())));
    }
}
