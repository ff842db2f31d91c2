//! Making networks real on the host: Linux bridges and firewall rules per network, and
//! per running container its addresses, veth pairs, default route, published ports and
//! embedded DNS. The monitor calls [`prepare`] before the container's init exists,
//! [`wire`] once its namespace exists (before the program starts), and [`release`]
//! after it exits; `network connect/disconnect` use [`attach_running`] and
//! [`detach_running`].

use std::collections::HashSet;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use super::dns;
use super::etc::{self, EtcInput};
use super::firewall::{self, FwNetwork, FwPort};
use super::ipam;
use super::netlink::{self, Netlink};
use super::records::{Endpoint, Network, Networks};
use super::{AttachedEndpoint, PublishedPort, RuntimeNetwork};
use crate::engine::error::{Error, Result};
use crate::engine::runtime::container::{ContainerRecord, Containers};
use crate::engine::store::{ids, Store};

fn write_sysctl(path: &str, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| Error::io(format!("setting {path}"), e))
}

/// Creates the network's bridge (with its gateway address, up) unless it exists.
/// Fast path without the host lock when the bridge is already there.
pub fn ensure_bridge(store: &Store, net: &Network) -> Result<u32> {
    let name = bridge_name(net)?;
    if let Some(i) = netlink::link_index(name) {
        return Ok(i);
    }
    let _lock = super::host_lock()?;
    ensure_bridge_locked(store, net)
}

fn bridge_name(net: &Network) -> Result<&str> {
    net.config
        .bridge
        .as_deref()
        .ok_or_else(|| Error::Other(format!("network {} has no bridge", net.name)))
}

/// [`ensure_bridge`] for a caller holding the host lock.
pub fn ensure_bridge_locked(store: &Store, net: &Network) -> Result<u32> {
    let name = bridge_name(net)?;
    if let Some(i) = netlink::link_index(name) {
        return Ok(i);
    }
    let nl = Netlink::open()?;
    nl.create_bridge(name, net.config.mtu)?;
    let index = netlink::link_index(name)
        .ok_or_else(|| Error::Other(format!("the bridge {name} vanished after creation")))?;
    let subnet = net.subnet()?;
    let made = (|| {
        nl.add_address(index, net.gateway()?, subnet.prefix)?;
        nl.set_up(index)?;
        // Routing between the bridge and the world, and DNAT of 127.0.0.1 to containers
        // (packets from loopback may then leave through the bridge, masqueraded).
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
        write_sysctl(
            &format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"),
            "1",
        )?;
        sync_firewall_locked(store)
    })();
    if let Err(e) = made {
        let _ = nl.delete_link(index);
        return Err(e);
    }
    Ok(index)
}

/// Deletes the network's bridge if it exists.
pub fn delete_bridge(net: &Network) -> Result<()> {
    let Some(name) = net.config.bridge.as_deref() else {
        return Ok(());
    };
    if let Some(i) = netlink::link_index(name) {
        Netlink::open()?.delete_link(i)?;
    }
    Ok(())
}

/// The DNAT entries of one running container's published ports (to its address on its
/// first network).
fn fw_ports(rt: &RuntimeNetwork) -> Vec<FwPort> {
    let Some(primary) = rt.networks.values().next() else {
        return Vec::new();
    };
    let Ok(container_ip) = primary.ip.parse::<Ipv4Addr>() else {
        return Vec::new();
    };
    rt.ports
        .iter()
        .map(|p| FwPort {
            proto: p.proto.clone(),
            host_ip: p.host_ip.parse().ok(),
            host_port: p.host_port,
            container_ip,
            container_port: p.container_port,
        })
        .collect()
}

/// Publishes the ports of a container that just started (`rt`, already recorded in its
/// state). Appending its DNAT rules to the table is one small transaction; a rebuild
/// deletes rules and chains, which makes the kernel wait for an RCU grace period (a
/// start took 11-30 ms longer). Removals still rebuild the whole table (see
/// [`release`]), so nothing stale outlives the next change. Falls back to the rebuild
/// when the table is not as expected (deleted by hand, a reboot).
pub fn publish_ports(store: &Store, rt: &RuntimeNetwork) -> Result<()> {
    let _lock = super::host_lock()?;
    let ports = fw_ports(rt);
    if ports.is_empty() {
        return Ok(());
    }
    if firewall::nft_apply(&firewall::add_ports_script(
        &super::table_name(store),
        &ports,
    ))
    .is_ok()
    {
        return Ok(());
    }
    sync_firewall_locked(store)
}

