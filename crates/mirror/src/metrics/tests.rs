use super::*;

/// One parsed sample line: metric name, labels (unescaped), value.
#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// A strict parser for sample lines of the text format 0.0.4 (no timestamps).
fn parse_line(line: &str) -> Result<Sample, String> {
    let is_name_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_name = |c: char| is_name_start(c) || c.is_ascii_digit();
    if !line.starts_with(is_name_start) {
        return Err(format!("bad metric name start: {line:?}"));
    }
    let name_end = line.find(|c: char| !is_name(c)).unwrap_or(line.len());
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=').ok_or("label without =")?;
            let lname = &rest[..eq];
            if lname.is_empty() || !lname.chars().all(is_name) {
                return Err(format!("bad label name {lname:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("label value not quoted")?;
            let mut value = String::new();
            let mut it = rest.char_indices();
            let end = loop {
                match it.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match it.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some((_, '\n')) => return Err("raw newline in label".into()),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            labels.push((lname.to_string(), value));
            rest = &rest[end + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            }
        }
    }
    let v = rest.strip_prefix(' ').ok_or("no space before value")?;
    let value = match v {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|e| format!("bad value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// Parses the whole exposition: every sample belongs to a family declared by a preceding
/// `# TYPE` line (histogram samples by their `_bucket`, `_sum` and `_count` suffixes). Returns
/// the families' types by name and the samples.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("# ") {
            let mut parts = c.splitn(3, ' ');
            let (kw, name, rest) = (parts.next(), parts.next(), parts.next());
            match (kw, name, rest) {
                (Some("HELP"), Some(_), Some(_)) => {}
                (Some("TYPE"), Some(name), Some(t)) => {
                    assert!(
                        ["counter", "gauge", "histogram"].contains(&t),
                        "type {t} of {name}"
                    );
                    assert!(types.insert(name.into(), t.into()).is_none(), "dup {name}");
                }
                _ => panic!("bad comment line {line:?}"),
            }
            continue;
        }
        let s = parse_line(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suf| {
                s.name
                    .strip_suffix(suf)
                    .filter(|base| types.get(*base).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(&s.name);
        assert!(types.contains_key(family), "no TYPE for {}", s.name);
        samples.push(s);
    }
    (types, samples)
}

fn find(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && s.labels
                    .iter()
                    .zip(labels)
                    .all(|((k, v), (k2, v2))| k == k2 && v == v2)
        })
        .map(|s| s.value)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(samples, name, labels).unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

const LAG: &str = "ferromq_mirror_offset_sync_lag_seconds";

#[test]
fn metrics_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Metrics>();
}

#[test]
fn counters_and_gauges_in_snapshot() {
    let m = Metrics::new();
    m.add_messages(10, 1000);
    m.add_messages(5, 500);
    m.set_message_lag("a", 7);
    m.set_message_lag("a", 3);
    m.set_message_lag("b", -1);
    m.add_offsets_applied(4);
    m.add_error("send");
    m.add_error("send");
    m.add_error("pull");
    m.set_held(2);
    let s = m.snapshot();
    assert_eq!(s.messages_total, 15);
    assert_eq!(s.bytes_total, 1500);
    assert_eq!(
        s.message_lag,
        BTreeMap::from([("a".into(), 3), ("b".into(), -1)])
    );
    assert_eq!(s.offsets_applied_total, 4);
    assert_eq!(
        s.errors,
        BTreeMap::from([("pull".into(), 1), ("send".into(), 2)])
    );
    assert_eq!(s.offsets_held, 2);
    assert_eq!(s.offset_sync_lag, LagSummary::default());
    assert_eq!((s.messages_per_sec, s.bytes_per_sec), (0.0, 0.0));
    m.remove_message_lag("b");
    m.remove_message_lag("never-there");
    assert_eq!(m.snapshot().message_lag.len(), 1);
    // status.json round trip.
    let json = serde_json::to_string(&m.snapshot()).unwrap();
    let back: MetricsSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m.snapshot());
}

#[test]
fn rates_cover_the_last_ten_seconds() {
    let m = Metrics::new();
    let t0 = Instant::now();
    m.tick_at(t0);
    assert_eq!(m.snapshot().messages_per_sec, 0.0, "one sample is no rate");
    // 100 msgs/s, 1000 bytes/s for 20 s.
    for i in 1..=20 {
        m.add_messages(100, 1000);
        m.tick_at(t0 + Duration::from_secs(i));
    }
    let s = m.snapshot();
    assert!((s.messages_per_sec - 100.0).abs() < 1e-9, "{s:?}");
    assert!((s.bytes_per_sec - 1000.0).abs() < 1e-9, "{s:?}");
    assert!(m.rate_samples.lock().len() <= 12);
    // Then it stops: the rate falls to zero once the window has passed.
    for i in 21..=25 {
        m.tick_at(t0 + Duration::from_secs(i));
    }
    assert!((m.snapshot().messages_per_sec - 50.0).abs() < 1e-9);
    for i in 26..=31 {
        m.tick_at(t0 + Duration::from_secs(i));
    }
    assert_eq!(m.snapshot().messages_per_sec, 0.0);
}

#[test]
fn offset_sync_lag_quantiles_slide() {
    let m = Metrics::new();
    let t0 = Instant::now();
    for ms in 1..=100u64 {
        m.record_offset_sync_lag_at(Duration::from_millis(ms), t0);
    }
    let s = m.snapshot().offset_sync_lag;
    assert_eq!(s.samples, 100);
    assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
    assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
    assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
    // 40 s later the old samples are in the previous half and still count.
    m.record_offset_sync_lag_at(Duration::from_secs(2), t0 + Duration::from_secs(40));
    assert_eq!(m.snapshot().offset_sync_lag.samples, 101);
    // 40 s after that they have slid out.
    m.tick_at(t0 + Duration::from_secs(80));
    let s = m.snapshot().offset_sync_lag;
    assert_eq!(s.samples, 1);
    assert!((s.max_ms - 2000.0).abs() < 2.0, "{s:?}");
    // Much later, everything is gone; cumulative counts remain.
    m.tick_at(t0 + Duration::from_secs(300));
    let s = m.snapshot();
    assert_eq!(s.offset_sync_lag, LagSummary::default());
    assert_eq!(s.offset_sync_count, 101);
    // Absurd lags saturate instead of failing.
    m.record_offset_sync_lag(Duration::from_secs(1 << 40));
    assert_eq!(m.snapshot().offset_sync_lag.samples, 1);
    // Prometheus's histogram is cumulative since start and puts that one above every bound.
    let (_, samples) = parse(&m.render_prometheus());
    assert_eq!(value(&samples, &format!("{LAG}_count"), &[]), 102.0);
    let top = value(&samples, &format!("{LAG}_bucket"), &[("le", "3600")]);
    assert_eq!(top, 101.0);
    assert_eq!(
        value(&samples, &format!("{LAG}_bucket"), &[("le", "+Inf")]),
        102.0
    );
}

#[test]
fn exported_families_and_types() {
    let m = Metrics::new();
    m.set_message_lag("t", 1);
    m.add_error("send");
    let (types, _) = parse(&m.render_prometheus());
    let types: Vec<(&str, &str)> = types
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("ferromq_mirror_bytes_total", "counter"),
            ("ferromq_mirror_errors_total", "counter"),
            ("ferromq_mirror_message_lag", "gauge"),
            ("ferromq_mirror_messages_total", "counter"),
            ("ferromq_mirror_offset_sync_lag_seconds", "histogram"),
            ("ferromq_mirror_offsets_applied_total", "counter"),
            ("ferromq_mirror_offsets_held", "gauge"),
        ]
    );
}

