//! Parsing of the times, durations and timeouts operators type.

use std::time::Duration;

pub use ferromq_protocol::time::now_ms;
use ferromq_protocol::time::{civil_from_days, days_from_civil};

/// `2025-11-24T10:00:00Z` style rendering (UTC, milliseconds when not zero).
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

fn num(s: &str, what: &str) -> Result<i64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} '{s}'"));
    }
    s.parse().map_err(|_| format!("bad {what} '{s}'"))
}

fn hms_to_ms(h: i64, mi: i64, s: i64, ms: i64) -> Result<i64, String> {
    if h > 23 || mi > 59 || s > 60 || ms > 999 {
        return Err("time of day out of range".into());
    }
    Ok(((h * 60 + mi) * 60 + s) * 1000 + ms)
}

fn date_to_days(y: &str, m: &str, d: &str) -> Result<i64, String> {
    let (y, m, d) = (num(y, "year")?, num(m, "month")?, num(d, "day")?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err("date out of range".into());
    }
    Ok(days_from_civil(y, m, d))
}

/// A point in time: ISO 8601 (`2025-11-24T10:00:00Z`, `2025-11-24T10:00:00.250+01:00`,
/// `2025-11-24`; no offset means UTC), epoch milliseconds (`1764000000000`), upstream's
/// `yyyy-MM-dd#HH:mm:ss:SSS` (read as UTC), or `now`.
///
/// # Errors
/// A one-line description of what does not parse.
pub fn parse_time(input: &str) -> Result<i64, String> {
    let s = input.trim();
    let fail = |why: String| {
        format!(
            "cannot parse time '{input}' ({why}); expected ISO 8601 (2025-11-24T10:00:00Z), \
             epoch milliseconds, yyyy-MM-dd#HH:mm:ss:SSS or now"
        )
    };
    if s.eq_ignore_ascii_case("now") {
        return Ok(now_ms());
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| fail("number too large".into()));
    }
    // Upstream: yyyy-MM-dd#HH:mm:ss:SSS
    if let Some((date, tod)) = s.split_once('#') {
        let dp: Vec<&str> = date.split('-').collect();
        let tp: Vec<&str> = tod.split(':').collect();
        if dp.len() != 3 || tp.len() != 4 {
            return Err(fail("upstream format is yyyy-MM-dd#HH:mm:ss:SSS".into()));
        }
        let days = date_to_days(dp[0], dp[1], dp[2]).map_err(fail)?;
        let n = |x: &str, w: &str| num(x, w).map_err(fail);
        let t = hms_to_ms(
            n(tp[0], "hour")?,
            n(tp[1], "minute")?,
            n(tp[2], "second")?,
            n(tp[3], "millisecond")?,
        )
        .map_err(fail)?;
        return Ok(days * 86_400_000 + t);
    }
    // ISO 8601
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let dp: Vec<&str> = date.split('-').collect();
    if dp.len() != 3 {
        return Err(fail("expected a date yyyy-MM-dd".into()));
    }
    let days = date_to_days(dp[0], dp[1], dp[2]).map_err(fail)?;
    if rest.is_empty() {
        return Ok(days * 86_400_000);
    }
    let (tod, offset_ms) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = &off[1..];
        let (oh, om) = match off.split_once(':') {
            Some((h, m)) => (h, m),
            None if off.len() == 4 => off.split_at(2),
            None => (off, "0"),
        };
        let o = (num(oh, "offset hours").map_err(fail)? * 60
            + num(om, "offset minutes").map_err(fail)?)
            * 60_000;
        (t, sign * o)
    } else {
        (rest, 0)
    };
    let (hms, frac) = match tod.split_once(['.', ',']) {
        Some((a, b)) => (a, b),
        None => (tod, ""),
    };
    let tp: Vec<&str> = hms.split(':').collect();
    if tp.len() < 2 || tp.len() > 3 {
        return Err(fail("expected a time HH:mm[:ss[.SSS]]".into()));
    }
    let n = |x: &str, w: &str| num(x, w).map_err(fail);
    let sec = if tp.len() == 3 {
        n(tp[2], "second")?
    } else {
        0
    };
    let ms = if frac.is_empty() {
        0
    } else {
        let f: String = frac.chars().chain("000".chars()).take(3).collect();
        n(&f, "fraction")?
    };
    let t = hms_to_ms(n(tp[0], "hour")?, n(tp[1], "minute")?, sec, ms).map_err(fail)?;
    Ok(days * 86_400_000 + t - offset_ms)
}

/// An ISO 8601 duration (`PT1H`, `P1D`, `PT90M`, `P1DT2H30M`, `PT0.5S`), in milliseconds.
/// Years and months are refused (their length varies).
///
/// # Errors
/// A one-line description of what does not parse.
pub fn parse_iso_duration(input: &str) -> Result<i64, String> {
    let fail = || {
        format!(
            "cannot parse duration '{input}'; expected ISO 8601 such as PT1H, PT30M, P1D, P1DT12H"
        )
    };
    let s = input.trim().to_ascii_uppercase();
    let body = s.strip_prefix('P').ok_or_else(fail)?;
    if body.is_empty() {
        return Err(fail());
    }
    let mut total: f64 = 0.0;
    let mut in_time = false;
    let mut cur = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' if !in_time && cur.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => cur.push(if c == ',' { '.' } else { c }),
            _ => {
                let v: f64 = cur.parse().map_err(|_| fail())?;
                cur.clear();
                let unit_ms = match (c, in_time) {
                    ('W', false) => 7.0 * 86_400_000.0,
                    ('D', false) => 86_400_000.0,
                    ('H', true) => 3_600_000.0,
                    ('M', true) => 60_000.0,
                    ('S', true) => 1000.0,
                    _ => return Err(fail()),
                };
                total += v * unit_ms;
                any = true;
            }
        }
    }
    if !cur.is_empty() || !any {
        return Err(fail());
    }
    Ok(total.round() as i64)
}

/// `5s`, `500ms`, `2m` or a number of seconds.
///
/// # Errors
/// A one-line description of what does not parse.
pub fn parse_timeout(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let fail = || format!("cannot parse timeout '{input}'; expected e.g. 5s, 500ms, 1m");
    let (n, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        (s, 1000)
    };
    let v: u64 = n.trim().parse().map_err(|_| fail())?;
    if v == 0 {
        return Err(fail());
    }
    Ok(Duration::from_millis(v * mult))
}

/// `1h 2m`, `350ms`-style rendering of a lag.
pub fn format_age(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1764000000000").unwrap(), 1_764_000_000_000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_time("1970-01-01T00:00:00.250Z").unwrap(), 250);
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01#00:00:02:005").unwrap(), 2005);
        assert_eq!(
            parse_time("2025-11-24T16:00:00Z").unwrap(),
            parse_time("2025-11-24#16:00:00:000").unwrap()
        );
        assert_eq!(
            format_ms(parse_time("2025-11-24T16:00:00.5Z").unwrap()),
            "2025-11-24T16:00:00.500Z"
        );
        for bad in [
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-11-24T25:00",
            "2025-11-24#1:2:3",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_iso_duration("PT1H").unwrap(), 3_600_000);
        assert_eq!(parse_iso_duration("P1D").unwrap(), 86_400_000);
        assert_eq!(parse_iso_duration("P1DT1M").unwrap(), 86_460_000);
        assert_eq!(parse_iso_duration("PT0.5S").unwrap(), 500);
        for bad in ["1h", "P", "PT", "P1M", "PT1X", "P1H"] {
            assert!(parse_iso_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_timeout("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_timeout("5").unwrap(), Duration::from_secs(5));
    }
}
