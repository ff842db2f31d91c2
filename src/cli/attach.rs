//! The client side of an attach session (`run`, `start -a`, `attach`, `exec`): our
//! stdin into the container (with Docker's detach keys), its output to ours, terminal
//! raw mode and window size, and the exit code at the end.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::termios::{self, SetArg, Termios};

use crate::engine::runtime::attach::{self, AttachClient};

/// Docker's default detach sequence: Ctrl-P Ctrl-Q.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Passes a signal berth received on to the container (docker's --sig-proxy).
pub type SignalProxy = Box<dyn Fn(i32) + Send>;

pub struct SessionOptions {
    /// Forward our stdin.
    pub stdin: bool,
    /// The container has a terminal: put ours in raw mode and forward its size.
    pub tty: bool,
    pub detach_keys: Vec<u8>,
    /// Without a terminal, Ctrl-C and friends go to the container instead of ending us.
    pub sig_proxy: Option<SignalProxy>,
}

/// The signals docker's CLI proxies (all but those it cannot catch or uses itself).
const PROXIED: [nix::sys::signal::Signal; 6] = [
    nix::sys::signal::Signal::SIGINT,
    nix::sys::signal::Signal::SIGTERM,
    nix::sys::signal::Signal::SIGHUP,
    nix::sys::signal::Signal::SIGQUIT,
    nix::sys::signal::Signal::SIGUSR1,
    nix::sys::signal::Signal::SIGUSR2,
];

/// Forwards proxied signals, read from a signalfd, to the container.
fn proxy_signals(proxy: SignalProxy) {
    use nix::sys::signal::SigSet;
    use nix::sys::signalfd::SignalFd;
    let mut set = SigSet::empty();
    for s in PROXIED {
        set.add(s);
    }
    let Ok(sfd) = SignalFd::new(&set) else {
        return;
    };
    while let Ok(Some(info)) = sfd.read_signal() {
        proxy(info.ssi_signo as i32);
    }
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Detached,
    /// The monitor went away without an exit code.
    Lost,
}

/// Parses Docker's `--detach-keys` ("ctrl-p,ctrl-q", "a,ctrl-@", ...).
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    let mut keys = Vec::new();
    for part in spec.split(',') {
        let p = part.trim();
        let bad = || format!("Invalid detach keys ({spec}) provided: {p:?} is not a key");
        if let Some(k) = p.strip_prefix("ctrl-") {
            let c = match k.as_bytes() {
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(bad()),
            };
            keys.push(c);
        } else if p.len() == 1 && p.is_ascii() {
            keys.push(p.as_bytes()[0]);
        } else {
            return Err(bad());
        }
    }
    Ok(keys)
}

/// Finds the detach sequence in a byte stream: bytes that could start it are held
/// back until it is clear whether they do.
pub struct DetachMatcher {
    keys: Vec<u8>,
    held: usize,
}

impl DetachMatcher {
    pub fn new(keys: Vec<u8>) -> DetachMatcher {
        DetachMatcher { keys, held: 0 }
    }

    /// The bytes to forward, and whether the sequence was completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    return (out, true);
                }
                continue;
            }
            // Not the sequence after all: release what was held, then look again at b.
            out.extend_from_slice(&self.keys[..self.held]);
            self.held = 0;
            if b == self.keys[0] {
                self.held = 1;
                if self.keys.len() == 1 {
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

/// Puts a terminal in raw mode until dropped.
struct RawMode {
    fd: i32,
    saved: Termios,
}

impl RawMode {
    fn enable(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: the fd is our stdin, open for the life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &self.saved);
    }
}

/// The size of the terminal on `fd`, when it is one.
pub fn window_size(fd: i32) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd) == 1 }
}