#[test]
fn prometheus_text_parses_and_has_the_values() {
    let m = Metrics::new();
    let (types, empty) = parse(&m.render_prometheus());
    assert_eq!(value(&empty, &format!("{LAG}_count"), &[]), 0.0);
    assert_eq!(value(&empty, &format!("{LAG}_sum"), &[]), 0.0);
    assert_eq!(value(&empty, "ferromq_mirror_messages_total", &[]), 0.0);
    // Families without samples yet are left out.
    assert!(!types.contains_key("ferromq_mirror_errors_total"));
    assert!(!types.contains_key("ferromq_mirror_message_lag"));

    let t0 = Instant::now();
    m.tick_at(t0);
    m.add_messages(50, 5000);
    m.tick_at(t0 + Duration::from_secs(5));
    m.set_message_lag("orders", 42);
    let nasty = "we\"ird\\topic\nname";
    m.set_message_lag(nasty, 7);
    m.set_message_lag("gone", 1);
    m.remove_message_lag("gone");
    m.record_offset_sync_lag(Duration::from_millis(250));
    m.record_offset_sync_lag(Duration::from_millis(750));
    m.add_offsets_applied(9);
    m.add_error("send");
    m.add_error("bad \"kind\"");
    m.set_held(3);

    let text = m.render_prometheus();
    let (_, samples) = parse(&text);
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(v("ferromq_mirror_messages_total", &[]), 50.0);
    assert_eq!(v("ferromq_mirror_bytes_total", &[]), 5000.0);
    // Rates are for Prometheus to compute; the snapshot has them for people.
    assert!(!text.contains("per_second"), "{text}");
    assert_eq!(m.snapshot().messages_per_sec, 10.0);
    assert_eq!(m.snapshot().bytes_per_sec, 1000.0);
    assert_eq!(
        v("ferromq_mirror_message_lag", &[("topic", "orders")]),
        42.0
    );
    assert_eq!(v("ferromq_mirror_message_lag", &[("topic", nasty)]), 7.0);
    assert_eq!(
        find(&samples, "ferromq_mirror_message_lag", &[("topic", "gone")]),
        None
    );
    let bucket = |le: &str| v(&format!("{LAG}_bucket"), &[("le", le)]);
    assert_eq!(bucket("0.1"), 0.0);
    assert_eq!(bucket("0.25"), 1.0, "bounds are inclusive");
    assert_eq!(bucket("0.5"), 1.0);
    assert_eq!(bucket("1"), 2.0);
    assert_eq!(bucket("+Inf"), 2.0);
    assert_eq!(v(&format!("{LAG}_count"), &[]), 2.0);
    assert!((v(&format!("{LAG}_sum"), &[]) - 1.0).abs() < 1e-9);
    assert_eq!(v("ferromq_mirror_offsets_applied_total", &[]), 9.0);
    assert_eq!(v("ferromq_mirror_errors_total", &[("kind", "send")]), 1.0);
    assert_eq!(
        v("ferromq_mirror_errors_total", &[("kind", "bad \"kind\"")]),
        1.0
    );
    assert_eq!(v("ferromq_mirror_offsets_held", &[]), 3.0);
    assert!(text.contains(&format!("# TYPE {LAG} histogram\n")));
    assert!(text.contains("# TYPE ferromq_mirror_messages_total counter\n"));
    assert!(text.contains("# TYPE ferromq_mirror_offsets_held gauge\n"));
    assert!(text.contains(r#"{topic="we\"ird\\topic\nname"}"#), "{text}");
}

#[test]
fn concurrent_updates_are_counted() {
    let m = std::sync::Arc::new(Metrics::new());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    m.add_messages(1, 10);
                    m.add_error("x");
                    m.set_message_lag(&format!("t{i}"), 1);
                    m.record_offset_sync_lag(Duration::from_millis(1));
                    let _ = m.render_prometheus();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = m.snapshot();
    assert_eq!(s.messages_total, 8000);
    assert_eq!(s.bytes_total, 80_000);
    assert_eq!(s.errors["x"], 8000);
    assert_eq!(s.message_lag.len(), 8);
    assert_eq!(s.offset_sync_count, 8000);
    let (_, samples) = parse(&m.render_prometheus());
    assert_eq!(
        value(&samples, "ferromq_mirror_errors_total", &[("kind", "x")]),
        8000.0
    );
    assert_eq!(value(&samples, &format!("{LAG}_count"), &[]), 8000.0);
}
