//! Networks: the built-in `bridge`, `host` and `none`, user-defined bridge networks,
//! their Linux bridges and firewall rules, and what a container gets on them (veth,
//! address, routes, DNS, published ports). Host-wide resources carry per-root names so
//! stores opened with different `--root`s (tests) never share a bridge or a table.

pub mod dns;
pub mod etc;
pub mod firewall;
pub mod ipam;
pub mod netlink;
pub mod records;
pub mod setup;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::engine::error::{Error, Result};
use crate::engine::store::tmp::FileLock;
use crate::engine::store::{ids, Store};
use ipam::Ipv4Net;
use records::{Endpoint, EndpointConfig, Network, NetworkConfig, Networks};

pub const DEFAULT_MTU: u32 = 1500;

/// What a running container has on its networks (kept in its state for inspect, ps,
/// port, and the console).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeNetwork {
    #[serde(default)]
    pub networks: BTreeMap<String, AttachedEndpoint>,
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedEndpoint {
    pub network_id: String,
    pub endpoint_id: String,
    pub ip: String,
    pub prefix: u8,
    pub gateway: String,
    pub mac: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The interface inside the container ("eth0").
    #[serde(default)]
    pub interface: String,
}

/// One published port as it was bound.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PublishedPort {
    /// "tcp" or "udp".
    pub proto: String,
    pub container_port: u16,
    /// "" or "0.0.0.0" for every address.
    pub host_ip: String,
    pub host_port: u16,
}

/// A short tag for a non-default root, so its bridge and table names are its own.
fn root_tag(store: &Store) -> Option<String> {
    use sha2::Digest;
    let root = store.paths.root.as_ref()?;
    let h = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
    Some(hex::encode(&h[..4]))
}

/// berth's nftables table for this root.
pub fn table_name(store: &Store) -> String {
    match root_tag(store) {
        None => "berth".into(),
        Some(t) => format!("berth_{t}"),
    }
}

/// The default bridge network's Linux bridge for this root.
pub fn default_bridge_name(store: &Store) -> String {
    match root_tag(store) {
        None => "berth0".into(),
        Some(t) => format!("bth{t}"),
    }
}

/// Serialises host-wide network changes (bridge creation, subnet choice, firewall
/// rebuilds) across every berth process and root.
pub fn host_lock() -> Result<FileLock> {
    let dir = PathBuf::from("/run/berth");
    let _ = std::fs::create_dir_all(&dir);
    FileLock::exclusive(&dir.join("network.lock"))
}

fn now() -> String {
    crate::engine::image::config::now_rfc3339()
}

