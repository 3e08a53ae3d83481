//! Timestamps as the AWS protocols write them: ISO 8601 in paths, queries
//! and XML, HTTP dates in headers; read back as epoch seconds, which is how
//! connectors' inputs and outputs carry them.

use super::TimestampFormat;

/// `(year, month, day)` of a count of days since 1970-01-01 (Howard
/// Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split_seconds(seconds: f64) -> (i64, i64, u32) {
    let whole = seconds.floor() as i64;
    let micros = ((seconds - seconds.floor()) * 1e6).round() as u32;
    (whole.div_euclid(86_400), whole.rem_euclid(86_400), micros.min(999_999))
}

/// `2023-11-14T22:13:20Z` (with microseconds when there are any), as
/// botocore writes timestamps in paths and queries.
pub(super) fn iso8601(seconds: f64) -> String {
    let (days, time, micros) = split_seconds(seconds);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s) = (time / 3600, time % 3600 / 60, time % 60);
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{micros:06}Z")
    }
}

/// A timestamp as text where `location` (its place in the request: a
/// path, query or XML text, or a header) would write it in `location`'s
/// format, unless the model names another (`format`). Headers carry whole
/// seconds, as do epoch seconds, as botocore writes them.
pub(super) fn text(seconds: f64, format: TimestampFormat, location: TimestampFormat) -> String {
    let header = location == TimestampFormat::HttpDate;
    let seconds = if header { seconds.floor() } else { seconds };
    match if format == TimestampFormat::Default { location } else { format } {
        TimestampFormat::HttpDate => http_date(seconds),
        TimestampFormat::EpochSeconds => format!("{}", seconds.floor() as i64),
        TimestampFormat::Iso8601 | TimestampFormat::Default => iso8601(seconds),
    }
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `Tue, 14 Nov 2023 22:13:20 GMT`, as headers carry timestamps.
pub(super) fn http_date(seconds: f64) -> String {
    let (days, time, _) = split_seconds(seconds);
    let (y, m, d) = civil_from_days(days);
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    format!(
        "{weekday}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        MONTHS[m as usize - 1],
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// Epoch seconds of an HTTP date (`Tue, 14 Nov 2023 22:13:20 GMT`).
fn parse_http_date(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace().skip(1);
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u8>().ok().map(i64::from));
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if !YEARS.contains(&year) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s) as f64)
}

/// The years a timestamp read from a reply may name: far past any the
/// services use, and far inside what the day arithmetic holds without
/// overflow, whatever a hostile reply claims.
const YEARS: std::ops::RangeInclusive<i64> = 0..=9999;

/// Epoch seconds of a timestamp in any of the formats a model may name:
/// ISO 8601, an HTTP date or epoch seconds.
pub(super) fn parse_any(text: &str) -> Option<f64> {
    parse_iso8601(text).or_else(|| parse_http_date(text)).or_else(|| text.parse::<f64>().ok().filter(|s| s.is_finite()))
}

/// Epoch seconds of an ISO 8601 timestamp as AWS writes them
/// (`2023-11-14T22:13:20Z`, `2023-11-14T22:13:20.123+01:00`).
fn parse_iso8601(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't'])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let offset_seconds = match offset {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) =
                offset.get(1..)?.split_once(':').unwrap_or((offset.get(1..3)?, offset.get(3..).unwrap_or("0")));
            let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().unwrap_or(0));
            if h > 23 || m > 59 {
                return None;
            }
            sign * (i64::from(h) * 3600 + i64::from(m) * 60)
        }
    };
    let mut clock_parts = clock.splitn(3, ':');
    let h = i64::from(clock_parts.next()?.parse::<u8>().ok()?);
    let m = i64::from(clock_parts.next()?.parse::<u8>().ok()?);
    let s: f64 = clock_parts.next().unwrap_or("0").parse().ok()?;
    if !YEARS.contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || h > 23
        || m > 59
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    let whole = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 - offset_seconds;
    Some(whole as f64 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_and_write_as_botocore_does() {
        assert_eq!(iso8601(1_700_000_000.0), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(1_700_000_000.5), "2023-11-14T22:13:20.500000Z");
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(http_date(1_700_000_000.0), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(http_date(951_782_400.0), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"), Some(1_700_000_000.0));
        assert_eq!(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), Some(951_782_400.0));
        for bad in [
            "",
            "Tue,",
            "Tue, 99 Nov 2023 22:13:20 GMT",
            "Tue, 14 Nox 2023 22:13:20 GMT",
            "x 1 Jan 2020 1:2",
            "Tue, 14 Nov 9223372036854775807 22:13:20 GMT",
            "Tue, 14 Nov 2023 -1:13:20 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso8601_reads_back() {
        assert_eq!(parse_iso8601("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(parse_iso8601("2023-11-14T22:13:20.500Z"), Some(1_700_000_000.5));
        assert_eq!(parse_iso8601("2023-11-14T23:13:20+01:00"), Some(1_700_000_000.0));
        assert_eq!(parse_iso8601("2023-11-14T22:13:20"), Some(1_700_000_000.0));
        for bad in [
            "",
            "2023",
            "2023-13-01T00:00:00Z",
            "2023-11-14T25:00:00Z",
            "x-y-zTa:b:c",
            "2023-11-14T22:13:20+é",
            // Hostile replies: nothing overflows, nothing negative passes.
            "9223372036854775807-01-01T00:00:00Z",
            "2023-11-14T22:13:20+9223372036854775807:00",
            "2023-11-14T-1:13:20Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
