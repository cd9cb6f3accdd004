//! The fastjson normaliser (`json::normalize`) and `json::from_slice::<Value>`.
//!
//! Besides never panicking, normalising must cost time and memory linear in the input: the
//! output may be at most `4 × input + 64` bytes (quoting bare keys and re-escaping one level of
//! object keys stays well inside that). Anything larger is reported as a crash: a small hostile
//! body would otherwise make the broker allocate without bound.
#![no_main]

use ferromq_protocol::json;
use libfuzzer_sys::fuzz_target;

/// The most normalised bytes accepted per input byte, plus [`SLACK`].
pub const FACTOR: usize = 4;
pub const SLACK: usize = 64;

/// One rung per threshold (output/input ratio in quarters): a separate branch each, so
/// libFuzzer counts every rung reached as new coverage.
macro_rules! ladder {
    ($input:expr, $output:expr; $($quarters:literal),+) => {
        $(
            if $output * 4 >= $quarters * ($input + 1) {
                std::hint::black_box($quarters);
            }
        )+
    };
}

/// Guidance towards blow-ups. Normalising a bigger blow-up covers no new code, so without help
/// libFuzzer has no reason to keep the inputs on the way to one. Here each quarter step of the
/// output/input ratio up to the limit is a separate branch, and the bytes added drive a loop
/// whose hit count libFuzzer buckets (1, 2, 3, 4-7, ..., 128+): both make progress visible.
#[inline(never)]
fn guide(input: usize, output: usize) {
    ladder!(input, output; 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24);
    for i in 0..output.saturating_sub(input).min(1024) {
        std::hint::black_box(i);
    }
}

/// Structure-aware mode: a first byte 0x01..=0x08 (which no JSON text starts with) wraps the
/// rest that many times as an object key, `{<rest>:0}`: the fastjson shape of a map keyed by an
/// object (`{{"brokerName":..}:100}`), and object keys inside object keys when nested, which
/// byte mutations alone rarely build.
fn shaped(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match data.split_first() {
        Some((&levels @ 1..=8, rest)) => {
            let mut text = rest.to_vec();
            for _ in 0..levels {
                text.insert(0, b'{');
                text.extend_from_slice(b":0}");
            }
            text.into()
        }
        _ => data.into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let data: &[u8] = &shaped(data);
    if let Ok(out) = json::normalize(data) {
        guide(data.len(), out.len());
        assert!(
            out.len() <= FACTOR * data.len() + SLACK,
            "normalize is not linear: {} input bytes became {} output bytes",
            data.len(),
            out.len()
        );
        let _ = serde_json::from_str::<serde_json::Value>(&out);
    }
    if let Ok(v) = json::from_slice::<serde_json::Value>(data) {
        // Object keys written by normalize are parsed again by readers of MessageQueue maps.
        if let Some(obj) = v.as_object() {
            for (k, inner) in obj {
                let _ = json::parse_object_key::<serde_json::Value>(k);
                let _ = ferromq_protocol::body::read_mq_map(inner);
            }
        }
    }
});
