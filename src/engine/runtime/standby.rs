//! Monitors started ahead of their container's start. `docker run` creates a container
//! and starts it a few milliseconds later; a long-running spawner (the API server)
//! starts the container's monitor at the create, in standby, so the monitor's exec,
//! detach and store open (~4 ms) overlap the client's next requests. A standby monitor
//! is the same `__monitor <id>` process (its command line names the container, as the
//! liveness check wants) that waits on a control socket for the start: the ready pipe
//! and the first attach client come over it as file descriptors. Unused, it exits by
//! itself after [`IDLE_LIMIT`], or as soon as the spawner closes its end.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::engine::error::{Error, Result};
use crate::engine::store::Store;

/// How long a standby monitor waits for its start before it exits.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// A spawner uses a standby only while it is well inside its idle limit, so a start
/// never races the monitor's own exit (the start falls back to a new monitor anyway).
const USE_WITHIN: Duration = Duration::from_secs(20);

/// The spawner's end of a standby monitor.
#[derive(Debug)]
pub struct Standby {
    control: UnixStream,
    since: Instant,
}

/// Spawns the standby monitor of created container `id`. Returns its handle and the
/// spawned process, which exits at once after detaching: the caller reaps it.
pub fn spawn(store: &Store, id: &str) -> Result<(Standby, std::process::Child)> {
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| Error::io("creating a standby monitor's control socket", e))?;
    // Above the fixed fd numbers, so placing it at READY_FD is a real dup2.
    let theirs = {
        let original = theirs;
        super::monitor::above_fixed_fds(&original)?
    };
    let child = super::monitor::spawn_process(store, id, &["__monitor", id, "--standby"], {
        let fd = theirs.as_raw_fd();
        move || super::monitor::dup_to(fd, super::monitor::READY_FD)
    })?;
    drop(theirs);
    Ok((
        Standby {
            control: ours,
            since: Instant::now(),
        },
        child,
    ))
}

impl Standby {
    /// Whether this standby may still take a start.
    pub fn usable(&self) -> bool {
        self.since.elapsed() <= USE_WITHIN
    }

    /// Hands the start over: the monitor reports on `ready` and serves `attach` first.
    /// True once the monitor acknowledged it: from then on the start is its own, even if
    /// it dies before reporting. False when this standby cannot take it (too old, or
    /// gone without taking it): start a new monitor.
    pub fn hand_over(&self, ready: &OwnedFd, attach: Option<&OwnedFd>) -> bool {
        if !self.usable() {
            return false;
        }
        let mut fds = vec![ready.as_raw_fd()];
        fds.extend(attach.map(|a| a.as_raw_fd()));
        let iov = [std::io::IoSlice::new(b"s")];
        let sent = sendmsg::<()>(
            self.control.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        );
        let mut ack = [0u8; 1];
        sent.is_ok() && matches!((&self.control).read(&mut ack), Ok(1))
    }
}

/// The monitor's side: waits up to [`IDLE_LIMIT`] for the start. Returns the ready pipe
/// and, when the starter attached, its client; None when the spawner gave up on us.
pub fn wait_for_start(control: &UnixStream) -> Option<(OwnedFd, Option<OwnedFd>)> {
    let mut pfd = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(control),
        nix::poll::PollFlags::POLLIN,
    )];
    let limit = nix::poll::PollTimeout::try_from(IDLE_LIMIT).ok()?;
    loop {
        match nix::poll::poll(&mut pfd, limit) {
            Ok(0) => return None,
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
    let fds = super::relay::receive_fds(control, "a start").ok()?;
    let mut fds = fds.into_iter();
    let ready = fds.next()?;
    // The spawner waits for this before it counts on us (see Standby::hand_over).
    (&*control).write_all(b"a").ok()?;
    Some((ready, fds.next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_hands_over_the_ready_pipe_and_the_attach_client() {
        let (ours, theirs) = UnixStream::pair().expect("pair");
        let sb = Standby {
            control: ours,
            since: Instant::now(),
        };
        let (rd, wr) = nix::unistd::pipe().expect("pipe");
        let (a, _b) = UnixStream::pair().expect("pair");
        let attach = OwnedFd::from(a);
        let monitor = std::thread::spawn(move || wait_for_start(&theirs));
        assert!(sb.hand_over(&wr, Some(&attach)), "acknowledged");
        let (ready, client) = monitor.join().expect("join").expect("a start");
        assert!(client.is_some(), "the attach client came along");
        // The received end writes into the spawner's pipe.
        nix::unistd::write(&ready, b"ok\n").expect("write");
        let mut buf = [0u8; 3];
        nix::unistd::read(&rd, &mut buf).expect("read");
        assert_eq!(&buf, b"ok\n");
    }

    #[test]
    fn a_closed_spawner_or_an_old_standby_means_no_start() {
        let (ours, theirs) = UnixStream::pair().expect("pair");
        drop(ours);
        assert!(wait_for_start(&theirs).is_none(), "the spawner is gone");
        // A standby that exits without taking the start: no acknowledgement.
        let (ours, theirs) = UnixStream::pair().expect("pair");
        drop(theirs);
        let gone = Standby {
            control: ours,
            since: Instant::now(),
        };
        let (_rd, wr) = nix::unistd::pipe().expect("pipe");
        assert!(!gone.hand_over(&wr, None), "the standby is gone");
        let (ours, _theirs) = UnixStream::pair().expect("pair");
        let old = Standby {
            control: ours,
            since: Instant::now() - USE_WITHIN - Duration::from_secs(1),
        };
        let (_rd, wr) = nix::unistd::pipe().expect("pipe");
        assert!(!old.hand_over(&wr, None), "too close to its idle limit");
    }
}