/// Adds the built-in networks the first time they are needed; the default bridge gets
/// the first free default pool.
pub fn ensure_builtin(store: &Store) -> Result<()> {
    let nets = Networks::new(store);
    let existing = nets.list()?;
    if ["bridge", "host", "none"]
        .iter()
        .all(|n| existing.iter().any(|e| e.name == *n))
    {
        return Ok(());
    }
    let _lock = host_lock()?;
    let existing = nets.list()?;
    for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] {
        if existing.iter().any(|e| e.name == name) {
            continue;
        }
        let mut config = NetworkConfig {
            driver: driver.into(),
            mtu: DEFAULT_MTU,
            ..Default::default()
        };
        if name == "bridge" {
            let subnet = free_subnet(store)?;
            config.subnet = Some(subnet);
            config.gateway = Some(subnet.first_host());
            config.bridge = Some(default_bridge_name(store));
            config.options = BTreeMap::from([
                (
                    "com.docker.network.bridge.default_bridge".into(),
                    "true".into(),
                ),
                ("com.docker.network.bridge.enable_icc".into(), "true".into()),
                (
                    "com.docker.network.bridge.enable_ip_masquerade".into(),
                    "true".into(),
                ),
                (
                    "com.docker.network.bridge.name".into(),
                    default_bridge_name(store),
                ),
                (
                    "com.docker.network.driver.mtu".into(),
                    DEFAULT_MTU.to_string(),
                ),
            ]);
        }
        let n = Network {
            id: ids::random_id(),
            name: name.into(),
            created: now(),
            config,
        };
        match nets.insert(&n) {
            Ok(()) => {}
            Err(Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
        if name == "bridge" {
            // Made now, under the lock, so its route keeps the next pick (any root's)
            // off this subnet.
            setup::ensure_bridge_locked(store, &n)?;
        }
    }
    Ok(())
}

/// A default pool clear of berth's networks (every root's: their bridges are routes)
/// and of the host's routes.
fn free_subnet(store: &Store) -> Result<Ipv4Net> {
    let mut taken = ipam::host_routes();
    taken.extend(Networks::new(store).subnets()?);
    ipam::pick_subnet(&taken).ok_or_else(|| {
        Error::Other(
            "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network: give one with --subnet".into(),
        )
    })
}

/// `network create` options.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

fn valid_network_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub fn create(store: &Store, o: CreateOptions) -> Result<Network> {
    ensure_builtin(store)?;
    if !valid_network_name(&o.name) {
        return Err(Error::invalid(format!(
            "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            o.name
        )));
    }
    match o.driver.as_deref().unwrap_or("bridge") {
        "bridge" => {}
        d @ ("host" | "null") => {
            return Err(Error::Conflict(format!(
                "only one instance of \"{d}\" network is allowed"
            )))
        }
        d => {
            return Err(Error::NotFound(format!(
                "plugin \"{d}\" not found: this build of berth has the bridge driver only"
            )))
        }
    }
    let parse_net = |flag: &str, v: &str| {
        v.parse::<Ipv4Net>()
            .map_err(|e| Error::invalid(format!("invalid {flag} {v}: {e}")))
    };
    let user_subnet = o
        .subnet
        .as_deref()
        .map(|s| parse_net("subnet", s))
        .transpose()?;
    let ip_range = o
        .ip_range
        .as_deref()
        .map(|s| parse_net("ip-range", s))
        .transpose()?;
    let gateway = o
        .gateway
        .as_deref()
        .map(|g| {
            g.parse::<Ipv4Addr>()
                .map_err(|_| Error::invalid(format!("invalid gateway address {g}")))
        })
        .transpose()?;
    if user_subnet.is_none() && (ip_range.is_some() || gateway.is_some()) {
        return Err(Error::invalid(
            "--ip-range and --gateway need --subnet (the pool they belong to)",
        ));
    }
    if let (Some(s), Some(r)) = (user_subnet, ip_range) {
        if !s.contains(r.network()) || r.prefix < s.prefix {
            return Err(Error::invalid(format!(
                "invalid ip-range {r}: it is not within the subnet {s}"
            )));
        }
    }
    if let (Some(s), Some(g)) = (user_subnet, gateway) {
        if !s.contains(g) {
            return Err(Error::invalid(format!(
                "invalid gateway {g}: it is not within the subnet {s}"
            )));
        }
    }
    let mtu = match o.options.get("com.docker.network.driver.mtu") {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|m| (68..=65535).contains(m))
            .ok_or_else(|| Error::invalid(format!("invalid MTU {v}")))?,
        None => DEFAULT_MTU,
    };
    let nets = Networks::new(store);
    let _lock = host_lock()?;
    if nets.list()?.iter().any(|n| n.name == o.name) {
        return Err(Error::Conflict(format!(
            "network with name {} already exists",
            o.name
        )));
    }
    let subnet = match user_subnet {
        Some(s) => {
            if let Some(other) = nets
                .list()?
                .into_iter()
                .find(|n| n.config.subnet.is_some_and(|x| x.overlaps(&s)))
            {
                return Err(Error::Conflict(format!(
                    "invalid pool request: Pool overlaps with other one on this address space (network {})",
                    other.name
                )));
            }
            s
        }
        None => free_subnet(store)?,
    };
    let id = ids::random_id();
    let bridge = match o.options.get("com.docker.network.bridge.name") {
        Some(b) => {
            if b.is_empty() || b.len() > 15 || b.contains(['/', ' ']) {
                return Err(Error::invalid(format!("invalid bridge name {b:?}")));
            }
            if netlink::link_index(b).is_some() {
                return Err(Error::Conflict(format!(
                    "bridge name {b} is already in use by another interface"
                )));
            }
            b.clone()
        }
        None => format!("br-{}", ids::short_id(&id)),
    };
    let n = Network {
        id,
        name: o.name.clone(),
        created: now(),
        config: NetworkConfig {
            driver: "bridge".into(),
            subnet: Some(subnet),
            gateway: Some(gateway.unwrap_or_else(|| subnet.first_host())),
            ip_range,
            user_subnet: user_subnet.is_some(),
            internal: o.internal,
            attachable: o.attachable,
            labels: o.labels,
            options: o.options,
            bridge: Some(bridge),
            mtu,
        },
    };
    nets.insert(&n)?;
    // Docker makes the bridge when the network is made; a failure undoes the record.
    if let Err(e) = setup::ensure_bridge_locked(store, &n) {
        let _ = nets.delete(&n.id);
        let _ = setup::delete_bridge(&n);
        return Err(e);
    }
    crate::engine::events::emit(
        store,
        "network",
        "create",
        &n.id,
        &[("name", &n.name), ("type", "bridge")],
    );
    Ok(n)
}

