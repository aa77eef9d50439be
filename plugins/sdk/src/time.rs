//! RFC 3339 instants to and from milliseconds since the Unix epoch, as
//! Graph and Exchange write them (UTC only: the guest has no time zone
//! database and needs none).

/// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d, clock) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{clock}Z")
}

/// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d, clock) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{clock}.{:03}Z", ms.rem_euclid(1000))
}

/// The date and `HH:MM:SS` of `secs` since the epoch.
fn civil(secs: i64) -> (i64, u32, u32, String) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let clock = format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    (y, m, d, clock)
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or a
/// `±HH:MM` offset (no offset: UTC) into ms since the epoch.
pub fn parse(value: &str) -> Option<i64> {
    let v = value.trim();
    let b = v.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(&v[0..4])?, num(&v[5..7])?, num(&v[8..10])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut ms = days_from_civil(y, mo as u32, d as u32) * 86_400_000;
    let rest = &v[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // Split the offset off: Z, or the last + / - (dates have no more dashes here).
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':').unwrap_or((&off[1..], "00"));
        let (h, m) = (num(h)?, num(m)?);
        if h > 23 || m > 59 {
            return None;
        }
        (c, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let h = num(parts[0])?;
    let mi = num(parts[1])?;
    let s = if parts.len() == 3 { num(parts[2])? } else { 0 };
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    if !frac.is_empty() && !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac_ms = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'));
    ms += ((h * 60 + mi) * 60 + s) * 1000 + frac_ms;
    Some(ms - offset_min * 60_000)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        for (text, ms) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01", Some(0)),
            ("2000-02-29T00:00:00.123Z", Some(951_782_400_123)),
            ("2026-11-25T02:00:00+02:00", Some(1_795_564_800_000)),
            ("2026-11-24T22:00:00-02:00", Some(1_795_564_800_000)),
            ("2026-11-25T00:00Z", Some(1_795_564_800_000)),
            ("2026-02-29T00:00:00Z", None),
            ("2026-13-01T00:00:00Z", None),
            ("2026-01-01T25:00:00Z", None),
            ("yesterday", None),
            ("2026-01-01Tnoon", None),
        ] {
            assert_eq!(parse(text), ms, "{text}");
        }
        assert_eq!(rfc3339(1_795_564_800_000), "2026-11-25T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn times_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-07-28T10:30:00Z",
        ] {
            assert_eq!(rfc3339(parse(s).unwrap()), s);
        }
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn graph_times_parse() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2000-03-01T00:00:01Z"), Some(951_868_801_000));
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            rfc3339_millis(1_795_564_800_000),
            "2026-11-25T00:00:00.000Z"
        );
    }
}
