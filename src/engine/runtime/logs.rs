//! Docker's `json-file` log driver: the writer used by the container monitor
//! (with size-based rotation) and the reader behind `logs` (tail, since/until,
//! follow).
//!
//! On-disk format, byte-compatible with Docker so existing parsers keep working:
//! one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
//! Lines longer than 16 KiB are split into several records; only the last one
//! carries the `\n`. Rotation renames `path` → `path.1` → … → `path.<max_file-1>`.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, TimeDelta, TimeZone, Utc};

/// Largest `log` payload of one record; longer lines become partial records,
/// like Docker's copier buffer.
pub const MAX_RECORD_CONTENT: usize = 16 * 1024;
/// Forward reads: big enough to amortise syscalls, small enough to stay in L2.
const READ_BLOCK: usize = 256 * 1024;
/// Backward reads for `tail`: one block normally holds far more than 10 records.
const TAIL_BLOCK: usize = 64 * 1024;
/// A "record" longer than this cannot come from our writer (16 KiB escaped is
/// < 100 KiB); treat it as corruption instead of growing buffers forever.
const MAX_LINE: usize = 2 * 1024 * 1024;
/// The writer hands data to the kernel at least this often within one call.
const WRITE_FLUSH: usize = 256 * 1024;
/// Upper bound on how long a follower sleeps before re-checking the file.
const FOLLOW_POLL_MS: i32 = 50;

// ---------------------------------------------------------------------------
// Errors and basic types
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid log opt {key}={value:?}: {reason}")]
    InvalidOption {
        key: String,
        value: String,
        reason: String,
    },
    #[error("unknown log opt '{0}' for json-file log driver")]
    UnknownOption(String),
    #[error("max-file can only be used with max-size")]
    MaxFileWithoutMaxSize,
    #[error("invalid time value {value:?}: {reason}")]
    InvalidTime { value: String, reason: String },
    #[error("writing log output: {0}")]
    Output(#[source] io::Error),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn idx(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// `--log-opt` settings of the json-file driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Rotate once the file reaches this many bytes (`None`: never).
    pub max_size: Option<u64>,
    /// Files kept including the live one (≥ 1; 1 means truncate in place).
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_size: None,
            max_file: 1,
        }
    }
}

impl LogOptions {
    /// Parses json-file `--log-opt`s the way Docker validates them. Sizes use
    /// go-units `FromHumanSize`, i.e. decimal multiples (`10m` = 10,000,000),
    /// exactly as dockerd does for this driver.
    pub fn parse(opts: &HashMap<String, String>) -> Result<Self, LogError> {
        for key in opts.keys() {
            match key.as_str() {
                "max-size" | "max-file" | "compress" | "labels" | "labels-regex" | "env"
                | "env-regex" | "tag" => {}
                _ => return Err(LogError::UnknownOption(key.clone())),
            }
        }
        let invalid = |key: &str, value: &str, reason: &str| LogError::InvalidOption {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let max_size = match opts.get("max-size") {
            None => None,
            Some(v) => match parse_human_size(v) {
                Some(0) => {
                    return Err(invalid("max-size", v, "max-size must be a positive number"))
                }
                Some(n) => Some(n),
                None => {
                    return Err(invalid(
                        "max-size",
                        v,
                        "expected a size like 10k, 10m or 1g",
                    ))
                }
            },
        };
        let max_file = match opts.get("max-file") {
            None => 1,
            Some(v) => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| invalid("max-file", v, "expected an integer"))?;
                if n < 1 {
                    return Err(invalid("max-file", v, "max-file cannot be less than 1"));
                }
                if max_size.is_none() {
                    return Err(LogError::MaxFileWithoutMaxSize);
                }
                u32::try_from(n).map_err(|_| invalid("max-file", v, "too large"))?
            }
        };
        if let Some(v) = opts.get("compress") {
            match v.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => {
                    // Rotated files would be gzip'ed; neither our writer nor our
                    // reader does that, so refuse rather than silently ignore.
                    return Err(invalid(
                        "compress",
                        v,
                        "compressed rotation is not supported",
                    ));
                }
                "0" | "f" | "F" | "false" | "FALSE" | "False" => {}
                _ => return Err(invalid("compress", v, "expected a boolean")),
            }
        }
        Ok(LogOptions { max_size, max_file })
    }
}

/// go-units `FromHumanSize`: a (possibly fractional) number, an optional space,
/// then an optional case-insensitive unit `b`, `k`, `kb`, `kib`, ... `p`.
fn parse_human_size(s: &str) -> Option<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(split);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let unit = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        u => {
            let m = match u.as_bytes()[0] {
                b'k' => 1e3,
                b'm' => 1e6,
                b'g' => 1e9,
                b't' => 1e12,
                b'p' => 1e15,
                _ => return None,
            };
            match &u[1..] {
                "" | "b" | "ib" => m,
                _ => return None,
            }
        }
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return None;
    }
    Some(bytes as u64)
}

/// One record as stored: `line` is the raw text, including the trailing `\n`
/// unless this is a partial record (or the stream's unterminated last line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub time: DateTime<Utc>,
    pub line: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only the last N matching records.
    pub tail: Option<usize>,
    /// Records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Records at or before this time.
    pub until: Option<DateTime<Utc>>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            tail: None,
            since: None,
            until: None,
            stdout: true,
            stderr: true,
        }
    }
}

// ---------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------

/// glibc's vectorised memchr; the hot loop of the reader is newline/quote search.
#[inline]
fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: pointer and length come from a live slice; memchr reads at most
    // `len` bytes and returns either NULL or a pointer inside that range.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), libc::c_int::from(b), hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