pub fn list(store: &Store) -> Result<Vec<Network>> {
    ensure_builtin(store)?;
    Networks::new(store).list()
}

pub fn get(store: &Store, name_or_id: &str) -> Result<Network> {
    ensure_builtin(store)?;
    Networks::new(store).resolve(name_or_id)
}

/// Removes a user-defined network nobody uses.
pub fn remove(store: &Store, name_or_id: &str) -> Result<()> {
    let n = get(store, name_or_id)?;
    if n.is_builtin() {
        return Err(Error::Conflict(format!(
            "{} is a pre-defined network and cannot be removed",
            n.name
        )));
    }
    let users = Networks::new(store).endpoints_of_network(&n.id)?;
    if !users.is_empty() {
        let names: Vec<String> = users
            .iter()
            .map(|e| container_name(store, &e.container_id))
            .collect();
        return Err(Error::Conflict(format!(
            "error while removing network: network {} has active endpoints (name:{:?} id:{:?})",
            n.name,
            names.join(","),
            ids::short_id(&n.id)
        )));
    }
    let _lock = host_lock()?;
    Networks::new(store).delete(&n.id)?;
    setup::delete_bridge(&n)?;
    setup::sync_firewall_locked(store)?;
    crate::engine::events::emit(
        store,
        "network",
        "destroy",
        &n.id,
        &[("name", &n.name), ("type", "bridge")],
    );
    Ok(())
}

/// Removes every user-defined network without endpoints; returns their names.
pub fn prune(store: &Store) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for n in list(store)? {
        if n.is_builtin() || !Networks::new(store).endpoints_of_network(&n.id)?.is_empty() {
            continue;
        }
        remove(store, &n.id)?;
        out.push(n.name);
    }
    Ok(out)
}

fn container_name(store: &Store, id: &str) -> String {
    crate::engine::runtime::container::Containers::new(store)
        .get(id)
        .map(|r| r.name)
        .unwrap_or_else(|_| id.to_string())
}

/// Docker's `network inspect` JSON.
pub fn inspect(store: &Store, n: &Network) -> Result<Value> {
    let mut containers = serde_json::Map::new();
    let cs = crate::engine::runtime::container::Containers::new(store);
    for ep in Networks::new(store).endpoints_of_network(&n.id)? {
        let Ok(rec) = cs.get(&ep.container_id) else {
            continue;
        };
        let attached = rec.state.network.networks.get(&n.name);
        containers.insert(
            ep.container_id.clone(),
            json!({
                "Name": rec.name,
                "EndpointID": ep.endpoint_id,
                "MacAddress": attached.map(|a| a.mac.clone()).unwrap_or_default(),
                "IPv4Address": attached.map(|a| format!("{}/{}", a.ip, a.prefix)).unwrap_or_default(),
                "IPv6Address": "",
            }),
        );
    }
    let ipam_config: Vec<Value> = match n.config.subnet {
        Some(s) => {
            let mut c =
                json!({"Subnet": s.trunc().to_string(), "Gateway": n.gateway()?.to_string()});
            if let Some(r) = n.config.ip_range {
                c["IPRange"] = json!(r.to_string());
            }
            vec![c]
        }
        None => Vec::new(),
    };
    Ok(json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.config.driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": ipam_config},
        "Internal": n.config.internal,
        "Attachable": n.config.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.config.options,
        "Labels": n.config.labels,
    }))
}

