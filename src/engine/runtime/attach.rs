//! The attach protocol between a container's monitor and its clients (the CLI's
//! `run`/`start -a`/`attach`, later the console and the API server).
//!
//! Every message is a frame: an 8-byte header `[kind, 0, 0, 0, len as u32 BE]` and
//! `len` bytes. Output kinds 1 and 2 are Docker's stdcopy stream ids, so the API server
//! can pass frames through unchanged. The monitor listens on an abstract unix socket
//! named after the container (no path-length limit, gone with the process) and only
//! accepts peers running as its own user or root.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use crate::engine::error::{Error, Result};

/// Bytes for the container's stdin (client → monitor).
pub const STDIN: u8 = 0;
/// Container output (monitor → client), Docker's stdcopy ids.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// The container exited; payload: its exit code in ASCII (monitor → client).
pub const EXIT: u8 = 3;
/// New terminal size; payload: rows and columns as u16 BE (client → monitor).
pub const RESIZE: u8 = 4;
/// The client's stdin ended (client → monitor).
pub const CLOSE_STDIN: u8 = 5;

/// Frames larger than this are refused: a bad peer must not make us allocate GiBs.
const MAX_FRAME: usize = 1 << 20;

pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&[kind, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn write_frame<W: Write>(w: &mut W, kind: u8, payload: &[u8]) -> io::Result<()> {
    w.write_all(&encode(kind, payload))
}

/// Reads one frame; Ok(None) at a clean end of stream.
pub fn read_frame<R: Read>(r: &mut R) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("attach frame of {len} bytes is too large"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// Splits complete frames off the front of `buf` (for non-blocking readers).
pub fn take_frames(buf: &mut Vec<u8>) -> std::result::Result<Vec<(u8, Vec<u8>)>, String> {
    let mut frames = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 8 {
        let h = &buf[at..at + 8];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if len > MAX_FRAME {
            return Err(format!("attach frame of {len} bytes is too large"));
        }
        if buf.len() - at - 8 < len {
            break;
        }
        frames.push((h[0], buf[at + 8..at + 8 + len].to_vec()));
        at += 8 + len;
    }
    buf.drain(..at);
    Ok(frames)
}

pub fn resize_payload(rows: u16, cols: u16) -> [u8; 4] {
    let r = rows.to_be_bytes();
    let c = cols.to_be_bytes();
    [r[0], r[1], c[0], c[1]]
}

pub fn parse_resize(p: &[u8]) -> Option<(u16, u16)> {
    (p.len() == 4).then(|| {
        (
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        )
    })
}

fn address(id: &str) -> io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(format!("berth/attach/{id}").as_bytes())
}

/// The monitor's listening socket for `id`.
pub fn listen(id: &str) -> Result<UnixListener> {
    let addr = address(id).map_err(|e| Error::io("naming the attach socket", e))?;
    let l =
        UnixListener::bind_addr(&addr).map_err(|e| Error::io("binding the attach socket", e))?;
    l.set_nonblocking(true)
        .map_err(|e| Error::io("configuring the attach socket", e))?;
    Ok(l)
}

/// True when the peer runs as our own user or as root.
pub fn peer_allowed(s: &UnixStream) -> bool {
    let Ok(cred) = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)
    else {
        return false;
    };
    cred.uid() == 0 || cred.uid() == nix::unistd::geteuid().as_raw()
}

/// A client's connection to a container's monitor.
pub struct AttachClient {
    stream: UnixStream,
}

impl AttachClient {
    /// Connects to the monitor of a running container.
    pub fn connect(id: &str) -> Result<AttachClient> {
        let addr = address(id).map_err(|e| Error::io("naming the attach socket", e))?;
        let stream = UnixStream::connect_addr(&addr).map_err(|e| {
            Error::Conflict(format!(
                "cannot attach to container {id}: its monitor does not answer ({e}); is it running?"
            ))
        })?;
        Ok(AttachClient { stream })
    }

    /// A pair: the client, and the end to hand to a monitor being spawned, which
    /// attaches it before the container starts (so no output is missed).
    pub fn pair() -> Result<(AttachClient, OwnedFd)> {
        let (a, b) = UnixStream::pair().map_err(|e| Error::io("creating the attach socket", e))?;
        Ok((AttachClient { stream: a }, OwnedFd::from(b)))
    }

    pub fn try_clone(&self) -> io::Result<AttachClient> {
        Ok(AttachClient {
            stream: self.stream.try_clone()?,
        })
    }

    pub fn send_stdin(&mut self, data: &[u8]) -> io::Result<()> {
        write_frame(&mut self.stream, STDIN, data)
    }

    pub fn close_stdin(&mut self) -> io::Result<()> {
        write_frame(&mut self.stream, CLOSE_STDIN, &[])
    }

    pub fn resize(&mut self, rows: u16, cols: u16) -> io::Result<()> {
        write_frame(&mut self.stream, RESIZE, &resize_payload(rows, cols))
    }

    /// The next frame from the monitor; None when it hung up.
    pub fn next_frame(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        read_frame(&mut self.stream)
    }

    /// Waits up to `timeout` (None: forever) for the exit frame, skipping output.
    /// Returns false on timeout; true on the exit frame or when the monitor hung up.
    pub fn wait_exit(&mut self, timeout: Option<std::time::Duration>) -> bool {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                    return false;
                }
            }
            match self.next_frame() {
                Ok(Some((EXIT, _))) | Ok(None) => return true,
                Ok(Some(_)) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }

    /// Stops sending (for a detach): the monitor drops us.
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    pub fn raw_fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// The socket itself, for callers that relay frames asynchronously (the API server).
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let mut buf = encode(STDOUT, b"hello");
        buf.extend(encode(EXIT, b"3"));
        buf.extend(&encode(STDIN, b"partial")[..6]);
        let frames = take_frames(&mut buf).unwrap();
        assert_eq!(
            frames,
            vec![(STDOUT, b"hello".to_vec()), (EXIT, b"3".to_vec())]
        );
        assert_eq!(buf.len(), 6, "the incomplete frame stays buffered");
        let mut r = io::Cursor::new(encode(STDERR, b"x"));
        assert_eq!(read_frame(&mut r).unwrap(), Some((STDERR, b"x".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut buf = vec![STDIN, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(take_frames(&mut buf).is_err());
        assert!(read_frame(&mut io::Cursor::new(buf)).is_err());
    }

    #[test]
    fn resize_payload_round_trips() {
        assert_eq!(parse_resize(&resize_payload(40, 120)), Some((40, 120)));
        assert_eq!(parse_resize(b"x"), None);
    }
}
