//! Dates as Microsoft writes and reads them: RFC 3339 at second precision (Graph's
//! `innerError.date`), Entra's error timestamp, the HTTP `Date` header, and the date forms
//! Exchange cmdlets and Graph filters accept.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// `2026-01-02T03:04:05Z` (second precision, as Graph's `innerError.date`).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Entra's timestamp form: `2026-01-02 03:04:05Z`.
pub(crate) fn entra_timestamp(t: OffsetDateTime) -> String {
    rfc3339(t).replacen('T', " ", 1)
}

/// The HTTP `Date` header value (IMF-fixdate).
pub(crate) fn http_date(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&f).unwrap_or_default()
}

/// Parses the date forms a client sends: ISO 8601 (with or without an offset; UTC if none),
/// a bare date, or the en-US short forms `M/d/yyyy`, `M/d/yyyy H:mm[:ss]` and
/// `M/d/yyyy h:mm[:ss] AM|PM`.
pub(crate) fn parse_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(d);
    }
    let iso = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let iso_frac = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let iso_min = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    for f in [iso_frac, iso, iso_min] {
        if let Ok(d) = PrimitiveDateTime::parse(s.trim_end_matches('Z'), f) {
            return Some(d.assume_utc());
        }
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc());
    }
    us_date(s)
}

fn us_date(s: &str) -> Option<OffsetDateTime> {
    let mut parts = s.split_whitespace();
    let date = parts.next()?;
    let mut dp = date.split('/');
    let month: u8 = dp.next()?.parse().ok()?;
    let day: u8 = dp.next()?.parse().ok()?;
    let year: i32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let time = match parts.next() {
        None => Time::MIDNIGHT,
        Some(t) => {
            let mut tp = t.split(':');
            let mut hour: u8 = tp.next()?.parse().ok()?;
            let minute: u8 = tp.next()?.parse().ok()?;
            let second: u8 = match tp.next() {
                Some(x) => x.parse().ok()?,
                None => 0,
            };
            match parts.next().map(str::to_ascii_uppercase).as_deref() {
                Some("PM") if hour < 12 => hour += 12,
                Some("AM") if hour == 12 => hour = 0,
                Some("AM" | "PM") | None => {}
                Some(_) => return None,
            }
            Time::from_hms(hour, minute, second).ok()?
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_format() {
        let t = time::macros::datetime!(2026-03-01 08:05:09 UTC);
        assert_eq!(http_date(t), "Sun, 01 Mar 2026 08:05:09 GMT");
    }

    #[test]
    fn dates_in_the_forms_clients_send() {
        for s in [
            "2026-01-20T00:00:00Z",
            "2026-01-20T00:00:00",
            "2026-01-20T00:00:00.0000000",
            "2026-01-20",
            "1/20/2026",
            "01/20/2026 12:00 AM",
        ] {
            assert_eq!(
                parse_date(s).unwrap(),
                time::macros::datetime!(2026-01-20 0:00 UTC),
                "{s}"
            );
        }
        assert!(parse_date("13/40/2026").is_none());
    }
}