/// How a container is networked, from its HostConfig.NetworkMode.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    None,
    Host,
    /// Shares another container's namespace (its id).
    Container(String),
    /// Bridge networks (the default one or user-defined): endpoints in the db.
    Bridge,
}

pub fn mode_of(network_mode: Option<&str>) -> Mode {
    match network_mode.unwrap_or("") {
        "none" => Mode::None,
        "host" => Mode::Host,
        m if m.starts_with("container:") => Mode::Container(m["container:".len()..].to_string()),
        _ => Mode::Bridge,
    }
}

/// At create: resolves `--network` and connects the new container to its network.
/// Returns the NetworkMode to record.
pub fn plan_create(
    store: &Store,
    container_id: &str,
    hc: &bollard::models::HostConfig,
    networking: Option<&bollard::models::NetworkingConfig>,
) -> Result<String> {
    let mode = hc.network_mode.clone().unwrap_or_default();
    let publishes = hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
        || hc.publish_all_ports == Some(true);
    match mode.as_str() {
        "none" | "host" => {
            if mode == "none" && publishes {
                return Err(Error::invalid(
                    "conflicting options: port publishing and the container type network mode",
                ));
            }
            return Ok(mode);
        }
        m if m.starts_with("container:") => {
            let target = &m["container:".len()..];
            let rec = crate::engine::runtime::container::Containers::new(store)
                .get(&crate::engine::runtime::container::Containers::new(store).resolve(target)?)?;
            if rec.id == container_id {
                return Err(Error::invalid("cannot join own network"));
            }
            let conflicts = [
                (publishes, "port publishing"),
                (hc.dns.as_ref().is_some_and(|d| !d.is_empty()), "dns"),
                (
                    hc.extra_hosts.as_ref().is_some_and(|d| !d.is_empty()),
                    "extra-hosts",
                ),
                (hc.links.as_ref().is_some_and(|d| !d.is_empty()), "links"),
            ];
            if let Some((_, what)) = conflicts.iter().find(|(c, _)| *c) {
                return Err(Error::invalid(format!(
                    "conflicting options: {what} and the network mode"
                )));
            }
            return Ok(format!("container:{}", rec.id));
        }
        _ => {}
    }
    let name = match mode.as_str() {
        "" | "default" => "bridge",
        m => m,
    };
    let net = get(store, name)?;
    if !matches!(net.config.driver.as_str(), "bridge") {
        return Err(Error::invalid(format!(
            "network {name} cannot be used here"
        )));
    }
    let settings = networking
        .and_then(|n| n.endpoints_config.as_ref())
        .and_then(|m| {
            m.get(name)
                .or_else(|| m.get(&net.name))
                .or_else(|| m.get(&net.id))
                .or_else(|| (m.len() == 1).then(|| m.values().next()).flatten())
        });
    let ep = endpoint_config(&net, settings)?;
    Networks::new(store).add_endpoint(&Endpoint {
        network_id: net.id.clone(),
        container_id: container_id.to_string(),
        endpoint_id: ids::random_id(),
        config: ep,
        ip: None,
    })?;
    Ok(net.name.clone())
}

/// Validates an endpoint's settings against its network (Docker's rules).
fn endpoint_config(
    net: &Network,
    settings: Option<&bollard::models::EndpointSettings>,
) -> Result<EndpointConfig> {
    let mut ep = EndpointConfig::default();
    let Some(s) = settings else {
        return Ok(ep);
    };
    ep.aliases = s.aliases.clone().unwrap_or_default();
    ep.links = s.links.clone().unwrap_or_default();
    if !ep.aliases.is_empty() && net.is_builtin() {
        return Err(Error::invalid(
            "network-scoped aliases are only supported for user-defined networks",
        ));
    }
    if let Some(ip) = s
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.as_deref())
        .filter(|s| !s.is_empty())
    {
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| Error::invalid(format!("invalid IPv4 address: {ip}")))?;
        if !net.config.user_subnet {
            return Err(Error::invalid(
                "user specified IP address is supported only when connecting to networks with user configured subnets",
            ));
        }
        let subnet = net.subnet()?;
        if !subnet.contains(ip) {
            return Err(Error::invalid(format!(
                "no configured subnet contains IP address {ip}"
            )));
        }
        ep.ipv4 = Some(ip);
    }
    if let Some(mac) = s.mac_address.as_deref().filter(|m| !m.is_empty()) {
        if ipam::parse_mac(mac).is_none() {
            return Err(Error::invalid(format!("{mac} is not a valid mac address")));
        }
        ep.mac = Some(mac.to_string());
    }
    Ok(ep)
}