/// Rebuilds berth's firewall table from the db (takes the host lock).
pub fn sync_firewall(store: &Store) -> Result<()> {
    let _lock = super::host_lock()?;
    sync_firewall_locked(store)
}

/// [`sync_firewall`] for a caller holding the host lock.
pub fn sync_firewall_locked(store: &Store) -> Result<()> {
    let nets = Networks::new(store).list()?;
    let fw_nets: Vec<FwNetwork> = nets
        .iter()
        .filter(|n| n.config.driver == "bridge")
        .filter_map(|n| {
            Some(FwNetwork {
                bridge: n.config.bridge.clone()?,
                subnet: n.config.subnet?,
                internal: n.config.internal,
            })
        })
        .collect();
    let mut ports = Vec::new();
    for rec in Containers::new(store).list()? {
        if !rec.state.running && !rec.state.paused {
            continue;
        }
        ports.extend(fw_ports(&rec.state.network));
    }
    firewall::nft_apply(&firewall::ruleset(
        &super::table_name(store),
        &fw_nets,
        &ports,
    ))?;
    let bridges: Vec<String> = fw_nets.into_iter().map(|n| n.bridge).collect();
    firewall::sync_forward_compat(&bridges)
}

/// One network a starting container will be on.
pub struct Planned {
    pub net: Network,
    pub endpoint: Endpoint,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
}

/// What [`prepare`] worked out.
#[derive(Default)]
pub struct Prepared {
    pub planned: Vec<Planned>,
    /// Legacy link variables for the container's environment.
    pub link_env: Vec<String>,
    pub embedded_dns: bool,
}

/// Before the container's init is made: addresses on each of its networks (their
/// bridges made if missing), legacy links, and the /etc files with the real address.
/// On error nothing stays allocated.
pub fn prepare(store: &Store, rec: &ContainerRecord, dir: &Path) -> Result<Prepared> {
    let hc = &rec.config.host_config;
    let mut out = Prepared::default();
    let mode = super::mode_of(hc.network_mode.as_deref());
    if mode == super::Mode::Bridge {
        super::ensure_builtin(store)?;
        let result = plan_endpoints(store, rec, &mut out);
        if let Err(e) = result {
            let _ = Networks::new(store).release(&rec.id);
            return Err(e);
        }
    }
    let mut input = EtcInput {
        hostname: rec.config.config.hostname.clone().unwrap_or_default(),
        ip: out.planned.first().map(|p| p.ip),
        embedded_dns: out.embedded_dns,
        host_network: mode == super::Mode::Host,
        ..Default::default()
    };
    input.host_gateway = out
        .planned
        .first()
        .and_then(|p| p.net.gateway().ok())
        .or_else(|| default_bridge_gateway(store));
    let on_user_network = out.planned.iter().any(|p| p.net.is_user_defined());
    if let Err(e) = links(store, rec, on_user_network, &mut input, &mut out.link_env) {
        let _ = Networks::new(store).release(&rec.id);
        return Err(e);
    }
    if matches!(mode, super::Mode::Container(_)) {
        // The joined container's files are bind-mounted instead (see the monitor).
        return Ok(out);
    }
    if let Err(e) = etc::write(dir, hc, &input) {
        let _ = Networks::new(store).release(&rec.id);
        return Err(e);
    }
    Ok(out)
}

fn default_bridge_gateway(store: &Store) -> Option<Ipv4Addr> {
    Networks::new(store)
        .resolve("bridge")
        .ok()
        .and_then(|n| n.gateway().ok())
}

fn plan_endpoints(store: &Store, rec: &ContainerRecord, out: &mut Prepared) -> Result<()> {
    let nets = Networks::new(store);
    for ep in nets.endpoints_of_container(&rec.id)? {
        let Some(net) = nets.get(&ep.network_id)? else {
            continue;
        };
        ensure_bridge(store, &net)?;
        let ip = nets.allocate(&net, &rec.id)?;
        let mac = match ep.config.mac.as_deref().and_then(ipam::parse_mac) {
            Some(m) if out.planned.is_empty() => m,
            _ => ipam::mac_for(ip),
        };
        out.embedded_dns |= net.is_user_defined();
        out.planned.push(Planned {
            net,
            endpoint: ep,
            ip,
            mac,
        });
    }
    Ok(())
}

