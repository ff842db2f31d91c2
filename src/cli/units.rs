//! Human-readable sizes and durations, exactly as the docker CLI prints them
//! (github.com/docker/go-units), so columns and scripts match.

use chrono::{DateTime, Utc};

/// Go's `%.*g`: `precision` significant digits, exponent form when it would be shorter.
fn go_g(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// units.CustomSize: divide by `base` while it fits, print with `precision` digits.
fn custom_size(size: f64, precision: usize, base: f64, abbrs: &[&str; 9]) -> String {
    let mut s = size;
    let mut i = 0;
    while s >= base && i < abbrs.len() - 1 {
        s /= base;
        i += 1;
    }
    format!("{}{}", go_g(s, precision), abbrs[i])
}

/// units.HumanSizeWithPrecision: decimal units ("4.26MB").
pub fn human_size_precision(size: f64, precision: usize) -> String {
    custom_size(size, precision, 1000.0, &DECIMAL)
}

/// units.BytesSize: binary units ("1.512MiB"), as `stats` shows memory.
pub fn bytes_size(bytes: u64) -> String {
    custom_size(bytes as f64, 4, 1024.0, &BINARY)
}

/// `docker images` / `history` SIZE column.
pub fn size3(bytes: u64) -> String {
    human_size_precision(bytes as f64, 3)
}

/// units.HumanSize (4 significant digits), as `system df` prints.
pub fn size4(bytes: u64) -> String {
    human_size_precision(bytes as f64, 4)
}

/// units.HumanDuration.
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = d.num_minutes();
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (d.num_milliseconds() as f64 / 3_600_000.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", d.num_hours() / 24 / 365)
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// "2 weeks ago"; "N/A" when the time is unknown, like docker.
pub fn since(created: Option<&str>, now: DateTime<Utc>) -> String {
    match created.and_then(parse_time) {
        Some(t) if t.timestamp() > 0 => format!("{} ago", human_duration(now - t)),
        _ => "N/A".into(),
    }
}

/// docker's CreatedAt form: "2024-01-02 03:04:05 +0000 UTC".
pub fn created_at(created: Option<&str>) -> String {
    created
        .and_then(parse_time)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(size3(0), "0B");
        assert_eq!(size3(999), "999B");
        assert_eq!(size3(4_261_550), "4.26MB");
        assert_eq!(size3(117_000_000), "117MB");
        assert_eq!(size3(1_234), "1.23kB");
        assert_eq!(size3(1_000_000_000), "1GB");
        assert_eq!(size3(999_600), "1e+03kB");
        assert_eq!(size4(4_261_550), "4.262MB");
        assert_eq!(size4(2_140_160), "2.14MB");
        assert_eq!(bytes_size(1_585_152), "1.512MiB");
        assert_eq!(bytes_size(512), "512B");
    }

    #[test]
    fn durations_match_go_units() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(0)), "Less than a second");
        assert_eq!(human_duration(d(1)), "1 second");
        assert_eq!(human_duration(d(59)), "59 seconds");
        assert_eq!(human_duration(d(60)), "About a minute");
        assert_eq!(human_duration(d(47 * 60)), "47 minutes");
        assert_eq!(human_duration(d(3600)), "About an hour");
        assert_eq!(human_duration(d(5 * 3600)), "5 hours");
        assert_eq!(human_duration(d(3 * 86400)), "3 days");
        assert_eq!(human_duration(d(15 * 86400)), "2 weeks");
        assert_eq!(human_duration(d(90 * 86400)), "3 months");
        assert_eq!(human_duration(d(800 * 86400)), "2 years");
    }
}