/// `network connect`: adds an endpoint; a running container gets it at once.
pub fn connect(
    store: &Store,
    network: &str,
    container: &str,
    settings: Option<&bollard::models::EndpointSettings>,
) -> Result<()> {
    let net = get(store, network)?;
    let cs = crate::engine::runtime::container::Containers::new(store);
    let rec = cs.get(&cs.resolve(container)?)?;
    match mode_of(rec.config.host_config.network_mode.as_deref()) {
        Mode::Bridge => {}
        _ => {
            return Err(Error::invalid(format!(
                "container {} is not on a bridge network (network mode {}): it cannot be connected to another network",
                rec.name,
                rec.config.host_config.network_mode.as_deref().unwrap_or("")
            )))
        }
    }
    if net.config.driver != "bridge" {
        return Err(Error::invalid(format!(
            "container cannot be disconnected from host network or connected to host network ({})",
            net.name
        )));
    }
    let nets = Networks::new(store);
    if nets
        .endpoints_of_container(&rec.id)?
        .iter()
        .any(|e| e.network_id == net.id)
    {
        return Err(Error::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            rec.name, net.name
        )));
    }
    let ep = endpoint_config(&net, settings)?;
    nets.add_endpoint(&Endpoint {
        network_id: net.id.clone(),
        container_id: rec.id.clone(),
        endpoint_id: ids::random_id(),
        config: ep,
        ip: None,
    })?;
    if rec.state.running && rec.state.pid > 0 {
        if let Err(e) = setup::attach_running(store, &rec, &net) {
            let _ = nets.remove_endpoint(&net.id, &rec.id);
            return Err(e);
        }
    }
    crate::engine::events::emit(
        store,
        "network",
        "connect",
        &net.id,
        &[
            ("container", &rec.id),
            ("name", &net.name),
            ("type", "bridge"),
        ],
    );
    Ok(())
}

/// `network disconnect`.
pub fn disconnect(store: &Store, network: &str, container: &str, force: bool) -> Result<()> {
    let net = get(store, network)?;
    let cs = crate::engine::runtime::container::Containers::new(store);
    let rec = match cs.resolve(container) {
        Ok(id) => cs.get(&id)?,
        Err(e) => {
            if force {
                // A removed container's leftover endpoint.
                Networks::new(store).remove_endpoint(&net.id, container)?;
                return Ok(());
            }
            return Err(e);
        }
    };
    let nets = Networks::new(store);
    if !nets.remove_endpoint(&net.id, &rec.id)? {
        return Err(Error::invalid(format!(
            "container {} is not connected to network {}",
            ids::short_id(&rec.id),
            net.name
        )));
    }
    if rec.state.running {
        setup::detach_running(store, &rec, &net)?;
    }
    crate::engine::events::emit(
        store,
        "network",
        "disconnect",
        &net.id,
        &[
            ("container", &rec.id),
            ("name", &net.name),
            ("type", "bridge"),
        ],
    );
    Ok(())
}

/// Forgets a removed container's endpoints.
pub fn forget_container(store: &Store, container_id: &str) -> Result<()> {
    Networks::new(store).remove_container(container_id)
}

