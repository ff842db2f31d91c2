//! PAX extended headers, read and written by length as POSIX specifies.
//!
//! The tar crate splits PAX records on '\n', so a binary xattr value that contains a
//! newline byte (a `security.capability` can) is lost or garbled. To read such records
//! exactly, [`PaxTap`] sits between the tar crate and the stream and keeps the raw bytes
//! of the extension headers that precede each member; [`TapState::take_pax`] parses them
//! here by length.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

const BLOCK: u64 = 512;

/// Extension headers (PAX, GNU long names) may not exceed this between two members. Go's
/// archive/tar, which wrote most layers in the wild, allows 1 MiB per extension header.
const MAX_EXT_BYTES: usize = 2 << 20;

fn align(n: u64) -> u64 {
    n.div_ceil(BLOCK) * BLOCK
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[derive(Default)]
pub(super) struct TapState {
    buf: Vec<u8>,
    /// Absolute stream offset of `buf[0]`.
    buf_start: u64,
    /// Bytes read from the stream so far.
    pos: u64,
    /// Off while a member's data is read: only headers are kept.
    paused: bool,
}

/// Read adapter that records the bytes between members.
pub(super) struct PaxTap<R> {
    inner: R,
    state: Rc<RefCell<TapState>>,
}

impl<R: Read> PaxTap<R> {
    pub(super) fn new(inner: R) -> (Self, Rc<RefCell<TapState>>) {
        let state = Rc::new(RefCell::new(TapState::default()));
        (
            PaxTap {
                inner,
                state: state.clone(),
            },
            state,
        )
    }
}

impl<R: Read> Read for PaxTap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let mut st = self
            .state
            .try_borrow_mut()
            .map_err(|_| io::Error::other("layer tar reader re-entered"))?;
        st.pos += n as u64;
        if !st.paused {
            if st.buf.len() + n > MAX_EXT_BYTES {
                return Err(invalid(format!(
                    "extension headers before the member at offset {} exceed {} bytes",
                    st.buf_start, MAX_EXT_BYTES
                )));
            }
            st.buf.extend_from_slice(&out[..n]);
        }
        Ok(n)
    }
}

/// Extended attributes as (name, value) pairs.
pub(super) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// One PAX record as (key, value).
pub(super) type Record<'a> = (&'a [u8], &'a [u8]);

/// What a member's PAX header says. The tar crate applies `size`, `uid` and `gid` itself
/// unless a record before them had a newline in its value; `uid`/`gid` are therefore read
/// here too, and `size` to detect that case.
#[derive(Default, Debug)]
pub(super) struct Pax {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub mtime: Option<(i64, i64)>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub size: Option<u64>,
    /// `SCHILY.xattr.<name>` records, in archive order.
    pub xattrs: Xattrs,
    /// `GNU.sparse.*` records: PAX sparse files, which the tar crate cannot expand.
    pub sparse: bool,
}

impl TapState {
    /// Parses the PAX header (if any) among the extension headers recorded before the member
    /// whose header starts at `header_pos`, and stops recording until [`Self::resume`].
    pub(super) fn take_pax(&mut self, header_pos: u64) -> io::Result<Pax> {
        self.paused = true;
        let buf = std::mem::take(&mut self.buf);
        let mut raw: Option<&[u8]> = None;
        let mut off = align(self.buf_start);
        while off + BLOCK <= header_pos {
            let i = usize::try_from(off - self.buf_start)
                .map_err(|_| invalid("offset overflow".into()))?;
            let Some(block) = buf.get(i..i + BLOCK as usize) else {
                break;
            };
            let header = tar::Header::from_byte_slice(block);
            let size = header.entry_size()?;
            let end = usize::try_from(size)
                .ok()
                .and_then(|s| (i + BLOCK as usize).checked_add(s));
            if block[156] == b'x' {
                raw = end.and_then(|end| buf.get(i + BLOCK as usize..end));
                if raw.is_none() {
                    return Err(invalid(format!("PAX header at offset {off} is truncated")));
                }
            }
            off = off
                .checked_add(BLOCK + align(size))
                .ok_or_else(|| invalid("size overflow".into()))?;
        }
        let pax = match raw {
            Some(data) => parse(data).map_err(|msg| {
                invalid(format!(
                    "malformed PAX header before the member at offset {header_pos}: {msg}"
                ))
            })?,
            None => Pax::default(),
        };
        // Keep the allocation for the next member.
        self.buf = buf;
        self.buf.clear();
        Ok(pax)
    }

