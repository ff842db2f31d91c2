//! The monitor's I/O loop: container output into the json-file log and out to every
//! attached client; client input (stdin bytes, terminal resizes) into the container.
//! One single-threaded poll loop, so the monitor never needs threads (it must stay
//! single-threaded for libcontainer's clone on a restart).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::engine::runtime::attach;
use crate::engine::runtime::logs::{LogWriter, Stream};

/// The container's side of the loop.
pub struct ContainerIo {
    /// stdout (a pipe), or the pty master with a terminal.
    pub stdout: OwnedFd,
    /// stderr (a pipe); None with a terminal (it all comes through the pty).
    pub stderr: Option<OwnedFd>,
    /// Where client input goes (a pipe's write end or the pty master); None without -i.
    pub stdin: Option<OwnedFd>,
    /// The pty master, for resizes.
    pub tty: bool,
    /// Close the container's stdin when a client's stdin ends (`docker run -i`).
    pub stdin_once: bool,
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
}

/// The attached clients and the socket new ones arrive on.
#[derive(Default)]
pub struct Hub {
    listener: Option<UnixListener>,
    clients: Vec<Client>,
}

impl Hub {
    pub fn new(listener: Option<UnixListener>) -> Hub {
        Hub {
            listener,
            clients: Vec::new(),
        }
    }

    pub fn add(&mut self, stream: UnixStream) {
        // A client that stops reading must not stall the container forever.
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_nonblocking(false);
        self.clients.push(Client {
            stream,
            inbuf: Vec::new(),
        });
    }

    fn accept(&mut self) {
        let mut new = Vec::new();
        if let Some(l) = &self.listener {
            while let Ok((s, _)) = l.accept() {
                if attach::peer_allowed(&s) {
                    new.push(s);
                }
            }
        }
        for s in new {
            self.add(s);
        }
    }

    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        let frame = attach::encode(kind, data);
        self.clients
            .retain_mut(|c| c.stream.write_all(&frame).is_ok());
    }

    /// Tells every client the exit code and lets them go.
    pub fn finish(&mut self, code: i32) {
        self.broadcast(attach::EXIT, code.to_string().as_bytes());
        self.clients.clear();
    }
}

/// What the loop does with the container's stdin.
struct Input {
    fd: Option<File>,
    pending: Vec<u8>,
    close_when_flushed: bool,
}

impl Input {
    fn push(&mut self, data: &[u8]) {
        if self.fd.is_some() && !self.close_when_flushed {
            self.pending.extend_from_slice(data);
        }
    }

    /// Writes what the container will take now (the fd is non-blocking).
    fn flush(&mut self) {
        let Some(f) = self.fd.as_mut() else { return };
        while !self.pending.is_empty() {
            match f.write(&self.pending) {
                Ok(0) => break,
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // The container closed its stdin: nothing more can go in.
                Err(_) => {
                    self.fd = None;
                    self.pending.clear();
                    return;
                }
            }
        }
        if self.close_when_flushed {
            self.fd = None;
        }
    }
}

fn set_nonblocking(fd: &impl AsRawFd) {
    // SAFETY: fcntl on an fd the caller owns.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// Sets a pty's window size.
pub fn set_winsize(fd: &impl AsRawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct we own.
    unsafe {
        libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws);
    }
}

/// Something else the monitor serves from the same loop (the embedded DNS server).
pub trait Service {
    /// The fds to wait on for input.
    fn fds(&self) -> Vec<std::os::fd::BorrowedFd<'_>>;
    /// `ready[i]` says whether `fds()[i]` has input.
    fn on_ready(&mut self, ready: &[bool]);
    /// Keep looping after the container's output closed (it may still run).
    fn keep_alive(&self) -> bool;
}

