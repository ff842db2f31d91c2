//! Work inside a container's network namespace, done from a short-lived child so the
//! monitor itself stays in the host's namespace (its attach socket lives there).

use std::os::fd::AsRawFd;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::ForkResult;

use crate::engine::error::{Error, Result};

/// Brings `lo` up in the network namespace of process `pid`, as Docker does for every
/// container with its own namespace (`--network none` included).
pub fn loopback_up(pid: i32) -> Result<()> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| Error::io("opening the container's network namespace", e))?;
    // SAFETY: the monitor is single-threaded; the child only makes syscalls and exits.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            let ok = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).is_ok()
                && set_up("lo");
            // SAFETY: leaving the forked child without the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            _ => Err(Error::Other(
                "bringing up the loopback interface in the container failed".into(),
            )),
        },
        Err(e) => Err(Error::io("forking to set up the network", e.into())),
    }
}

/// SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP on interface `name`.
fn set_up(name: &str) -> bool {
    // SAFETY: a plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: fd was just returned by socket(2) and is ours alone.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return false;
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) == 0
    }
}