/// Legacy `--link name:alias`: /etc/hosts lines and ALIAS_* variables from the linked
/// (running) container's address on the default bridge, exposed ports and env.
fn links(
    store: &Store,
    rec: &ContainerRecord,
    on_user_network: bool,
    input: &mut EtcInput,
    env: &mut Vec<String>,
) -> Result<()> {
    let hc = &rec.config.host_config;
    let cs = Containers::new(store);
    for link in hc.links.iter().flatten() {
        let (name, alias) = link
            .split_once(':')
            .unwrap_or((link.as_str(), link.as_str()));
        let name = name.trim_start_matches('/');
        let alias = alias.rsplit('/').next().unwrap_or(alias);
        let target = cs.resolve(name).and_then(|id| cs.get(&id)).map_err(|_| {
            Error::invalid(format!(
                "could not get container for {name}: no such container (--link {link})"
            ))
        })?;
        if !target.state.running {
            return Err(Error::invalid(format!(
                "Cannot link to a non running container: /{} AS /{}/{alias}",
                target.name, rec.name
            )));
        }
        let ip = target
            .state
            .network
            .networks
            .get("bridge")
            .or_else(|| target.state.network.networks.values().next())
            .and_then(|a| a.ip.parse::<Ipv4Addr>().ok());
        let Some(ip) = ip else {
            continue;
        };
        if on_user_network {
            // On user networks names resolve through DNS; Docker adds no variables.
            continue;
        }
        let short = ids::short_id(&target.id).to_string();
        let mut names = vec![alias.to_string()];
        if alias != target.name {
            names.push(short);
            names.push(target.name.clone());
        } else {
            names.push(short);
        }
        input.links.push((ip, names.join(" ")));
        let prefix = alias.to_ascii_uppercase().replace(['-', '.'], "_");
        env.push(format!("{prefix}_NAME=/{}/{alias}", rec.name));
        let mut ports: Vec<(u16, String)> = target
            .config
            .config
            .exposed_ports
            .iter()
            .flatten()
            .filter_map(|p| {
                let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
                Some((port.parse().ok()?, proto.to_string()))
            })
            .collect();
        ports.sort();
        if let Some((port, proto)) = ports.first() {
            env.push(format!("{prefix}_PORT={proto}://{ip}:{port}"));
        }
        for (port, proto) in &ports {
            let p = format!("{prefix}_PORT_{port}_{}", proto.to_ascii_uppercase());
            env.push(format!("{p}={proto}://{ip}:{port}"));
            env.push(format!("{p}_ADDR={ip}"));
            env.push(format!("{p}_PORT={port}"));
            env.push(format!("{p}_PROTO={proto}"));
        }
        for e in target.config.config.env.iter().flatten() {
            if let Some((k, v)) = e.split_once('=') {
                if k != "HOME" && k != "PATH" && k != "HOSTNAME" {
                    env.push(format!("{prefix}_ENV_{k}={v}"));
                }
            }
        }
    }
    Ok(())
}

/// A new, empty network namespace for a container, held by the returned file. The
/// calling thread enters it for a moment and goes back. Made by the monitor before the
/// container's init, so that [`wire`] can run while the monitor prepares the rest.
pub fn new_namespace() -> Result<File> {
    let own = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening this process's network namespace", e))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("creating a network namespace", e.into()))?;
    let made = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening the new network namespace", e));
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("returning to the host's network namespace", e.into()))?;
    made
}

/// Wires the container's namespace `ns` before its program starts: loopback up, one
/// veth per network with its address, the default route, published ports bound and
/// DNAT'ed, and the embedded DNS socket. The monitor runs it on a thread of its own
/// and joins it before the runtime forks the init.
pub fn wire(rec: &ContainerRecord, prepared: &Prepared, ns: &File) -> Result<Wired> {
    let inside = Netlink::open_in(ns)?;
    inside.set_up(1)?; // lo is always index 1 in a new namespace
    let mut runtime = RuntimeNetwork::default();
    if !prepared.planned.is_empty() {
        let host = Netlink::open()?;
        let mut routed = false;
        for (i, p) in prepared.planned.iter().enumerate() {
            let iface = format!("eth{i}");
            let attached = add_interface(&host, &inside, ns, p, &iface, !routed)?;
            routed |= !p.net.config.internal;
            runtime.networks.insert(p.net.name.clone(), attached);
        }
    }
    let mut held = Vec::new();
    if !prepared.planned.is_empty() {
        let (ports, sockets) = publish(rec)?;
        runtime.ports = ports;
        held = sockets;
    }
    // Served for every bridge container, so a later `network connect` to a user
    // network only has to point resolv.conf at it (as Docker does).
    let dns = if !prepared.planned.is_empty() {
        Some(dns_server(rec, ns)?)
    } else {
        None
    };
    Ok(Wired {
        runtime,
        _ports: held,
        dns,
    })
}