/// Forwards terminal resizes (SIGWINCH, read from a signalfd) as resize frames.
fn watch_resizes(mut client: AttachClient) {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::SignalFd;
    let mut set = SigSet::empty();
    set.add(Signal::SIGWINCH);
    // Blocked here and in this thread; the main thread blocked it before spawning us.
    let Ok(sfd) = SignalFd::new(&set) else {
        return;
    };
    while let Ok(Some(_)) = sfd.read_signal() {
        if let Some((rows, cols)) = window_size(libc::STDOUT_FILENO) {
            if client.resize(rows, cols).is_err() {
                return;
            }
        }
    }
}

/// Runs the session until the container exits, we detach, or the monitor goes away.
pub fn session(mut client: AttachClient, opts: SessionOptions) -> io::Result<Ended> {
    let stdin_fd = io::stdin().as_fd().as_raw_fd();
    let _raw = if opts.tty && is_terminal(stdin_fd) {
        RawMode::enable(io::stdin().as_fd())
    } else {
        None
    };
    if opts.tty {
        if let Some((rows, cols)) = window_size(libc::STDOUT_FILENO) {
            let _ = client.resize(rows, cols);
        }
        let mut set = nix::sys::signal::SigSet::empty();
        set.add(nix::sys::signal::Signal::SIGWINCH);
        if set.thread_block().is_ok() {
            let c = client.try_clone()?;
            std::thread::spawn(move || watch_resizes(c));
        }
    }
    if let Some(proxy) = opts.sig_proxy {
        let mut set = nix::sys::signal::SigSet::empty();
        for s in PROXIED {
            set.add(s);
        }
        // Blocked before any thread starts, so only the signalfd sees them.
        if set.thread_block().is_ok() {
            std::thread::spawn(move || proxy_signals(proxy));
        }
    }
    let detached = Arc::new(AtomicBool::new(false));
    if opts.stdin {
        let mut c = client.try_clone()?;
        let flag = Arc::clone(&detached);
        let keys = opts.detach_keys.clone();
        std::thread::spawn(move || forward_stdin(&mut c, keys, &flag));
    }
    let stdout = io::stdout();
    let stderr = io::stderr();
    loop {
        let frame = match client.next_frame() {
            Ok(f) => f,
            Err(_) if detached.load(Ordering::SeqCst) => return Ok(Ended::Detached),
            Err(e) => return Err(e),
        };
        match frame {
            None if detached.load(Ordering::SeqCst) => return Ok(Ended::Detached),
            None => return Ok(Ended::Lost),
            Some((attach::STDOUT, data)) => {
                let mut o = stdout.lock();
                o.write_all(&data)?;
                o.flush()?;
            }
            Some((attach::STDERR, data)) => {
                let mut e = stderr.lock();
                e.write_all(&data)?;
                e.flush()?;
            }
            Some((attach::EXIT, code)) => {
                let code = String::from_utf8_lossy(&code).trim().parse().unwrap_or(255);
                return Ok(Ended::Exited(code));
            }
            Some(_) => {}
        }
    }
}

fn forward_stdin(client: &mut AttachClient, keys: Vec<u8>, detached: &AtomicBool) {
    let mut matcher = DetachMatcher::new(keys);
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin = io::stdin().lock();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if n == 0 {
            let _ = client.close_stdin();
            return;
        }
        let (data, detach) = matcher.feed(&buf[..n]);
        if !data.is_empty() && client.send_stdin(&data).is_err() {
            return;
        }
        if detach {
            detached.store(true, Ordering::SeqCst);
            client.shutdown();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_like_docker() {
        assert_eq!(
            parse_detach_keys(DEFAULT_DETACH_KEYS).unwrap(),
            vec![16, 17]
        );
        assert_eq!(parse_detach_keys("a,ctrl-@").unwrap(), vec![b'a', 0]);
        assert!(parse_detach_keys("ctrl-").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }

    #[test]
    fn matcher_holds_a_prefix_and_releases_it() {
        let mut m = DetachMatcher::new(vec![16, 17]);
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(m.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
        let mut none = DetachMatcher::new(Vec::new());
        assert_eq!(none.feed(b"\x10\x11"), (b"\x10\x11".to_vec(), false));
    }
}