    /// Called once a member's data has been consumed: record the next extension headers.
    pub(super) fn resume(&mut self) {
        self.buf.clear();
        self.buf_start = self.pos;
        self.paused = false;
    }
}

/// Splits PAX records `"<len> <key>=<value>\n"`, where `<len>` counts the whole record.
pub(super) fn records(mut data: &[u8]) -> Result<Vec<Record<'_>>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        // Some writers pad the header data with NULs.
        if data.iter().all(|b| *b == 0) {
            break;
        }
        let sp = data
            .iter()
            .take(20)
            .position(|b| *b == b' ')
            .ok_or("record without a length")?;
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad record length")?;
        if len <= sp + 1 || len > data.len() {
            return Err("record length out of range".into());
        }
        let rec = &data[sp + 1..len];
        let rec = rec
            .strip_suffix(b"\n")
            .ok_or("record not ended by newline")?;
        let eq = rec
            .iter()
            .position(|b| *b == b'=')
            .ok_or("record without '='")?;
        out.push((&rec[..eq], &rec[eq + 1..]));
        data = &data[len..];
    }
    Ok(out)
}

fn parse(data: &[u8]) -> Result<Pax, String> {
    let mut pax = Pax::default();
    for (key, value) in records(data)? {
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.linkpath = Some(value.to_vec()),
            b"mtime" => pax.mtime = parse_time(value),
            b"uid" => pax.uid = Some(parse_num(value)?),
            b"gid" => pax.gid = Some(parse_num(value)?),
            b"size" => pax.size = Some(parse_num(value)?),
            _ => {
                if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                    pax.xattrs.push((name.to_vec(), value.to_vec()));
                } else if key.starts_with(b"GNU.sparse.") {
                    pax.sparse = true;
                }
            }
        }
    }
    Ok(pax)
}

fn parse_num(v: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(v)))
}

/// PAX time: decimal seconds with an optional fraction, e.g. "1700000000.123456789".
fn parse_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(d - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(if !neg {
        (secs, nanos)
    } else if nanos == 0 {
        (-secs, 0)
    } else {
        (-secs - 1, 1_000_000_000 - nanos)
    })
}

/// One PAX record; the length prefix counts its own digits.
pub(super) fn record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn record_lengths_count_themselves() {
        for n in [0usize, 1, 5, 6, 7, 90, 95, 96, 97, 98, 990, 995, 996, 1000] {
            let v = vec![b'v'; n];
            let r = record(b"k", &v);
            let recs = records(&r).expect("parse back");
            assert_eq!(recs, vec![(&b"k"[..], &v[..])], "value length {n}");
        }
    }

    #[test]
    fn binary_values_with_newlines_survive() {
        let v = b"\x01\n\x00\nx";
        let mut data = record(b"SCHILY.xattr.user.bin", v);
        data.extend(record(b"path", b"a\nb"));
        let pax = parse(&data).expect("parse");
        assert_eq!(pax.xattrs, vec![(b"user.bin".to_vec(), v.to_vec())]);
        assert_eq!(pax.path.as_deref(), Some(&b"a\nb"[..]));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(parse_time(b"1.5"), Some((1, 500_000_000)));
        assert_eq!(parse_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_time(b"x"), None);
    }

    #[test]
    fn malformed_records_are_errors() {
        assert!(records(b"5 a=b\n").is_err());
        assert!(records(b"abc").is_err());
        assert!(records(b"99 a=b\n").is_err());
    }
}