/// What a wired container holds until it exits.
pub struct Wired {
    pub runtime: RuntimeNetwork,
    /// Sockets bound on the published host ports, so nothing else can take them.
    _ports: Vec<OwnedFd>,
    pub dns: Option<dns::Server>,
}

impl Wired {
    pub fn publishes(&self) -> bool {
        !self.runtime.ports.is_empty()
    }
}

fn add_interface(
    host: &Netlink,
    inside: &Netlink,
    ns: &File,
    p: &Planned,
    iface: &str,
    default_route: bool,
) -> Result<AttachedEndpoint> {
    let bridge = bridge_name(&p.net)?;
    let master = netlink::link_index(bridge).ok_or_else(|| {
        Error::Other(format!(
            "the bridge {bridge} of network {} is missing",
            p.net.name
        ))
    })?;
    let host_name = format!("veth{}", &ids::random_id()[..7]);
    host.create_veth(&host_name, master, iface, ns, p.mac, p.net.config.mtu)?;
    let host_index = netlink::link_index(&host_name)
        .ok_or_else(|| Error::Other(format!("the interface {host_name} vanished")))?;
    host.set_up(host_index)?;
    let index = netlink::link_index_in(ns, iface)?
        .ok_or_else(|| Error::Other(format!("the container's interface {iface} vanished")))?;
    let subnet = p.net.subnet()?;
    inside.add_address(index, p.ip, subnet.prefix)?;
    inside.set_up(index)?;
    let gateway = p.net.gateway()?;
    if default_route && !p.net.config.internal {
        inside.add_default_route(index, gateway)?;
    }
    Ok(AttachedEndpoint {
        network_id: p.net.id.clone(),
        endpoint_id: p.endpoint.endpoint_id.clone(),
        ip: p.ip.to_string(),
        prefix: subnet.prefix,
        gateway: gateway.to_string(),
        mac: ipam::format_mac(&p.mac),
        aliases: p.endpoint.config.aliases.clone(),
        interface: iface.to_string(),
    })
}

