//! A small synchronous rtnetlink client: just the link, address and route requests a
//! bridge network needs. Synchronous on purpose: it runs in the single-threaded monitor,
//! where an async netlink stack (and its threads) cannot go.
//!
//! A netlink socket acts in the network namespace it was created in, so
//! [`Netlink::open_in`] creates one inside a container's namespace and returns to the
//! caller's own namespace at once: no fork, and later requests need no setns.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use crate::engine::error::{Error, Result};

// Message types and flags (linux/rtnetlink.h, linux/netlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

// Link attributes (linux/if_link.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

// Address and route attributes (linux/if_addr.h, linux/rtnetlink.h).
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_OIF: u16 = 4;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;

/// A request being built: header, fixed part, then attributes (nested ones tracked by
/// their start offsets so their lengths can be patched when they close).
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    /// struct ifinfomsg.
    fn ifinfo(mut self, index: i32, flags: u32, change: u32) -> Msg {
        self.ifinfo_body(index, flags, change);
        self
    }

    fn ifinfo_body(&mut self, index: i32, flags: u32, change: u32) {
        self.buf.push(libc::AF_UNSPEC as u8);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes()); // type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn attr_str(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    fn attr_u32(&mut self, kind: u16, v: u32) -> &mut Msg {
        self.attr(kind, &v.to_ne_bytes())
    }

    fn begin(&mut self, kind: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Msg {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// Interface flags (IFF_UP).
const IFF_UP: u32 = libc::IFF_UP as u32;

/// An rtnetlink socket bound to one network namespace.
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// A socket in the caller's current network namespace.
    pub fn open() -> Result<Netlink> {
        // SAFETY: a plain socket(2) call.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(Error::io(
                "opening a netlink socket",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd was just returned by socket(2) and is ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // A receive timeout so a kernel that never answers cannot hang a monitor.
        let tv = libc::timeval {
            tv_sec: 5,
            tv_usec: 0,
        };
        // SAFETY: setsockopt reads the timeval we own.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        Ok(Netlink { fd })
    }

    /// A socket inside the network namespace `ns` (an open /proc/<pid>/ns/net). The
    /// calling thread enters the namespace only for the socket(2) call.
    pub fn open_in(ns: &impl AsFd) -> Result<Netlink> {
        let own = std::fs::File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::io("opening this process's network namespace", e))?;
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::io("entering the container's network namespace", e.into()))?;
        let sock = Netlink::open();
        nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::io("returning to the host's network namespace", e.into()))?;
        sock
    }

    /// Sends one request and waits for its acknowledgement.
    fn request(&self, msg: Msg, what: &str) -> Result<()> {
        let data = msg.finish();
        // SAFETY: sockaddr_nl is plain old data; zeroed means "the kernel".
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: sendto reads the buffer and address we own.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(Error::io(what.to_string(), std::io::Error::last_os_error()));
        }
        let mut buf = vec![0u8; 8192];
        loop {
            // SAFETY: recv writes into the buffer we own, at most its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io(format!("{what}: no answer from the kernel"), e));
            }
            let n = n as usize;
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
                    as usize;
                let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                if len < 16 || off + len > n {
                    break;
                }
                if kind == NLMSG_ERROR && len >= 20 {
                    let code = i32::from_ne_bytes([
                        buf[off + 16],
                        buf[off + 17],
                        buf[off + 18],
                        buf[off + 19],
                    ]);
                    if code == 0 {
                        return Ok(());
                    }
                    return Err(Error::io(
                        what.to_string(),
                        std::io::Error::from_raw_os_error(-code),
                    ));
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Creates a Linux bridge, down, with the given MTU.
    pub fn create_bridge(&self, name: &str, mtu: u32) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL).ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, name).attr_u32(IFLA_MTU, mtu);
        m.begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        self.request(m, &format!("creating the bridge {name}"))
    }

    /// Creates a veth pair: `host_name` here, attached to the bridge `master`, and its
    /// peer `peer_name` directly inside the namespace `peer_ns` (so the peer never
    /// appears in the host's namespace and cannot clash with a host interface's name).
    pub fn create_veth(
        &self,
        host_name: &str,
        master: u32,
        peer_name: &str,
        peer_ns: &impl AsRawFd,
        peer_mac: [u8; 6],
        mtu: u32,
    ) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL).ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, host_name)
            .attr_u32(IFLA_MTU, mtu)
            .attr_u32(IFLA_MASTER, master);
        m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
        m.begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER);
        m.ifinfo_body(0, 0, 0);
        m.attr_str(IFLA_IFNAME, peer_name)
            .attr_u32(IFLA_MTU, mtu)
            .attr(IFLA_ADDRESS, &peer_mac)
            .attr_u32(IFLA_NET_NS_FD, peer_ns.as_raw_fd() as u32);
        m.end().end().end();
        self.request(m, &format!("creating the veth pair {host_name}"))
    }

    /// Sets a link up.
    pub fn set_up(&self, index: u32) -> Result<()> {
        let m = Msg::new(RTM_NEWLINK, 0).ifinfo(index as i32, IFF_UP, IFF_UP);
        self.request(m, &format!("bringing up interface {index}"))
    }

    /// Deletes a link (a veth's peer goes with it).
    pub fn delete_link(&self, index: u32) -> Result<()> {
        let m = Msg::new(RTM_DELLINK, 0).ifinfo(index as i32, 0, 0);
        self.request(m, &format!("deleting interface {index}"))
    }

    /// Adds an IPv4 address with its prefix (and the subnet's broadcast address).
    pub fn add_address(&self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(libc::AF_INET as u8);
        m.buf.push(prefix);
        m.buf.push(0); // flags
        m.buf.push(RT_SCOPE_UNIVERSE);
        m.buf.extend_from_slice(&index.to_ne_bytes());
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        let bcast = Ipv4Addr::from(u32::from(ip) | !mask);
        m.attr(IFA_LOCAL, &ip.octets())
            .attr(IFA_ADDRESS, &ip.octets())
            .attr(IFA_BROADCAST, &bcast.octets());
        self.request(m, &format!("adding the address {ip}/{prefix}"))
    }

    /// Adds the default route through `gateway` on interface `index`.
    pub fn add_default_route(&self, index: u32, gateway: Ipv4Addr) -> Result<()> {
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.extend_from_slice(&[
            libc::AF_INET as u8,
            0, // dst_len: the default route
            0, // src_len
            0, // tos
            RT_TABLE_MAIN,
            RTPROT_BOOT,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
        ]);
        m.buf.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
        m.attr(RTA_GATEWAY, &gateway.octets())
            .attr_u32(RTA_OIF, index);
        self.request(m, &format!("adding the default route via {gateway}"))
    }
}

/// The index of interface `name` in the caller's network namespace.
pub fn link_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: if_nametoindex reads the NUL-terminated name we own.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The index of interface `name` inside the namespace `ns`.
pub fn link_index_in(ns: &impl AsFd, name: &str) -> Result<Option<u32>> {
    let own = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening this process's network namespace", e))?;
    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("entering the container's network namespace", e.into()))?;
    let index = link_index(name);
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("returning to the host's network namespace", e.into()))?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_get_their_lengths() {
        let mut m = Msg::new(RTM_NEWLINK, 0).ifinfo(0, 0, 0);
        m.begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .end();
        let buf = m.finish();
        // header 16 + ifinfomsg 16 + nest header 4 + "veth\0" attr (4 + 5, padded to 12)
        assert_eq!(buf.len(), 16 + 16 + 4 + 12);
        assert_eq!(u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]), 48);
        let nest_len = u16::from_ne_bytes([buf[32], buf[33]]);
        assert_eq!(nest_len, 16);
        let nest_kind = u16::from_ne_bytes([buf[34], buf[35]]);
        assert_eq!(nest_kind, IFLA_LINKINFO | NLA_F_NESTED);
    }
}