/// Runs until the container's output is closed (it exited) and `service` no longer
/// needs the loop. Output also goes to `log` (the container's json-file log; exec
/// sessions have none).
pub fn run(
    mut log: Option<&mut LogWriter>,
    io: ContainerIo,
    hub: &mut Hub,
    mut service: Option<&mut dyn Service>,
) {
    let tty = io.tty;
    let stdin_once = io.stdin_once;
    let mut outputs = [Some(File::from(io.stdout)), io.stderr.map(File::from)];
    for f in outputs.iter().flatten() {
        set_nonblocking(f);
    }
    let mut input = Input {
        fd: io.stdin.map(File::from),
        pending: Vec::new(),
        close_when_flushed: false,
    };
    if let Some(f) = &input.fd {
        set_nonblocking(f);
    }
    let mut buf = vec![0u8; 64 * 1024];
    while outputs.iter().any(Option::is_some) || service.as_ref().is_some_and(|s| s.keep_alive()) {
        // Order of fds in the poll set: outputs, stdin (when it has pending bytes),
        // listener, clients.
        let mut fds: Vec<PollFd> = Vec::new();
        let mut out_idx = Vec::new();
        for (i, f) in outputs.iter().enumerate() {
            if let Some(f) = f {
                out_idx.push(i);
                fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
            }
        }
        let stdin_slot = match (&input.fd, input.pending.is_empty()) {
            (Some(f), false) => {
                fds.push(PollFd::new(f.as_fd(), PollFlags::POLLOUT));
                true
            }
            _ => false,
        };
        let listen_slot = match &hub.listener {
            Some(l) => {
                fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
                true
            }
            None => false,
        };
        for c in &hub.clients {
            fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
        }
        let service_at = fds.len();
        if let Some(s) = service.as_deref() {
            for fd in s.fds() {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if let Some(s) = service.as_deref_mut() {
            s.on_ready(&ready[service_at..]);
        }
        let ready = &ready[..service_at];
        let mut at = 0;
        for i in out_idx {
            if ready[at] {
                read_output(log.as_deref_mut(), hub, &mut outputs[i], i, tty, &mut buf);
            }
            at += 1;
        }
        if stdin_slot {
            if ready[at] {
                input.flush();
            }
            at += 1;
        }
        if listen_slot {
            if ready[at] {
                hub.accept();
            }
            at += 1;
        }
        let client_ready: Vec<bool> = ready[at..].to_vec();
        let mut gone = Vec::new();
        for (ci, is_ready) in client_ready.into_iter().enumerate() {
            if !is_ready || ci >= hub.clients.len() {
                continue;
            }
            let c = &mut hub.clients[ci];
            let n = match c.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                gone.push(ci);
                continue;
            }
            c.inbuf.extend_from_slice(&buf[..n]);
            let frames = match attach::take_frames(&mut c.inbuf) {
                Ok(f) => f,
                Err(_) => {
                    gone.push(ci);
                    continue;
                }
            };
            for (kind, payload) in frames {
                match kind {
                    attach::STDIN => input.push(&payload),
                    attach::CLOSE_STDIN if stdin_once && !tty => input.close_when_flushed = true,
                    attach::RESIZE if tty => {
                        if let (Some((rows, cols)), Some(Some(master))) =
                            (attach::parse_resize(&payload), outputs.first())
                        {
                            set_winsize(master, rows, cols);
                        }
                    }
                    _ => {}
                }
            }
        }
        for ci in gone.into_iter().rev() {
            hub.clients.remove(ci);
        }
        input.flush();
    }
}

fn read_output(
    mut log: Option<&mut LogWriter>,
    hub: &mut Hub,
    slot: &mut Option<File>,
    i: usize,
    tty: bool,
    buf: &mut [u8],
) {
    let stream = if i == 0 {
        Stream::Stdout
    } else {
        Stream::Stderr
    };
    let Some(f) = slot.as_mut() else { return };
    loop {
        let n = match f.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            // A pty master reads EIO once every slave fd is closed: the end.
            Err(_) => 0,
        };
        if n == 0 {
            *slot = None;
            if let Some(log) = log.as_deref_mut() {
                let _ = log.flush_stream(stream);
            }
            return;
        }
        if let Some(log) = log.as_deref_mut() {
            if let Err(e) = log.write(stream, &buf[..n]) {
                eprintln!("monitor: writing the log: {e}");
            }
        }
        let kind = if i == 0 || tty {
            attach::STDOUT
        } else {
            attach::STDERR
        };
        hub.broadcast(kind, &buf[..n]);
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS (a pty master, from libcontainer's
/// init or from an exec'd process).
pub fn receive_fd(sock: &UnixStream) -> crate::engine::error::Result<OwnedFd> {
    receive_fds(sock, "the terminal")?
        .into_iter()
        .next()
        .ok_or_else(|| crate::engine::error::Error::Other("no terminal was received".into()))
}

/// Receives one message and the (up to two) file descriptors sent with it by
/// SCM_RIGHTS, close-on-exec. `what` names them in errors.
pub fn receive_fds(sock: &UnixStream, what: &str) -> crate::engine::error::Result<Vec<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let failed = |e: nix::errno::Errno| {
        crate::engine::error::Error::io(format!("receiving {what}"), e.into())
    };
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut cmsg = nix::cmsg_space!([RawFd; 2]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(failed)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(failed)? {
        if let ControlMessageOwned::ScmRights(got) = c {
            // SAFETY: the kernel just installed these fds for us.
            fds.extend(
                got.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    Ok(fds)
}