/// Binds the published host ports (so they are ours, and random ones get a number).
fn publish(rec: &ContainerRecord) -> Result<(Vec<PublishedPort>, Vec<OwnedFd>)> {
    let hc = &rec.config.host_config;
    let mut wanted: Vec<(String, u16, String, String)> = Vec::new(); // proto, ctr port, host ip, host port
    let mut seen = HashSet::new();
    for (spec, binds) in hc.port_bindings.iter().flatten() {
        let (port, proto) = spec.split_once('/').unwrap_or((spec.as_str(), "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        seen.insert((port, proto.to_string()));
        let binds = binds.clone().unwrap_or_default();
        if binds.is_empty() {
            wanted.push((proto.into(), port, String::new(), String::new()));
        }
        for b in binds {
            wanted.push((
                proto.into(),
                port,
                b.host_ip.unwrap_or_default(),
                b.host_port.unwrap_or_default(),
            ));
        }
    }
    if hc.publish_all_ports == Some(true) {
        for e in rec.config.config.exposed_ports.iter().flatten() {
            let (port, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if seen.insert((port, proto.to_string())) {
                wanted.push((proto.into(), port, String::new(), String::new()));
            }
        }
    }
    let mut ports = Vec::new();
    let mut held = Vec::new();
    for (proto, cport, host_ip, host_port) in wanted {
        if proto != "tcp" && proto != "udp" {
            return Err(Error::invalid(format!(
                "publishing {proto} ports is not supported by this build of berth"
            )));
        }
        let ip: Ipv4Addr = if host_ip.is_empty() {
            Ipv4Addr::UNSPECIFIED
        } else {
            match host_ip.parse() {
                Ok(ip) => ip,
                // IPv6 host addresses: berth networks are IPv4 only.
                Err(_) if host_ip.contains(':') => continue,
                Err(_) => return Err(Error::invalid(format!("invalid host IP {host_ip}"))),
            }
        };
        let (lo, hi) = match host_port.split_once('-') {
            Some((a, b)) => (parse_port(a)?, parse_port(b)?),
            None if host_port.is_empty() => (0, 0),
            None => {
                let p = parse_port(&host_port)?;
                (p, p)
            }
        };
        let mut bound = None;
        let mut last_err = None;
        for hp in lo..=hi {
            match reserve(&proto, ip, hp) {
                Ok(b) => {
                    bound = Some(b);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some((fd, port)) = bound else {
            let shown = if host_port.is_empty() {
                "0".into()
            } else {
                host_port.clone()
            };
            let why = match last_err {
                Some(nix::errno::Errno::EADDRINUSE) | None => {
                    "port is already allocated".to_string()
                }
                Some(e) => e.desc().to_string(),
            };
            return Err(Error::Conflict(format!(
                "driver failed programming external connectivity on endpoint {}: Bind for {ip}:{shown} failed: {why}",
                rec.name
            )));
        };
        held.push(fd);
        ports.push(PublishedPort {
            proto,
            container_port: cport,
            host_ip: ip.to_string(),
            host_port: port,
        });
    }
    Ok((ports, held))
}

fn parse_port(s: &str) -> Result<u16> {
    s.parse()
        .map_err(|_| Error::invalid(format!("invalid host port {s}")))
}

/// Binds (without listening) a host port; returns the socket and the port number.
fn reserve(
    proto: &str,
    ip: Ipv4Addr,
    port: u16,
) -> std::result::Result<(OwnedFd, u16), nix::errno::Errno> {
    use nix::sys::socket::{
        bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn,
    };
    let ty = if proto == "udp" {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, None)?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(ip, port)),
    )?;
    let local: SockaddrIn = getsockname(fd.as_raw_fd())?;
    Ok((fd, local.port()))
}

/// The DNS server's socket at 127.0.0.11:53 inside the container.
fn dns_server(rec: &ContainerRecord, ns: &File) -> Result<dns::Server> {
    let own = File::open("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("opening this process's network namespace", e))?;
    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("entering the container's network namespace", e.into()))?;
    let sock = UdpSocket::bind((etc::EMBEDDED_DNS, 53));
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::io("returning to the host's network namespace", e.into()))?;
    let sock = sock.map_err(|e| Error::io("starting the embedded DNS server", e))?;
    let upstreams = upstream_resolvers(rec.config.host_config.dns.as_deref());
    dns::Server::new(sock, upstreams).map_err(|e| Error::io("starting the embedded DNS server", e))
}

/// `--dns` servers, else the host's (loopback ones included: the forwarding socket is
/// in the host's namespace).
fn upstream_resolvers(custom: Option<&[String]>) -> Vec<SocketAddr> {
    let from_custom: Vec<SocketAddr> = custom
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect();
    if !from_custom.is_empty() {
        return from_custom;
    }
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// DNS answers from berth's records for one container: the containers that share a
/// user-defined network with it, by name, alias, short id, or `name.network`.
pub struct StoreRecords<'a> {
    pub store: &'a Store,
    pub container_id: String,
}

impl StoreRecords<'_> {
    /// (names, ip) of every running endpoint on this container's user networks.
    fn entries(&self) -> Vec<(Vec<String>, Ipv4Addr)> {
        let nets = Networks::new(self.store);
        let cs = Containers::new(self.store);
        let mut out = Vec::new();
        let Ok(mine) = nets.endpoints_of_container(&self.container_id) else {
            return out;
        };
        for ep in mine {
            let Ok(Some(net)) = nets.get(&ep.network_id) else {
                continue;
            };
            if !net.is_user_defined() {
                continue;
            }
            for other in nets.endpoints_of_network(&net.id).unwrap_or_default() {
                let (Some(ip), Ok(rec)) = (other.ip, cs.get(&other.container_id)) else {
                    continue;
                };
                let mut names = vec![
                    rec.name.to_ascii_lowercase(),
                    format!("{}.{}", rec.name, net.name).to_ascii_lowercase(),
                    ids::short_id(&rec.id).to_string(),
                ];
                for a in &other.config.aliases {
                    names.push(a.to_ascii_lowercase());
                    names.push(format!("{a}.{}", net.name).to_ascii_lowercase());
                }
                names.extend(other.config.links.iter().filter_map(|l| {
                    l.split_once(':')
                        .map(|(_, alias)| alias.to_ascii_lowercase())
                }));
                out.push((names, ip));
            }
        }
        out
    }
}

impl dns::Records for StoreRecords<'_> {
    fn lookup(&self, name: &str) -> Vec<Ipv4Addr> {
        let mut ips: Vec<Ipv4Addr> = self
            .entries()
            .into_iter()
            .filter(|(names, _)| names.iter().any(|n| n == name))
            .map(|(_, ip)| ip)
            .collect();
        ips.dedup();
        ips
    }

    fn reverse(&self, ip: Ipv4Addr) -> Option<String> {
        self.entries()
            .into_iter()
            .find(|(_, i)| *i == ip)
            .and_then(|(names, _)| names.into_iter().nth(1))
    }
}

/// After the container exits (or failed to start): addresses back to the pools and its
/// port rules gone. The veths went with the container's namespace.
pub fn release(store: &Store, container_id: &str, had_ports: bool) {
    let _ = Networks::new(store).release(container_id);
    if had_ports {
        let _ = sync_firewall(store);
    }
}

/// `network connect` on a running container.
pub fn attach_running(store: &Store, rec: &ContainerRecord, net: &Network) -> Result<()> {
    ensure_bridge(store, net)?;
    let nets = Networks::new(store);
    let ip = nets.allocate(net, &rec.id)?;
    let endpoint = nets
        .endpoints_of_container(&rec.id)?
        .into_iter()
        .find(|e| e.network_id == net.id)
        .ok_or_else(|| Error::Other("the new endpoint vanished".into()))?;
    let mac = endpoint
        .config
        .mac
        .as_deref()
        .and_then(ipam::parse_mac)
        .unwrap_or_else(|| ipam::mac_for(ip));
    let ns = File::open(format!("/proc/{}/ns/net", rec.state.pid))
        .map_err(|e| Error::io("opening the container's network namespace", e))?;
    let used: HashSet<String> = rec
        .state
        .network
        .networks
        .values()
        .map(|a| a.interface.clone())
        .collect();
    let iface = (0..)
        .map(|i| format!("eth{i}"))
        .find(|n| !used.contains(n) && netlink::link_index_in(&ns, n).ok().flatten().is_none())
        .unwrap_or_else(|| "eth9".into());
    let planned = Planned {
        net: net.clone(),
        endpoint,
        ip,
        mac,
    };
    let has_route = !rec.state.network.networks.is_empty();
    let attached = add_interface(
        &Netlink::open()?,
        &Netlink::open_in(&ns)?,
        &ns,
        &planned,
        &iface,
        !has_route,
    )?;
    Containers::new(store).update_state(&rec.id, |s| {
        s.network
            .networks
            .insert(net.name.clone(), attached.clone());
    })?;
    if net.is_user_defined() {
        // Names on the new network resolve through the embedded server from now on.
        let dir = crate::engine::runtime::paths::container_dir(store, &rec.id);
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let input = EtcInput {
            embedded_dns: true,
            ..Default::default()
        };
        let text = etc::resolv_conf(&rec.config.host_config, &input, &host);
        std::fs::write(dir.join("resolv.conf"), text)
            .map_err(|e| Error::io("updating the container's resolv.conf", e))?;
    }
    Ok(())
}

/// `network disconnect` on a running container: its interface on that network goes.
pub fn detach_running(store: &Store, rec: &ContainerRecord, net: &Network) -> Result<()> {
    if let Some(a) = rec.state.network.networks.get(&net.name) {
        let ns = File::open(format!("/proc/{}/ns/net", rec.state.pid))
            .map_err(|e| Error::io("opening the container's network namespace", e))?;
        if let Some(i) = netlink::link_index_in(&ns, &a.interface)? {
            Netlink::open_in(&ns)?.delete_link(i)?;
        }
    }
    Containers::new(store).update_state(&rec.id, |s| {
        s.network.networks.remove(&net.name);
    })?;
    Ok(())
}