/// Docker's inspect `NetworkSettings` from a container's runtime network state.
pub fn settings_json(
    store: &Store,
    container_id: &str,
    network_mode: &str,
    rt: &RuntimeNetwork,
    exposed: &[String],
    running: bool,
) -> Value {
    let mut ports = serde_json::Map::new();
    for e in exposed {
        let key = if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        };
        ports.insert(key, Value::Null);
    }
    let mut published: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in &rt.ports {
        published
            .entry(format!("{}/{}", p.container_port, p.proto))
            .or_default()
            .push(json!({"HostIp": if p.host_ip.is_empty() { "0.0.0.0" } else { &p.host_ip }, "HostPort": p.host_port.to_string()}));
    }
    for (k, v) in published {
        ports.insert(k, Value::Array(v));
    }
    let mut networks = serde_json::Map::new();
    let eps = Networks::new(store)
        .endpoints_of_container(container_id)
        .unwrap_or_default();
    let all = Networks::new(store).list().unwrap_or_default();
    for ep in &eps {
        let Some(net) = all.iter().find(|n| n.id == ep.network_id) else {
            continue;
        };
        let a = rt.networks.get(&net.name).filter(|_| running);
        networks.insert(
            net.name.clone(),
            json!({
                "IPAMConfig": ep.config.ipv4.map(|ip| json!({"IPv4Address": ip.to_string()})),
                "Links": if ep.config.links.is_empty() { Value::Null } else { json!(ep.config.links) },
                "Aliases": if ep.config.aliases.is_empty() { Value::Null } else { json!(ep.config.aliases) },
                "MacAddress": a.map(|a| a.mac.clone()).unwrap_or_default(),
                "DriverOpts": null,
                "GwPriority": 0,
                "NetworkID": net.id,
                "EndpointID": if a.is_some() { ep.endpoint_id.clone() } else { String::new() },
                "Gateway": a.map(|a| a.gateway.clone()).unwrap_or_default(),
                "IPAddress": a.map(|a| a.ip.clone()).unwrap_or_default(),
                "IPPrefixLen": a.map(|a| a.prefix).unwrap_or(0),
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "DNSNames": a.map(|a| a.aliases.clone()),
            }),
        );
    }
    if networks.is_empty() && matches!(network_mode, "host" | "none") {
        let id = all
            .iter()
            .find(|n| n.name == network_mode)
            .map(|n| n.id.clone())
            .unwrap_or_default();
        networks.insert(
            network_mode.to_string(),
            json!({"IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "", "DriverOpts": null, "GwPriority": 0,
                   "NetworkID": id, "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                   "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null}),
        );
    }
    // The top-level fields describe the default bridge endpoint, as in Docker.
    let default = rt.networks.get("bridge").filter(|_| running);
    json!({
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": default.map(|_| eps.first().map(|e| e.endpoint_id.clone()).unwrap_or_default()).unwrap_or_default(),
        "Gateway": default.map(|a| a.gateway.clone()).unwrap_or_default(),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": default.map(|a| a.ip.clone()).unwrap_or_default(),
        "IPPrefixLen": default.map(|a| a.prefix).unwrap_or(0),
        "IPv6Gateway": "",
        "MacAddress": default.map(|a| a.mac.clone()).unwrap_or_default(),
        "Networks": networks,
    })
}

/// Host ports for `ps`: "0.0.0.0:8080->80/tcp, 443/tcp".
pub fn ports_summary(rt: &RuntimeNetwork, exposed: &[String]) -> String {
    let mut parts: Vec<(u16, String)> = Vec::new();
    for p in &rt.ports {
        let ip = if p.host_ip.is_empty() {
            "0.0.0.0"
        } else {
            p.host_ip.as_str()
        };
        parts.push((
            p.container_port,
            format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.proto),
        ));
    }
    for e in exposed {
        let (port, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if !rt
            .ports
            .iter()
            .any(|p| p.container_port == port && p.proto == proto)
        {
            parts.push((port, format!("{port}/{proto}")));
        }
    }
    parts.sort();
    parts
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes what this root made on the host: its bridges and its nftables table
/// (`berth system reset`-style cleanup, used by tests on their private roots).
pub fn teardown_host(store: &Store) -> Result<()> {
    let _lock = host_lock()?;
    for n in Networks::new(store).list()? {
        setup::delete_bridge(&n)?;
    }
    let _ = firewall::delete_table(&table_name(store));
    Ok(())
}