#[inline]
fn rfind_byte(hay: &[u8], b: u8) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: as for memchr above.
    let p = unsafe { libc::memrchr(hay.as_ptr().cast(), libc::c_int::from(b), hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

// ---------------------------------------------------------------------------
// Time formatting / parsing (hand-rolled: it runs once per record)
// ---------------------------------------------------------------------------

/// A formatted timestamp on the stack (no allocation per record).
#[derive(Clone, Copy)]
pub struct TimeText {
    buf: [u8; 32],
    len: u8,
}

impl TimeText {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl std::fmt::Debug for TimeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// RFC3339 in UTC. `fixed`: always 9 fraction digits (Docker's
/// RFC3339NanoFixed, used by `logs -t`); otherwise Go's RFC3339Nano, which
/// trims trailing zeros (what json-file stores).
fn format_time(t: &DateTime<Utc>, fixed: bool) -> TimeText {
    fn put2(b: &mut [u8], v: i64) {
        b[0] = b'0' + (v / 10 % 10) as u8;
        b[1] = b'0' + (v % 10) as u8;
    }
    let secs = t.timestamp();
    // chrono encodes a leap second as nanos ≥ 1e9; clamp like Go would print.
    let nanos = t.timestamp_subsec_nanos().min(999_999_999);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut b = [0u8; 32];
    let y = y.rem_euclid(10_000);
    put2(&mut b[0..2], y / 100);
    put2(&mut b[2..4], y % 100);
    b[4] = b'-';
    put2(&mut b[5..7], mo);
    b[7] = b'-';
    put2(&mut b[8..10], d);
    b[10] = b'T';
    put2(&mut b[11..13], sod / 3600);
    b[13] = b':';
    put2(&mut b[14..16], sod / 60 % 60);
    b[16] = b':';
    put2(&mut b[17..19], sod % 60);
    let mut len = 19;
    if fixed || nanos != 0 {
        b[19] = b'.';
        let mut n = nanos;
        for i in (20..29).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        len = 29;
        if !fixed {
            while b[len - 1] == b'0' {
                len -= 1;
            }
        }
    }
    b[len] = b'Z';
    len += 1;
    TimeText {
        buf: b,
        len: len as u8,
    }
}

/// `2024-01-02T03:04:05.123456789Z` with exactly nine fraction digits, the
/// format `docker logs --timestamps` prints in front of each line.
pub fn timestamp_fixed(t: &DateTime<Utc>) -> TimeText {
    format_time(t, true)
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Nanoseconds from a fraction's digits (first nine count, the rest are cut).
fn fraction_nanos(s: &[u8]) -> Option<u32> {
    const SCALE: [u32; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    if s.is_empty() {
        return None;
    }
    let mut n = 0u32;
    for (i, &c) in s.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        if i < 9 {
            n = n * 10 + u32::from(d);
        }
    }
    Some(n * SCALE[s.len().min(9)])
}

/// Records written in the same second share their first 19 bytes; reuse
/// that second's parse (date math dominated the reader's profile).
#[derive(Default)]
struct TimeCache {
    key: [u8; 19],
    base: Option<DateTime<Utc>>,
}

impl TimeCache {
    fn parse(&mut self, s: &[u8]) -> Option<DateTime<Utc>> {
        use chrono::Timelike;
        if let (Some(base), Some((b'Z', head))) = (self.base, s.split_last()) {
            if head.len() >= 19 && head[..19] == self.key {
                let nanos = match &head[19..] {
                    [] => 0,
                    [b'.', frac @ ..] => fraction_nanos(frac)?,
                    _ => return None,
                };
                return base.with_nanosecond(nanos);
            }
        }
        let t = parse_rfc3339(s)?;
        if s.last() == Some(&b'Z') {
            self.key.copy_from_slice(&s[..19]);
            self.base = t.with_nanosecond(0);
        }
        Some(t)
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn date_parts(s: &[u8]) -> Option<(i64, i64, i64)> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// Parses a zone suffix `Z` or `±HH:MM` into seconds east of UTC.
fn zone_offset(s: &[u8]) -> Option<i64> {
    match s {
        b"Z" | b"z" => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

/// Strict RFC3339 as json-file stores it (any fraction length, any zone).
fn parse_rfc3339(s: &[u8]) -> Option<DateTime<Utc>> {
    if s.len() < 20 || !matches!(s[10], b'T' | b't') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = date_parts(&s[..10])?;
    let (h, mi, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0;
    if s[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        nanos = fraction_nanos(&s[start..i])?;
    }
    let off = zone_offset(&s[i..])?;
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - off;
    DateTime::from_timestamp(secs, nanos)
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let int_part = &rest[..int_end];
        rest = &rest[int_end..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let frac_end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            frac_part = &r[..frac_end];
            rest = &r[frac_end..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_end] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_end..];
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut v = int.checked_mul(unit)?;
        if !frac_part.is_empty() {
            // Only as many digits as can matter; more would overflow.
            let f = &frac_part[..frac_part.len().min(18)];
            let num: i128 = f.parse().ok()?;
            v += num * unit / 10i128.pow(f.len() as u32);
        }
        total = total.checked_add(v)?;
    }
    Some(if neg { -total } else { total })
}

/// Docker's `--since` / `--until` values (`GetTimestamp` in the CLI):
/// a Go duration meaning "now minus that"; RFC3339 with optional fraction,
/// seconds/minutes and zone (no zone = local time); a bare date; or unix
/// seconds with an optional fraction.
pub fn parse_time_arg(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, LogError> {
    let bad = |reason: &str| LogError::InvalidTime {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let v = s.trim();
    if v.is_empty() {
        return Err(bad("empty value"));
    }
    if v != "0" {
        if let Some(ns) = parse_go_duration(v) {
            let d = i64::try_from(ns)
                .map(TimeDelta::nanoseconds)
                .map_err(|_| bad("duration out of range"))?;
            return now
                .checked_sub_signed(d)
                .ok_or_else(|| bad("duration out of range"));
        }
    }
    if v.contains('-') {
        return parse_date_time(v.as_bytes()).ok_or_else(|| {
            bad("expected RFC3339 like 2024-01-02T03:04:05Z, unix seconds or a duration like 10m")
        });
    }
    // Unix seconds, optionally with a fraction.
    let (sec, frac) = match v.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let secs =
        digits(sec.as_bytes()).ok_or_else(|| bad("failed to parse value as time or duration"))?;
    let nanos = match frac {
        None => 0,
        Some(f) => fraction_nanos(f.as_bytes())
            .ok_or_else(|| bad("failed to parse value as time or duration"))?,
    };
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| bad("timestamp out of range"))
}

/// `YYYY-MM-DD[Thh[:mm[:ss[.frac]]]][Z|±hh:mm]`; no zone means local time.
fn parse_date_time(s: &[u8]) -> Option<DateTime<Utc>> {
    let (y, mo, d) = date_parts(s.get(..10)?)?;
    let mut rest = &s[10..];
    let (mut h, mut mi, mut sec, mut nanos) = (0, 0, 0, 0);
    if let [b'T' | b't', tail @ ..] = rest {
        h = digits(tail.get(..2)?)?;
        rest = &tail[2..];
        if let [b':', m1, m2, tail @ ..] = rest {
            mi = digits(&[*m1, *m2])?;
            rest = tail;
            if let [b':', s1, s2, tail @ ..] = rest {
                sec = digits(&[*s1, *s2])?;
                rest = tail;
                if let [b'.', tail @ ..] = rest {
                    let end = tail
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .unwrap_or(tail.len());
                    nanos = fraction_nanos(&tail[..end])?;
                    rest = &tail[end..];
                }
            }
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
    }
    let naive = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?
        .and_hms_nano_opt(h as u32, mi as u32, sec as u32, nanos)?;
    if rest.is_empty() {
        // Like Docker's ParseInLocation with the client's zone.
        return Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc));
    }
    let off = zone_offset(rest)?;
    let secs = naive.and_utc().timestamp() - off;
    DateTime::from_timestamp(secs, nanos)
}

// ---------------------------------------------------------------------------
// JSON encoding (Go's json-file escaping)
// ---------------------------------------------------------------------------

/// 0: copy; 1: ASCII that Docker escapes; 2: non-ASCII (validate UTF-8).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c < 0x20 || c == b'"' || c == b'\\' || c == b'<' || c == b'>' || c == b'&' {
            1
        } else if c >= 0x80 {
            2
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Byte-for-byte `ffjsonWriteJSONBytesAsString` from moby's jsonlog: `"`, `\`,
/// `\n`, `\r` get short escapes, other control bytes and `<>&` become
/// `\u00XX`, U+2028/2029 are escaped and each invalid UTF-8 byte becomes
/// `\ufffd` (the quotes themselves are not written here).
fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len());
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match ESCAPE[usize::from(c)] {
            0 => i += 1,
            1 => {
                out.extend_from_slice(&s[start..i]);
                match c {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.extend_from_slice(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(c >> 4)],
                        HEX[usize::from(c & 0xf)],
                    ]),
                }
                i += 1;
                start = i;
            }
            _ => {
                let width = match c {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => 0,
                };
                let valid = width > 0
                    && s.get(i..i + width)
                        .is_some_and(|ch| std::str::from_utf8(ch).is_ok());
                if !valid {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(b"\\ufffd");
                    i += 1;
                    start = i;
                } else if c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9) {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(b"\\u202");
                    out.push(HEX[usize::from(s[i + 2] & 0xf)]);
                    i += 3;
                    start = i;
                } else {
                    i += width;
                }
            }
        }
    }
    out.extend_from_slice(&s[start..]);
}

/// Where to cut a too-long line: at most `max` bytes, backing off so a
/// multi-byte character stays whole (a split one would be stored as two
/// U+FFFD by the escaper — Docker loses those bytes, we don't).
fn utf8_cut(buf: &[u8], max: usize) -> usize {
    let mut cut = max;
    while cut > max - 3 && buf.get(cut).is_some_and(|&b| b & 0xc0 == 0x80) {
        cut -= 1;
    }
    if buf.get(cut).is_some_and(|&b| b & 0xc0 == 0x80) {
        max // not valid UTF-8 anyway
    } else {
        cut
    }
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

/// Appends container output to a json-file log, rotating by size.
/// Not internally synchronised: one monitor owns it.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
    /// Encoded records not yet handed to the kernel (flushed every call).
    out: Vec<u8>,
    /// Per stream: bytes of a line whose `\n` has not arrived yet.
    pending: [Vec<u8>; 2],
    /// Per stream: timestamp of a line already partly written as partial
    /// records; all chunks of one line share it, like Docker.
    pending_time: [Option<DateTime<Utc>>; 2],
    time_cache: Option<(DateTime<Utc>, TimeText)>,
    /// A rotation failure is reported after the data has been written.
    deferred: Option<LogError>,
}

fn open_for_append(path: &Path, truncate: bool) -> Result<File, LogError> {
    let mut o = OpenOptions::new();
    o.read(true).create(true).mode(0o640);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    o.open(path).map_err(io_err("opening log file", path))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl LogWriter {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path, opts: LogOptions) -> Result<Self, LogError> {
        let mut file = open_for_append(path, false)?;
        let mut size = file
            .metadata()
            .map_err(io_err("inspecting log file", path))?
            .len();
        if size > 0 {
            // A crash may have left half a record at the end; terminate it so
            // our first record starts on its own line (readers skip the junk).
            let mut last = [0u8; 1];
            file.read_exact_at(&mut last, size - 1)
                .map_err(io_err("reading log file", path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .map_err(io_err("writing log file", path))?;
                size += 1;
            }
        }
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            opts: LogOptions {
                max_size: opts.max_size,
                max_file: opts.max_file.max(1),
            },
            out: Vec::with_capacity(64 * 1024),
            pending: [Vec::new(), Vec::new()],
            pending_time: [None, None],
            time_cache: None,
            deferred: None,
        })
    }

    /// Feeds raw bytes read from the container's `stream`: complete lines are
    /// written as records now, an unterminated tail is kept for the next call.
    /// The whole batch goes to the kernel before this returns.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> Result<(), LogError> {
        if data.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let s = stream.idx();
        let mut pending = std::mem::take(&mut self.pending[s]);
        let res = self.write_lines(stream, &mut pending, data, now);
        self.pending[s] = pending;
        self.finish(res)
    }

    /// Writes both streams' unterminated last lines without `\n` (the
    /// container's output ended without one). Call when the streams close.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        let a = self.flush_stream(Stream::Stdout);
        let b = self.flush_stream(Stream::Stderr);
        a.and(b)
    }

    /// Like [`flush_partial`](Self::flush_partial) for one stream, for a
    /// monitor that sees stdout and stderr close at different times.
    pub fn flush_stream(&mut self, stream: Stream) -> Result<(), LogError> {
        let s = stream.idx();
        let pending = std::mem::take(&mut self.pending[s]);
        let time = self.pending_time[s].take();
        let res = if pending.is_empty() {
            Ok(())
        } else {
            let time = time.unwrap_or_else(Utc::now);
            self.emit_line(stream, &pending, false, time)
        };
        self.finish(res)
    }

    fn finish(&mut self, res: Result<(), LogError>) -> Result<(), LogError> {
        let flushed = self.flush_out();
        res?;
        flushed?;
        match self.deferred.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn write_lines(
        &mut self,
        stream: Stream,
        pending: &mut Vec<u8>,
        data: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), LogError> {
        let s = stream.idx();
        let mut rest = data;
        while let Some(i) = find_byte(rest, b'\n') {
            let line = &rest[..i];
            rest = &rest[i + 1..];
            let time = self.pending_time[s].take().unwrap_or(now);
            if pending.is_empty() {
                self.emit_line(stream, line, true, time)?;
            } else {
                pending.extend_from_slice(line);
                let r = self.emit_line(stream, pending, true, time);
                pending.clear();
                r?;
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        pending.extend_from_slice(rest);
        if pending.len() > MAX_RECORD_CONTENT {
            // No newline in sight: write full chunks as partial records now
            // (bounded memory, and followers see progress), keep the rest.
            let time = *self.pending_time[s].get_or_insert(now);
            let mut off = 0;
            let mut res = Ok(());
            while pending.len() - off > MAX_RECORD_CONTENT {
                let cut = utf8_cut(&pending[off..], MAX_RECORD_CONTENT);
                res = self.push_record(stream, &pending[off..off + cut], false, time);
                off += cut;
                if res.is_err() {
                    break;
                }
            }
            pending.drain(..off);
            res?;
        }
        Ok(())
    }

    /// One logical line (without its `\n`), split into ≤16 KiB records.
    fn emit_line(
        &mut self,
        stream: Stream,
        mut content: &[u8],
        newline: bool,
        time: DateTime<Utc>,
    ) -> Result<(), LogError> {
        while content.len() > MAX_RECORD_CONTENT {
            let cut = utf8_cut(content, MAX_RECORD_CONTENT);
            self.push_record(stream, &content[..cut], false, time)?;
            content = &content[cut..];
        }
        if newline || !content.is_empty() {
            self.push_record(stream, content, newline, time)?;
        }
        Ok(())
    }

    fn time_text(&mut self, t: DateTime<Utc>) -> TimeText {
        match self.time_cache {
            Some((ct, text)) if ct == t => text,
            _ => {
                let text = format_time(&t, false);
                self.time_cache = Some((t, text));
                text
            }
        }
    }

    fn push_record(
        &mut self,
        stream: Stream,
        content: &[u8],
        newline: bool,
        time: DateTime<Utc>,
    ) -> Result<(), LogError> {
        if let Some(cap) = self.opts.max_size {
            // Docker checks before each write, so a file may exceed max-size
            // by at most one record.
            if self.size + self.out.len() as u64 >= cap {
                self.flush_out()?;
                self.rotate()?;
            }
        }
        let ts = self.time_text(time);
        self.out.extend_from_slice(b"{\"log\":\"");
        escape_into(&mut self.out, content);
        if newline {
            self.out.extend_from_slice(b"\\n");
        }
        self.out.extend_from_slice(match stream {
            Stream::Stdout => b"\",\"stream\":\"stdout\",\"time\":\"",
            Stream::Stderr => b"\",\"stream\":\"stderr\",\"time\":\"",
        });
        self.out.extend_from_slice(ts.as_bytes());
        self.out.extend_from_slice(b"\"}\n");
        if self.out.len() >= WRITE_FLUSH {
            self.flush_out()?;
        }
        Ok(())
    }

    fn flush_out(&mut self) -> Result<(), LogError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let res = self.file.write_all(&self.out);
        // Even on error: a retry could duplicate whatever did get written.
        self.size += self.out.len() as u64;
        self.out.clear();
        res.map_err(io_err("writing log file", &self.path))
    }

    /// Docker's rotation: drop `path.<max-1>`, shift the others up by one,
    /// `path` → `path.1`, start a fresh `path`. With max-file 1 the file is
    /// simply truncated. If renaming fails we still truncate (as Docker
    /// does) so the disk limit holds, and report the error afterwards.
    fn rotate(&mut self) -> Result<(), LogError> {
        let max = self.opts.max_file;
        if max >= 2 {
            let ignore_missing = |r: io::Result<()>| match r {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            };
            let last = numbered(&self.path, max - 1);
            let mut res = ignore_missing(fs::remove_file(&last))
                .map_err(io_err("removing old log file", &last));
            for i in (2..max).rev() {
                if res.is_err() {
                    break;
                }
                let from = numbered(&self.path, i - 1);
                res = ignore_missing(fs::rename(&from, numbered(&self.path, i)))
                    .map_err(io_err("rotating log file", &from));
            }
            if res.is_ok() {
                res = ignore_missing(fs::rename(&self.path, numbered(&self.path, 1)))
                    .map_err(io_err("rotating log file", &self.path));
            }
            if let Err(e) = res {
                self.deferred.get_or_insert(e);
            }
        }
        self.file = open_for_append(&self.path, true)?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Best effort: a monitor that forgets flush_partial keeps its last line.
        let _ = self.flush_partial();
    }
}

// ---------------------------------------------------------------------------
// Record parsing
// ---------------------------------------------------------------------------

/// `b[start..]` is the inside of a JSON string; returns the index of the
/// closing quote and whether any escape occurs before it.
#[inline]
fn scan_string(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start;
    let mut q = start + find_byte(b.get(start..)?, b'"')?;
    let mut escaped = false;
    loop {
        match find_byte(&b[i..q], b'\\') {
            None => return Some((q, escaped)),
            Some(k) => {
                escaped = true;
                i += k + 2; // skip the backslash and the byte it escapes
                if i > q {
                    // The quote we found was escaped: look for the next one.
                    q = i + find_byte(b.get(i..)?, b'"')?;
                }
            }
        }
    }
}

fn hex4(s: Option<&[u8]>) -> Option<u32> {
    let s = s?;
    let mut v = 0u32;
    for &c in s {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Decodes the inside of a JSON string (as Go does: bad surrogates → U+FFFD).
fn unescape_into(out: &mut Vec<u8>, s: &[u8]) -> Option<()> {
    let mut i = 0;
    while let Some(k) = find_byte(&s[i..], b'\\') {
        out.extend_from_slice(&s[i..i + k]);
        i += k + 1;
        let c = *s.get(i)?;
        i += 1;
        match c {
            b'"' | b'\\' | b'/' => out.push(c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'u' => {
                let cp = hex4(s.get(i..i + 4))?;
                i += 4;
                let ch = if (0xd800..0xdc00).contains(&cp) {
                    let lo = if s.get(i..i + 2) == Some(b"\\u") {
                        hex4(s.get(i + 2..i + 6)).filter(|lo| (0xdc00..0xe000).contains(lo))
                    } else {
                        None
                    };
                    match lo {
                        Some(lo) => {
                            i += 6;
                            char::from_u32(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00))
                        }
                        None => None,
                    }
                } else {
                    char::from_u32(cp)
                };
                let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            }
            _ => return None,
        }
    }
    out.extend_from_slice(&s[i..]);
    Some(())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// Index just past the JSON value starting at `b[i]` (for fields we ignore,
/// such as Docker's `attrs`).
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *b.get(i)? {
            b'"' => {
                i = scan_string(b, i + 1)?.0 + 1;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
}

fn decode_log(out: &mut Vec<u8>, raw: &[u8], escaped: bool) -> bool {
    out.clear();
    if escaped {
        unescape_into(out, raw).is_some()
    } else {
        out.extend_from_slice(raw);
        true
    }
}

/// Parses one record into `entry` (reusing its buffer). False if the line is
/// not a complete record; such lines are skipped, never fatal.
fn parse_record(line: &[u8], entry: &mut LogEntry, tc: &mut TimeCache) -> bool {
    parse_fast(line, entry, tc).unwrap_or_else(|| parse_general(line, entry, tc))
}

/// The exact shape our writer and dockerd produce; `None` = not that shape.
#[inline]
fn parse_fast(line: &[u8], entry: &mut LogEntry, tc: &mut TimeCache) -> Option<bool> {
    const HEAD: &[u8] = b"{\"log\":\"";
    const MID: &[u8] = b"\",\"stream\":\"std";
    const TIME: &[u8] = b"\",\"time\":\"";
    let body = line.strip_prefix(HEAD)?;
    let (q, escaped) = scan_string(body, 0)?;
    let rest = &body[q..];
    let rest = rest.strip_prefix(MID)?;
    let stream = match rest.get(..3)? {
        b"out" => Stream::Stdout,
        b"err" => Stream::Stderr,
        _ => return None,
    };
    let time = rest[3..].strip_prefix(TIME)?.strip_suffix(b"\"}")?;
    entry.time = tc.parse(time)?;
    entry.stream = stream;
    Some(decode_log(&mut entry.line, &body[..q], escaped))
}

/// Any key order, extra keys (`attrs`), whitespace.
fn parse_general(b: &[u8], entry: &mut LogEntry, tc: &mut TimeCache) -> bool {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return false;
    }
    i = skip_ws(b, i + 1);
    let (mut stream, mut time) = (None, None);
    entry.line.clear();
    if b.get(i) != Some(&b'}') {
        loop {
            if b.get(i) != Some(&b'"') {
                return false;
            }
            let Some((kq, _)) = scan_string(b, i + 1) else {
                return false;
            };
            let key = &b[i + 1..kq];
            i = skip_ws(b, kq + 1);
            if b.get(i) != Some(&b':') {
                return false;
            }
            i = skip_ws(b, i + 1);
            let string_value = |i: usize| -> Option<(usize, usize, bool)> {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                let (q, esc) = scan_string(b, i + 1)?;
                Some((i + 1, q, esc))
            };
            match key {
                b"log" | b"stream" | b"time" => {
                    let Some((s, q, esc)) = string_value(i) else {
                        return false;
                    };
                    let raw = &b[s..q];
                    match key {
                        b"log" => {
                            if !decode_log(&mut entry.line, raw, esc) {
                                return false;
                            }
                        }
                        b"stream" => {
                            stream = match raw {
                                b"stdout" => Some(Stream::Stdout),
                                b"stderr" => Some(Stream::Stderr),
                                _ => return false,
                            }
                        }
                        _ => time = tc.parse(raw),
                    }
                    i = q + 1;
                }
                _ => match skip_value(b, i) {
                    Some(end) => i = end,
                    None => return false,
                },
            }
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => break,
                _ => return false,
            }
        }
    }
    if skip_ws(b, i + 1) != b.len() {
        return false;
    }
    // An absent "log" is an empty line (Docker omits the key then).
    match (stream, time) {
        (Some(s), Some(t)) => {
            entry.stream = s;
            entry.time = t;
            true
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

struct Filter {
    stdout: bool,
    stderr: bool,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl Filter {
    fn new(o: &ReadOptions) -> Self {
        Filter {
            stdout: o.stdout,
            stderr: o.stderr,
            since: o.since,
            until: o.until,
        }
    }

    fn stream_ok(&self, s: Stream) -> bool {
        match s {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
        }
    }

    /// Everything except the `until` cut-off.
    fn matches_head(&self, e: &LogEntry) -> bool {
        self.stream_ok(e.stream) && self.since.is_none_or(|s| e.time >= s)
    }

    fn past_until(&self, e: &LogEntry) -> bool {
        self.until.is_some_and(|u| e.time > u)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Filters one parsed record and hands it to the sink.
fn deliver(
    entry: &LogEntry,
    filter: &Filter,
    sink: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
) -> Result<Flow, LogError> {
    // Records are in time order, so the first one past `until` ends the
    // read (Docker does the same).
    if filter.past_until(entry) {
        return Ok(Flow::Stop);
    }
    if !filter.matches_head(entry) {
        return Ok(Flow::Continue);
    }
    match sink(entry) {
        Ok(()) => Ok(Flow::Continue),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::Stop),
        Err(e) => Err(LogError::Output(e)),
    }
}

/// One opened log file; holding the descriptor keeps reading it correct even
/// if the writer renames or deletes it meanwhile.
struct Src {
    file: File,
    id: (u64, u64),
    path: PathBuf,
}

fn open_src(path: &Path) -> Result<Option<Src>, LogError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("opening log file", path)(e)),
    };
    let m = file
        .metadata()
        .map_err(io_err("inspecting log file", path))?;
    Ok(Some(Src {
        file,
        id: (m.dev(), m.ino()),
        path: path.to_path_buf(),
    }))
}

/// Numbers N of existing `path.N` files, ascending (newest rotated first).
fn rotated_numbers(path: &Path) -> Result<Vec<u32>, LogError> {
    let Some(name) = path.file_name() else {
        return Ok(Vec::new());
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing log directory", dir)(e)),
    };
    let prefix = name.as_bytes();
    let mut nums = Vec::new();
    for ent in rd {
        let ent = ent.map_err(io_err("listing log directory", dir))?;
        let fname = ent.file_name();
        let b = fname.as_bytes();
        if let Some(rest) = b.strip_prefix(prefix).and_then(|r| r.strip_prefix(b".")) {
            if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) {
                if let Some(n) = std::str::from_utf8(rest).ok().and_then(|s| s.parse().ok()) {
                    nums.push(n);
                }
            }
        }
    }
    nums.sort_unstable();
    Ok(nums)
}

/// Opens the live file and all rotated ones, oldest first. Opening races
/// with a concurrent rotation are detected (a file seen twice, or one that
/// vanished) and the whole set is reopened.
fn open_set(path: &Path) -> Result<Vec<Src>, LogError> {
    const ATTEMPTS: usize = 10;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let nums = rotated_numbers(path)?;
        let mut set: Vec<Src> = Vec::with_capacity(nums.len() + 1);
        let mut racy = false;
        match open_src(path)? {
            Some(s) => set.push(s),
            None => racy = !nums.is_empty(), // mid-rotation: path.1 exists, path not yet
        }
        for n in nums {
            match open_src(&numbered(path, n))? {
                Some(s) if set.iter().all(|x| x.id != s.id) => set.push(s),
                _ => {
                    racy = true;
                    break;
                }
            }
        }
        if !racy || attempt >= ATTEMPTS {
            set.reverse();
            return Ok(set);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Forward reader over one file at a time; keeps an incomplete trailing
/// record between calls (needed while following a file being written).
struct Reader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[end]`.
    offset: u64,
    /// Dropping an over-long (corrupt) line until its newline.
    skipping: bool,
    times: TimeCache,
}

impl Reader {
    fn new() -> Self {
        Reader {
            buf: vec![0; READ_BLOCK],
            start: 0,
            end: 0,
            offset: 0,
            skipping: false,
            times: TimeCache::default(),
        }
    }

    fn reset(&mut self, offset: u64) {
        self.start = 0;
        self.end = 0;
        self.offset = offset;
        self.skipping = false;
    }

    /// Reads `src` from the current offset to EOF (or `limit`), delivering
    /// complete records. Returns the flow and the number of bytes read.
    fn pump(
        &mut self,
        src: &Src,
        limit: Option<u64>,
        filter: &Filter,
        entry: &mut LogEntry,
        sink: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
    ) -> Result<(Flow, u64), LogError> {
        let mut total = 0u64;
        loop {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_LINE {
                    self.end = 0;
                    self.skipping = true;
                } else {
                    let n = (self.buf.len() * 2).min(MAX_LINE);
                    self.buf.resize(n, 0);
                }
            }
            let mut want = self.buf.len() - self.end;
            if let Some(l) = limit {
                let left = l.saturating_sub(self.offset);
                want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
            }
            if want == 0 {
                return Ok((Flow::Continue, total));
            }
            let n = loop {
                match src
                    .file
                    .read_at(&mut self.buf[self.end..self.end + want], self.offset)
                {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err("reading log file", &src.path)(e)),
                }
            };
            if n == 0 {
                return Ok((Flow::Continue, total));
            }
            self.offset += n as u64;
            self.end += n;
            total += n as u64;
            if self.skipping {
                match find_byte(&self.buf[self.start..self.end], b'\n') {
                    Some(k) => {
                        self.start += k + 1;
                        self.skipping = false;
                    }
                    None => {
                        self.start = self.end;
                        continue;
                    }
                }
            }
            let buf = &self.buf[..self.end];
            let mut pos = self.start;
            while let Some(k) = find_byte(&buf[pos..], b'\n') {
                let line = &buf[pos..pos + k];
                pos += k + 1;
                if parse_record(line, entry, &mut self.times)
                    && deliver(entry, filter, sink)? == Flow::Stop
                {
                    self.start = pos;
                    return Ok((Flow::Stop, total));
                }
            }
            self.start = pos;
        }
    }
}

/// Reads `buf.len()` bytes at `off`; false if the file shrank meanwhile.
fn read_block(src: &Src, buf: &mut [u8], off: u64) -> Result<bool, LogError> {
    match src.file.read_exact_at(buf, off) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(io_err("reading log file", &src.path)(e)),
    }
}

fn file_len(src: &Src) -> Result<u64, LogError> {
    Ok(src
        .file
        .metadata()
        .map_err(io_err("inspecting log file", &src.path))?
        .len())
}

/// Offset just past the last complete record of `src` (for `--tail 0`).
fn end_boundary(src: &Src) -> Result<u64, LogError> {
    let mut pos = file_len(src)?;
    let mut block = vec![0u8; TAIL_BLOCK];
    while pos > 0 {
        let take = TAIL_BLOCK.min(usize::try_from(pos).unwrap_or(TAIL_BLOCK));
        pos -= take as u64;
        if !read_block(src, &mut block[..take], pos)? {
            return Ok(0);
        }
        if let Some(k) = rfind_byte(&block[..take], b'\n') {
            return Ok(pos + k as u64 + 1);
        }
    }
    Ok(0)
}

/// Where the records past `until` begin in `src`: a record start found by bisection
/// (records are in time order, which `deliver` relies on too), or the file's length
/// when the last record is not past it. A page of the log that ends deep in a large
/// file then costs the same as one at its end: the backward walk starts here.
fn until_end(src: &Src, until: DateTime<Utc>) -> Result<u64, LogError> {
    let len = file_len(src)?;
    let mut entry = LogEntry {
        stream: Stream::Stdout,
        time: DateTime::UNIX_EPOCH,
        line: Vec::new(),
    };
    let mut times = TimeCache::default();
    let mut block = vec![0u8; TAIL_BLOCK];
    // The first record starting at or after `at` and before `hi`: its start, and
    // whether it is past `until`. None when there is none, or it cannot be read whole
    // in one block, or does not parse: the bisection stops there, conservatively.
    let mut record_from = |at: u64, hi: u64| -> Result<Option<(u64, bool)>, LogError> {
        let from = at.saturating_sub(1);
        let take = usize::try_from(hi - from).map_or(TAIL_BLOCK, |n| n.min(TAIL_BLOCK));
        if !read_block(src, &mut block[..take], from)? {
            return Ok(None);
        }
        let start = if at == 0 {
            0
        } else {
            match find_byte(&block[..take], b'\n') {
                Some(k) => from + k as u64 + 1,
                None => return Ok(None),
            }
        };
        if start >= hi {
            return Ok(None);
        }
        let take = usize::try_from(len - start).map_or(TAIL_BLOCK, |n| n.min(TAIL_BLOCK));
        if !read_block(src, &mut block[..take], start)? {
            return Ok(None);
        }
        let Some(end) = find_byte(&block[..take], b'\n') else {
            return Ok(None);
        };
        if !parse_record(&block[..end], &mut entry, &mut times) {
            return Ok(None);
        }
        Ok(Some((start, entry.time > until)))
    };
    // Records starting before `lo` are not past `until`; the one at `hi` is (or `hi`
    // is the end).
    let (mut lo, mut hi) = (0u64, len);
    while hi - lo > TAIL_BLOCK as u64 {
        let mid = lo + (hi - lo) / 2;
        match record_from(mid, hi)? {
            Some((start, true)) => hi = start,
            Some((start, false)) => lo = start + 1,
            None => break,
        }
    }
    Ok(hi)
}

/// Walks backwards from the end of the newest file (then older ones, only if
/// needed) and returns (file index, offset) of the first of the last `n`
/// matching records; (0, 0) if there are fewer. With `until`, each file's walk
/// starts where its records pass `until` ([`until_end`]).
fn tail_start(
    files: &[Src],
    n: usize,
    filter: &Filter,
    entry: &mut LogEntry,
) -> Result<(usize, u64), LogError> {
    let mut count = 0usize;
    let mut times = TimeCache::default();
    let mut matches = |line: &[u8]| {
        parse_record(line, entry, &mut times)
            && filter.matches_head(entry)
            && !filter.past_until(entry)
    };
    let mut block: Vec<u8> = Vec::with_capacity(TAIL_BLOCK);
    // Bytes from a line's (not yet seen) start up to and including its '\n'.
    let mut carry: Vec<u8> = Vec::new();
    for (idx, src) in files.iter().enumerate().rev() {
        let mut pos = match filter.until {
            Some(until) => until_end(src, until)?,
            None => file_len(src)?,
        };
        carry.clear();
        // Anything after the last '\n' is an incomplete record: ignore it.
        let mut seen_newline = false;
        while pos > 0 {
            let take = TAIL_BLOCK.min(usize::try_from(pos).unwrap_or(TAIL_BLOCK));
            pos -= take as u64;
            block.clear();
            block.resize(take, 0);
            if !read_block(src, &mut block, pos)? {
                // Truncated under us (max-file=1 rotation): read it whole.
                return Ok((idx, 0));
            }
            block.extend_from_slice(&carry);
            let mut hi = block.len();
            if !seen_newline {
                match rfind_byte(&block, b'\n') {
                    Some(k) => {
                        hi = k + 1;
                        seen_newline = true;
                    }
                    None => {
                        carry.clear();
                        continue;
                    }
                }
            }
            // block[..hi] ends with the '\n' of the line being looked at.
            loop {
                match rfind_byte(&block[..hi - 1], b'\n') {
                    Some(j) => {
                        if matches(&block[j + 1..hi - 1]) {
                            count += 1;
                            if count == n {
                                return Ok((idx, pos + j as u64 + 1));
                            }
                        }
                        hi = j + 1;
                    }
                    None => {
                        carry.clear();
                        carry.extend_from_slice(&block[..hi]);
                        break;
                    }
                }
            }
            if carry.len() > MAX_LINE {
                // Corrupt giant line: drop it and resynchronise on the
                // previous newline.
                carry.clear();
                seen_newline = false;
            }
        }
        if !carry.is_empty() && matches(&carry[..carry.len() - 1]) {
            count += 1;
            if count == n {
                return Ok((idx, 0));
            }
        }
    }
    Ok((0, 0))
}

/// Waits for changes in the log's directory: inotify when available (instant
/// wake-up), plain sleeping otherwise; never longer than FOLLOW_POLL_MS.
struct Waiter {
    fd: Option<OwnedFd>,
}

impl Waiter {
    fn new(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let Ok(cdir) = CString::new(dir.as_os_str().as_bytes()) else {
            return Waiter { fd: None };
        };
        // SAFETY: plain syscall with constant flags; result checked below.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Waiter { fd: None };
        }
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mask = libc::IN_MODIFY
            | libc::IN_CREATE
            | libc::IN_MOVED_TO
            | libc::IN_MOVED_FROM
            | libc::IN_DELETE
            | libc::IN_CLOSE_WRITE;
        // SAFETY: valid fd and NUL-terminated path that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cdir.as_ptr(), mask) };
        Waiter {
            fd: (wd >= 0).then_some(fd),
        }
    }

    fn wait(&self) {
        let Some(fd) = &self.fd else {
            std::thread::sleep(Duration::from_millis(FOLLOW_POLL_MS as u64));
            return;
        };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let r = unsafe { libc::poll(&mut pfd, 1, FOLLOW_POLL_MS) };
        if r > 0 {
            // Drain queued events; we re-check the files anyway.
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: buffer pointer/len from a live stack array.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
            }
        }
    }
}

/// Every matching record, across rotated files, oldest first.
/// With `tail`, reads backwards from the end and touches older files only if
/// the newest does not hold enough records.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Vec<LogEntry>, LogError> {
    let mut out = Vec::new();
    stream(path, opts, false, &|| false, &mut |e| {
        out.push(e.clone());
        Ok(())
    })?;
    Ok(out)
}

/// Streams matching records to `sink` without collecting them. With
/// `follow`, keeps waiting for new records (across rotations) until
/// `keep_following()` is false and nothing more is readable, or `until`
/// has passed. A sink failing with BrokenPipe ends the stream with Ok.
pub fn stream(
    path: &Path,
    opts: &ReadOptions,
    follow: bool,
    keep_following: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
) -> Result<(), LogError> {
    let filter = Filter::new(opts);
    let mut entry = LogEntry {
        stream: Stream::Stdout,
        time: DateTime::UNIX_EPOCH,
        line: Vec::with_capacity(512),
    };
    let files = open_set(path)?;
    let (start_idx, start_off) = match (opts.tail, files.len()) {
        (_, 0) | (None, _) => (0, 0),
        (Some(0), n) => (n - 1, end_boundary(&files[n - 1])?),
        (Some(t), _) => tail_start(&files, t, &filter, &mut entry)?,
    };
    let mut reader = Reader::new();
    let mut cur: Option<Src> = None;
    let count = files.len();
    for (idx, src) in files.into_iter().enumerate().skip(start_idx) {
        reader.reset(if idx == start_idx { start_off } else { 0 });
        let newest = idx + 1 == count;
        // Without follow, stop at the size seen now rather than chase a
        // writer that keeps appending.
        let limit = if newest && !follow {
            Some(file_len(&src)?)
        } else {
            None
        };
        if reader.pump(&src, limit, &filter, &mut entry, sink)?.0 == Flow::Stop {
            return Ok(());
        }
        if newest {
            cur = Some(src);
        }
    }
    if !follow {
        return Ok(());
    }
    follow_loop(path, cur, reader, &filter, &mut entry, keep_following, sink)
}

fn follow_loop(
    path: &Path,
    mut cur: Option<Src>,
    mut reader: Reader,
    filter: &Filter,
    entry: &mut LogEntry,
    keep_following: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(&LogEntry) -> io::Result<()>,
) -> Result<(), LogError> {
    let waiter = Waiter::new(path);
    loop {
        // Sampled before reading: anything written before the caller said
        // stop is still delivered.
        let keep = keep_following();
        let mut progressed = false;
        match &cur {
            None => {
                // No file yet (container never wrote) or mid-rotation.
                if let Some(s) = open_src(path)? {
                    reader.reset(0);
                    cur = Some(s);
                    progressed = true;
                }
            }
            Some(src) => {
                let (flow, n) = reader.pump(src, None, filter, entry, sink)?;
                if flow == Flow::Stop {
                    return Ok(());
                }
                progressed |= n > 0;
                match fs::metadata(path) {
                    Ok(m) if (m.dev(), m.ino()) == src.id => {
                        if m.len() < reader.offset {
                            // Truncated in place (max-file=1 rotation).
                            reader.reset(0);
                            progressed = true;
                        }
                    }
                    Ok(_) => {
                        // Rotated. The writer flushes before renaming, but
                        // catch whatever landed after our last read.
                        if reader.pump(src, None, filter, entry, sink)?.0 == Flow::Stop {
                            return Ok(());
                        }
                        let set = open_set(path)?;
                        // Files newer than ours; if ours was already deleted
                        // (max-file reached) every remaining one is newer.
                        let from = set.iter().position(|s| s.id == src.id).map_or(0, |p| p + 1);
                        let mut newer: Vec<Src> = set.into_iter().skip(from).collect();
                        let last = newer.pop();
                        for s in &newer {
                            reader.reset(0);
                            if reader.pump(s, None, filter, entry, sink)?.0 == Flow::Stop {
                                return Ok(());
                            }
                        }
                        if let Some(s) = last {
                            reader.reset(0);
                            cur = Some(s);
                            progressed = true;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("inspecting log file", path)(e)),
                }
            }
        }
        if progressed {
            continue;
        }
        if !keep || filter.until.is_some_and(|u| Utc::now() > u) {
            return Ok(());
        }
        waiter.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    fn all() -> ReadOptions {
        ReadOptions::default()
    }

    fn texts(entries: &[LogEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.line).into_owned())
            .collect()
    }

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A record exactly as Docker would store it, with a chosen time.
    fn record(log: &str, stream: &str, time: &str) -> String {
        let mut v = Vec::new();
        escape_into(&mut v, log.as_bytes());
        format!(
            "{{\"log\":\"{}\",\"stream\":\"{stream}\",\"time\":\"{time}\"}}\n",
            String::from_utf8(v).unwrap()
        )
    }

    fn files_present(path: &Path) -> Vec<PathBuf> {
        let mut v = Vec::new();
        if path.exists() {
            v.push(path.to_path_buf());
        }
        for n in rotated_numbers(path).unwrap() {
            v.push(numbered(path, n));
        }
        v
    }

    #[test]
    fn round_trip_interleaved_streams() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"out 1\nout 2\n").unwrap();
        w.write(Stream::Stderr, b"err 1\n").unwrap();
        w.write(Stream::Stdout, b"out 3\n").unwrap();
        drop(w);
        let raw = fs::read_to_string(&p).unwrap();
        let first = raw.lines().next().unwrap();
        assert!(
            first.starts_with(r#"{"log":"out 1\n","stream":"stdout","time":""#),
            "{first}"
        );
        assert!(first.ends_with(r#"Z"}"#));
        // The stored time is exactly chrono's RFC3339 reading of itself.
        let t = &first[first.find(r#""time":""#).unwrap() + 8..first.len() - 2];
        assert_eq!(parse_rfc3339(t.as_bytes()), Some(ts(t)));

        let e = read(&p, &all()).unwrap();
        assert_eq!(texts(&e), ["out 1\n", "out 2\n", "err 1\n", "out 3\n"]);
        let streams: Vec<Stream> = e.iter().map(|e| e.stream).collect();
        use Stream::*;
        assert_eq!(streams, [Stdout, Stdout, Stderr, Stdout]);
        assert!(e.windows(2).all(|w| w[0].time <= w[1].time));

        let only_err = ReadOptions {
            stdout: false,
            ..all()
        };
        assert_eq!(texts(&read(&p, &only_err).unwrap()), ["err 1\n"]);
        let only_out = ReadOptions {
            stderr: false,
            tail: Some(2),
            ..all()
        };
        assert_eq!(texts(&read(&p, &only_out).unwrap()), ["out 2\n", "out 3\n"]);
    }

    #[test]
    fn partial_lines_across_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"hel").unwrap();
        w.write(Stream::Stderr, b"E").unwrap();
        w.write(Stream::Stdout, b"lo\nwor").unwrap();
        w.write(Stream::Stderr, b"RR\n").unwrap();
        w.write(Stream::Stdout, b"ld\n").unwrap();
        w.write(Stream::Stdout, b"\n").unwrap();
        w.write(Stream::Stdout, b"no newline at end").unwrap();
        // Nothing of the unterminated line is on disk yet.
        assert_eq!(read(&p, &all()).unwrap().len(), 4);
        w.flush_partial().unwrap();
        w.flush_partial().unwrap(); // idempotent
        let e = read(&p, &all()).unwrap();
        assert_eq!(
            texts(&e),
            ["hello\n", "ERR\n", "world\n", "\n", "no newline at end"]
        );
        assert_eq!(e[1].stream, Stream::Stderr);
    }

    #[test]
    fn long_line_split_into_partial_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        let line: Vec<u8> = (0..40 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
        // Fed in odd-sized pieces like a pipe would.
        for chunk in line.chunks(3000) {
            w.write(Stream::Stdout, chunk).unwrap();
        }
        w.write(Stream::Stdout, b"\nshort\n").unwrap();
        let e = read(&p, &all()).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].line.len(), MAX_RECORD_CONTENT);
        assert_eq!(e[1].line.len(), MAX_RECORD_CONTENT);
        assert_eq!(*e[2].line.last().unwrap(), b'\n');
        assert!(e[..2].iter().all(|x| !x.line.contains(&b'\n')));
        assert!(
            e[..3].iter().all(|x| x.time == e[0].time),
            "chunks share a timestamp"
        );
        let joined: Vec<u8> = e[..3].iter().flat_map(|x| x.line.clone()).collect();
        assert_eq!(&joined[..line.len()], &line[..]);
        assert_eq!(joined.len(), line.len() + 1);
        assert_eq!(e[3].line, b"short\n");

        // Written in one call, with 2-byte characters straddling the 16 KiB cut.
        let mut wide = b"x".to_vec();
        wide.extend("é".repeat(20_000).as_bytes());
        wide.push(b'\n');
        w.write(Stream::Stderr, &wide).unwrap();
        let e = read(&p, &all()).unwrap();
        let chunks = &e[4..];
        assert!(chunks.len() >= 3);
        for c in chunks {
            assert!(c.line.len() <= MAX_RECORD_CONTENT + 1);
            assert!(std::str::from_utf8(&c.line).is_ok(), "no char split");
        }
        let joined: Vec<u8> = chunks.iter().flat_map(|x| x.line.clone()).collect();
        assert_eq!(joined, wide);
    }

    #[test]
    fn go_escaping_matches_docker() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        let mut input =
            b"<a href=\"x\">&\\\t\r\x01\x7f \xe2\x80\xa8\xe2\x80\xa9 \xc3\xa9 \xf0\x9f\x90\xb3 "
                .to_vec();
        input.extend_from_slice(b"\xff\xe2\x82 end\n");
        w.write(Stream::Stdout, &input).unwrap();
        drop(w);
        let raw = fs::read_to_string(&p).unwrap();
        let expected = concat!(
            r#"{"log":"\u003ca href=\"x\"\u003e\u0026\\\u0009\r\u0001"#,
            "\x7f \\u2028\\u2029 é 🐳 \\ufffd\\ufffd\\ufffd end\\n\",\"stream\":\"stdout\""
        );
        assert!(raw.starts_with(expected), "{raw}");
        // serde_json agrees with our reading of it.
        let v: serde_json::Value = serde_json::from_str(raw.trim_end()).unwrap();
        let e = read(&p, &all()).unwrap();
        assert_eq!(e[0].line, v["log"].as_str().unwrap().as_bytes());
        assert!(e[0].line.starts_with(b"<a href=\"x\">&\\\t\r\x01"));
    }

    #[test]
    fn time_formatting() {
        let t = ts("2024-01-02T03:04:05.120000000Z");
        assert_eq!(format_time(&t, false).as_str(), "2024-01-02T03:04:05.12Z");
        assert_eq!(
            timestamp_fixed(&t).as_str(),
            "2024-01-02T03:04:05.120000000Z"
        );
        let t = ts("1999-12-31T23:59:59Z");
        assert_eq!(format_time(&t, false).as_str(), "1999-12-31T23:59:59Z");
        assert_eq!(
            timestamp_fixed(&t).as_str(),
            "1999-12-31T23:59:59.000000000Z"
        );
        // Sweep across many dates against chrono.
        let mut secs = -100_000_000_i64;
        while secs < 5_000_000_000 {
            let t = DateTime::from_timestamp(secs, 123_456_789).unwrap();
            let ours = timestamp_fixed(&t);
            assert_eq!(
                ours.as_str(),
                t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
            );
            assert_eq!(parse_rfc3339(ours.as_bytes()), Some(t));
            secs += 86_399 * 37 + 1234;
        }
        assert_eq!(
            parse_rfc3339(b"2024-01-02T04:04:05.5+01:00"),
            Some(ts("2024-01-02T03:04:05.5Z"))
        );
        assert_eq!(parse_rfc3339(b"2024-02-30T04:04:05Z"), None);
        assert_eq!(parse_rfc3339(b"2024-01-02T04:04:05"), None);
    }

    #[test]
    fn rotation_respects_max_file_and_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(1000),
            max_file: 3,
        };
        let mut w = LogWriter::open(&p, opts).unwrap();
        for i in 0..300 {
            w.write(Stream::Stdout, format!("line {i:05}\n").as_bytes())
                .unwrap();
            let present = files_present(&p);
            assert!(present.len() <= 3, "{present:?}");
            // Docker lets a file exceed max-size by at most one record.
            assert!(fs::metadata(&p).unwrap().len() < 1000 + 100);
        }
        assert_eq!(files_present(&p).len(), 3);
        assert!(!numbered(&p, 3).exists());

        let e = read(&p, &all()).unwrap();
        let nums: Vec<u32> = texts(&e)
            .iter()
            .map(|t| t.trim_end()[5..].parse().unwrap())
            .collect();
        assert_eq!(*nums.last().unwrap(), 299);
        assert!(
            nums.windows(2).all(|w| w[1] == w[0] + 1),
            "contiguous, in order"
        );
        assert!(nums.len() > 20);

        // Tail crossing the boundary between path.1 and path.
        let newest = read_one_file_count(&p);
        let tail = newest + 5;
        let t = read(
            &p,
            &ReadOptions {
                tail: Some(tail),
                ..all()
            },
        )
        .unwrap();
        assert_eq!(t.len(), tail);
        assert_eq!(texts(&t), texts(&e[e.len() - tail..]));
        // Tail bigger than everything: all of it.
        let t = read(
            &p,
            &ReadOptions {
                tail: Some(100_000),
                ..all()
            },
        )
        .unwrap();
        assert_eq!(t, e);
        // Tail 0: nothing.
        let t = read(
            &p,
            &ReadOptions {
                tail: Some(0),
                ..all()
            },
        )
        .unwrap();
        assert!(t.is_empty());

        // Reopening continues rotating correctly.
        drop(w);
        let mut w = LogWriter::open(&p, opts).unwrap();
        for i in 300..400 {
            w.write(Stream::Stdout, format!("line {i:05}\n").as_bytes())
                .unwrap();
        }
        assert_eq!(files_present(&p).len(), 3);
        let e = read(&p, &all()).unwrap();
        assert_eq!(e.last().unwrap().line, b"line 00399\n");
    }

    fn read_one_file_count(p: &Path) -> usize {
        fs::read_to_string(p).unwrap().lines().count()
    }

    #[test]
    fn max_file_one_truncates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let opts = LogOptions {
            max_size: Some(500),
            max_file: 1,
        };
        let mut w = LogWriter::open(&p, opts).unwrap();
        for i in 0..100 {
            w.write(Stream::Stdout, format!("l{i}\n").as_bytes())
                .unwrap();
        }
        assert_eq!(files_present(&p), vec![p.clone()]);
        let e = read(&p, &all()).unwrap();
        assert_eq!(e.last().unwrap().line, b"l99\n");
        assert!(e.len() < 100);
    }

    #[test]
    fn tail_until_deep_in_a_large_log_matches_a_full_scan() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let base = ts("2024-01-01T00:00:00Z");
        let mut s = String::new();
        // Several TAIL_BLOCKs of file (the bisection has to work), and records three by
        // three at the same time (ties at `until` belong to the page).
        for i in 0..20_000u32 {
            let t = base + chrono::Duration::microseconds(i64::from(i / 3) * 900);
            let stream = if i % 7 == 0 { "stderr" } else { "stdout" };
            s.push_str(&record(
                &format!("line {i} of a long log, padded a bit\n"),
                stream,
                &t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            ));
        }
        fs::write(&p, s).unwrap();
        let everything = read(&p, &all()).unwrap();
        for (until_us, tail) in [
            (0, 5),
            (150, 3),
            (900, 2),
            (2_700_000, 500),
            (5_999_400, 10),
            (7_000_000, 4),
        ] {
            let until = base + chrono::Duration::microseconds(until_us);
            let want: Vec<_> = everything
                .iter()
                .filter(|e| e.time <= until)
                .cloned()
                .collect();
            let want = texts(&want[want.len().saturating_sub(tail)..]);
            let got = read(
                &p,
                &ReadOptions {
                    until: Some(until),
                    tail: Some(tail),
                    ..all()
                },
            )
            .unwrap();
            assert_eq!(texts(&got), want, "until +{until_us}us, tail {tail}");
        }
        // Before the first record: nothing.
        let got = read(
            &p,
            &ReadOptions {
                until: Some(base - chrono::Duration::seconds(1)),
                tail: Some(3),
                ..all()
            },
        )
        .unwrap();
        assert!(got.is_empty());
    }

    #[test]
    fn since_until_filters() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut s = String::new();
        for (i, t) in [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:01.5Z",
            "2024-01-01T00:00:02Z",
            "2024-01-01T00:00:03.000000001Z",
            "2024-01-01T00:00:04Z",
        ]
        .iter()
        .enumerate()
        {
            s.push_str(&record(&format!("r{i}\n"), "stdout", t));
        }
        fs::write(&p, s).unwrap();
        let q = |since: Option<&str>, until: Option<&str>, tail: Option<usize>| {
            texts(
                &read(
                    &p,
                    &ReadOptions {
                        since: since.map(ts),
                        until: until.map(ts),
                        tail,
                        ..all()
                    },
                )
                .unwrap(),
            )
            .join("")
        };
        assert_eq!(
            q(Some("2024-01-01T00:00:01.5Z"), None, None),
            "r1\nr2\nr3\nr4\n"
        );
        assert_eq!(q(None, Some("2024-01-01T00:00:02Z"), None), "r0\nr1\nr2\n");
        assert_eq!(
            q(
                Some("2024-01-01T00:00:01Z"),
                Some("2024-01-01T00:00:03Z"),
                None
            ),
            "r1\nr2\n"
        );
        assert_eq!(q(None, Some("2024-01-01T00:00:03Z"), Some(2)), "r1\nr2\n");
        assert_eq!(q(Some("2024-01-01T00:00:03Z"), None, Some(10)), "r3\nr4\n");
        assert_eq!(q(Some("2030-01-01T00:00:00Z"), None, None), "");
    }

    #[test]
    fn corrupt_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let t = "2024-01-01T00:00:00Z";
        let mut s = record("a\n", "stdout", t);
        s.push_str("garbage that is not json\n");
        s.push_str(&record("b\n", "stderr", t));
        s.push_str(r#"{"log":"half a rec"#); // crash mid-write
        fs::write(&p, &s).unwrap();
        assert_eq!(texts(&read(&p, &all()).unwrap()), ["a\n", "b\n"]);
        let tail1 = ReadOptions {
            tail: Some(1),
            ..all()
        };
        assert_eq!(texts(&read(&p, &tail1).unwrap()), ["b\n"]);

        // The writer terminates the broken record before appending.
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"c\n").unwrap();
        assert_eq!(texts(&read(&p, &all()).unwrap()), ["a\n", "b\n", "c\n"]);
        assert_eq!(texts(&read(&p, &tail1).unwrap()), ["c\n"]);
    }

    #[test]
    fn general_parser_accepts_other_layouts() {
        let mut e = LogEntry {
            stream: Stream::Stdout,
            time: DateTime::UNIX_EPOCH,
            line: Vec::new(),
        };
        // dockerd with --log-opt labels=...: an "attrs" object before "time".
        let line = br#"{"log":"x\u003c\"y\ud83d\udc33\n","stream":"stderr","attrs":{"a":"}{\"","b":[1,{"c":2}]},"time":"2024-01-01T00:00:00.5Z"}"#;
        assert!(parse_record(line, &mut e, &mut TimeCache::default()));
        assert_eq!(e.line, "x<\"y🐳\n".as_bytes());
        assert_eq!(e.stream, Stream::Stderr);
        assert_eq!(e.time, ts("2024-01-01T00:00:00.5Z"));
        let line = br#" { "time" : "2024-01-01T01:00:00+01:00" , "stream":"stdout" } "#;
        assert!(parse_record(line, &mut e, &mut TimeCache::default()));
        assert_eq!(e.line, b"");
        assert_eq!(e.time, ts("2024-01-01T00:00:00Z"));
        for bad in [
            &br#"{"log":"x","stream":"stdout"}"#[..],
            br#"{"log":"x","stream":"other","time":"2024-01-01T00:00:00Z"}"#,
            br#"{"log":"x\q","stream":"stdout","time":"2024-01-01T00:00:00Z"}"#,
            br#"{"log":"x","stream":"stdout","time":"2024-01-01T00:00:00Z"} trailing"#,
            b"",
            b"{",
        ] {
            assert!(
                !parse_record(bad, &mut e, &mut TimeCache::default()),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn broken_pipe_ends_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        for i in 0..10 {
            w.write(Stream::Stdout, format!("{i}\n").as_bytes())
                .unwrap();
        }
        let mut seen = 0;
        stream(&p, &all(), true, &|| true, &mut |_| {
            seen += 1;
            if seen == 3 {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(seen, 3);
        let err = stream(&p, &all(), false, &|| false, &mut |_| {
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }

    #[test]
    fn missing_file_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("nope"), &all()).unwrap().is_empty());
        let err = LogWriter::open(&dir.path().join("no/such/dir/log"), LogOptions::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("no/such/dir/log"), "{err}");
    }

    /// Runs `stream(follow)` on a thread; returns (stop flag, each line as it
    /// arrives, handle → all lines).
    #[allow(clippy::type_complexity)]
    fn follower(
        p: &Path,
        opts: ReadOptions,
    ) -> (
        Arc<AtomicBool>,
        std::sync::mpsc::Receiver<String>,
        std::thread::JoinHandle<Vec<String>>,
    ) {
        let keep = Arc::new(AtomicBool::new(true));
        let k = keep.clone();
        let p = p.to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            let mut got = Vec::new();
            stream(&p, &opts, true, &|| k.load(Ordering::SeqCst), &mut |e| {
                let line = String::from_utf8_lossy(&e.line).into_owned();
                let _ = tx.send(line.clone());
                got.push(line);
                Ok(())
            })
            .unwrap();
            got
        });
        (keep, rx, h)
    }

    #[test]
    fn follow_receives_appended_lines_then_stops() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        for i in 0..5 {
            w.write(Stream::Stdout, format!("old {i}\n").as_bytes())
                .unwrap();
        }
        let (keep, rx, h) = follower(
            &p,
            ReadOptions {
                tail: Some(2),
                ..all()
            },
        );
        // The tail is taken when the follower starts: wait for it.
        for want in ["old 3\n", "old 4\n"] {
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), want);
        }
        for i in 0..50 {
            // Split records across writes so the follower sees half lines.
            w.write(Stream::Stdout, format!("new {i}").as_bytes())
                .unwrap();
            std::thread::sleep(Duration::from_millis(1));
            w.write(Stream::Stdout, b"\n").unwrap();
        }
        keep.store(false, Ordering::SeqCst);
        let started = Instant::now();
        let got = h.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        let mut want = vec!["old 3\n".to_string(), "old 4\n".to_string()];
        want.extend((0..50).map(|i| format!("new {i}\n")));
        assert_eq!(got, want);
    }

    #[test]
    fn follow_waits_for_file_and_survives_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        // Follower starts before the file exists.
        let (keep, _rx, h) = follower(&p, all());
        std::thread::sleep(Duration::from_millis(20));
        // Enough files that a follower slowed down by a loaded machine is never more
        // than max-file rotations behind (then lines are lost, in Docker too).
        let opts = LogOptions {
            max_size: Some(600),
            max_file: 100,
        };
        let mut w = LogWriter::open(&p, opts).unwrap();
        let n = 400;
        for i in 0..n {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
            if i % 4 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        keep.store(false, Ordering::SeqCst);
        let got = h.join().unwrap();
        let want: Vec<String> = (0..n).map(|i| format!("line {i}\n")).collect();
        assert_eq!(got, want);
        assert!(files_present(&p).len() > 3, "the log rotated");
    }

    #[test]
    fn follow_across_max_file_one_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let opts = LogOptions {
            max_size: Some(2000),
            max_file: 1,
        };
        let mut w = LogWriter::open(&p, opts).unwrap();
        let (keep, _rx, h) = follower(&p, all());
        std::thread::sleep(Duration::from_millis(20));
        for i in 0..200 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
            std::thread::sleep(Duration::from_micros(500));
        }
        keep.store(false, Ordering::SeqCst);
        let got = h.join().unwrap();
        // Truncation can race with the follower, but what it got is in order
        // and ends with the last line.
        assert_eq!(got.last().map(String::as_str), Some("line 199\n"));
        let nums: Vec<u32> = got
            .iter()
            .map(|t| t.trim_end()[5..].parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
    }

    #[test]
    fn follow_stops_at_until() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"a\n").unwrap();
        let opts = ReadOptions {
            until: Some(Utc::now() + TimeDelta::milliseconds(100)),
            ..all()
        };
        let started = Instant::now();
        let mut got = 0;
        stream(&p, &opts, true, &|| true, &mut |_| {
            got += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(got, 1);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn log_options_parse() {
        let m = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = |pairs: &[(&str, &str)]| LogOptions::parse(&m(pairs)).unwrap();
        let err = |pairs: &[(&str, &str)]| LogOptions::parse(&m(pairs)).unwrap_err().to_string();
        assert_eq!(ok(&[]), LogOptions::default());
        assert_eq!(
            ok(&[("max-size", "10m"), ("max-file", "3")]),
            LogOptions {
                max_size: Some(10_000_000),
                max_file: 3
            }
        );
        assert_eq!(ok(&[("max-size", "10k")]).max_size, Some(10_000));
        assert_eq!(ok(&[("max-size", "1g")]).max_size, Some(1_000_000_000));
        assert_eq!(ok(&[("max-size", "1.5MB")]).max_size, Some(1_500_000));
        assert_eq!(ok(&[("max-size", "2 KiB")]).max_size, Some(2_000));
        assert_eq!(ok(&[("max-size", "123")]).max_size, Some(123));
        assert_eq!(
            ok(&[("max-size", "1m"), ("tag", "x"), ("compress", "false")]).max_file,
            1
        );
        assert_eq!(
            err(&[("max-file", "3")]),
            "max-file can only be used with max-size"
        );
        assert!(err(&[("max-size", "10x")]).contains("max-size"));
        assert!(err(&[("max-size", "0")]).contains("positive"));
        assert!(err(&[("max-size", "")]).contains("max-size"));
        assert!(err(&[("max-size", "1m"), ("max-file", "0")]).contains("less than 1"));
        assert!(err(&[("max-size", "1m"), ("max-file", "x")]).contains("max-file"));
        assert_eq!(
            err(&[("foo", "1")]),
            "unknown log opt 'foo' for json-file log driver"
        );
        assert!(
            err(&[("max-size", "1m"), ("max-file", "2"), ("compress", "true")])
                .contains("compress")
        );
    }

    #[test]
    fn parse_time_arg_table() {
        let now = ts("2024-06-01T12:00:00Z");
        let local = |y, mo, d, h, mi, s, ns| {
            Local
                .from_local_datetime(
                    &NaiveDate::from_ymd_opt(y, mo, d)
                        .unwrap()
                        .and_hms_nano_opt(h, mi, s, ns)
                        .unwrap(),
                )
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
        };
        let cases: Vec<(&str, DateTime<Utc>)> = vec![
            ("10m", ts("2024-06-01T11:50:00Z")),
            ("1h30m", ts("2024-06-01T10:30:00Z")),
            ("90s", ts("2024-06-01T11:58:30Z")),
            ("1.5h", ts("2024-06-01T10:30:00Z")),
            ("500ms", ts("2024-06-01T11:59:59.5Z")),
            ("-1h", ts("2024-06-01T13:00:00Z")),
            ("0", ts("1970-01-01T00:00:00Z")),
            ("1700000000", ts("2023-11-14T22:13:20Z")),
            ("1700000000.5", ts("2023-11-14T22:13:20.5Z")),
            ("1700000000.000000001", ts("2023-11-14T22:13:20.000000001Z")),
            ("2024-01-02T03:04:05Z", ts("2024-01-02T03:04:05Z")),
            (
                "2024-01-02T03:04:05.123456789Z",
                ts("2024-01-02T03:04:05.123456789Z"),
            ),
            ("2024-01-02T03:04:05+02:00", ts("2024-01-02T01:04:05Z")),
            ("2024-01-02T03:04:05.5-01:30", ts("2024-01-02T04:34:05.5Z")),
            ("2024-01-02T03:04Z", ts("2024-01-02T03:04:00Z")),
            ("2024-01-02T03Z", ts("2024-01-02T03:00:00Z")),
            ("2024-01-02Z", ts("2024-01-02T00:00:00Z")),
            ("2024-01-02+01:00", ts("2024-01-01T23:00:00Z")),
            ("2024-01-02T03:04:05", local(2024, 1, 2, 3, 4, 5, 0)),
            (
                "2024-01-02T03:04:05.25",
                local(2024, 1, 2, 3, 4, 5, 250_000_000),
            ),
            ("2024-01-02T03:04", local(2024, 1, 2, 3, 4, 0, 0)),
            ("2024-01-02", local(2024, 1, 2, 0, 0, 0, 0)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_time_arg(input, now).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "yesterday",
            "10x",
            "2024-13-01",
            "2024-01-02T25:00:00Z",
            "1.2.3",
            "12abc",
        ] {
            let e = parse_time_arg(bad, now).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    /// The bench-shaped case: 1e6 lines. Timings are printed, not asserted
    /// (see them with --nocapture; run with --release for real numbers).
    #[test]
    fn million_lines_tail_and_full_read() {
        const N: usize = 1_000_000;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let t0 = Instant::now();
        let mut w = LogWriter::open(&p, LogOptions::default()).unwrap();
        let mut chunk = Vec::with_capacity(64 * 1024);
        for i in 0..N {
            chunk.extend_from_slice(
                format!("log line number {i} with some typical text\n").as_bytes(),
            );
            if chunk.len() > 60_000 || i + 1 == N {
                w.write(Stream::Stdout, &chunk).unwrap();
                chunk.clear();
            }
        }
        drop(w);
        let size = fs::metadata(&p).unwrap().len();
        eprintln!(
            "write 1e6 lines: {:?} ({} MB)",
            t0.elapsed(),
            size / 1_000_000
        );

        let t0 = Instant::now();
        let tail = read(
            &p,
            &ReadOptions {
                tail: Some(10),
                ..all()
            },
        )
        .unwrap();
        eprintln!("tail 10: {:?}", t0.elapsed());
        let want: Vec<String> = (N - 10..N)
            .map(|i| format!("log line number {i} with some typical text\n"))
            .collect();
        assert_eq!(texts(&tail), want);

        // What `logs` does: stream into a big BufWriter (here onto /dev/null).
        let t0 = Instant::now();
        let mut out = io::BufWriter::with_capacity(1 << 20, File::create("/dev/null").unwrap());
        let mut n = 0usize;
        stream(&p, &all(), false, &|| false, &mut |e| {
            n += 1;
            out.write_all(&e.line)
        })
        .unwrap();
        out.flush().unwrap();
        eprintln!("stream 1e6 to /dev/null: {:?}", t0.elapsed());
        assert_eq!(n, N);

        let t0 = Instant::now();
        let all_entries = read(&p, &all()).unwrap();
        eprintln!("read() 1e6 into Vec: {:?}", t0.elapsed());
        assert_eq!(all_entries.len(), N);
        assert_eq!(all_entries[N - 1].line, want[9].as_bytes());
    }
}
