//! A container's generated /etc/hostname, /etc/hosts and /etc/resolv.conf, as Docker
//! writes them: the container's own address and name, `--add-host` and link entries,
//! and either the embedded DNS server (user networks) or the host's resolvers with
//! loopback ones dropped (they mean nothing inside another namespace).

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use bollard::models::HostConfig;

use crate::engine::error::{IoContext, Result};

/// The embedded DNS server's address inside a container.
pub const EMBEDDED_DNS: &str = "127.0.0.11";

/// Docker's fallback when the host has no usable resolver.
const FALLBACK_DNS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// What the files depend on besides the HostConfig.
#[derive(Debug, Default, Clone)]
pub struct EtcInput {
    pub hostname: String,
    /// The container's primary address (None: no network of its own).
    pub ip: Option<Ipv4Addr>,
    /// Extra "ip names..." lines (links).
    pub links: Vec<(Ipv4Addr, String)>,
    /// Use the embedded DNS server.
    pub embedded_dns: bool,
    /// The address `host-gateway` stands for in `--add-host`.
    pub host_gateway: Option<Ipv4Addr>,
    /// Host networking: the host's own hosts file is the base.
    pub host_network: bool,
}

const LOCALHOST_LINES: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

pub fn hosts(hc: &HostConfig, input: &EtcInput) -> String {
    let mut s = if input.host_network {
        fs::read_to_string("/etc/hosts").unwrap_or_else(|_| LOCALHOST_LINES.to_string())
    } else {
        LOCALHOST_LINES.to_string()
    };
    for h in hc.extra_hosts.iter().flatten() {
        if let Some((name, ip)) = h.split_once(':').or_else(|| h.split_once('=')) {
            let ip = if ip == "host-gateway" {
                match input.host_gateway {
                    Some(g) => g.to_string(),
                    None => continue,
                }
            } else {
                ip.to_string()
            };
            s.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for (ip, names) in &input.links {
        s.push_str(&format!("{ip}\t{names}\n"));
    }
    if !input.host_network {
        match input.ip {
            Some(ip) => s.push_str(&format!("{ip}\t{}\n", input.hostname)),
            None => s.push_str(&format!("127.0.1.1\t{}\n", input.hostname)),
        }
    }
    s
}

fn is_loopback_nameserver(line: &str) -> bool {
    line.split_whitespace()
        .nth(1)
        .is_some_and(|a| a.starts_with("127.") || a == "::1")
}

pub fn resolv_conf(hc: &HostConfig, input: &EtcInput, host: &str) -> String {
    let custom_dns = hc.dns.as_ref().is_some_and(|d| !d.is_empty());
    let custom_search = hc.dns_search.as_ref().is_some_and(|d| !d.is_empty());
    let custom_options = hc.dns_options.as_ref().is_some_and(|d| !d.is_empty());
    let mut out = String::new();
    let mut nameservers = 0;
    for line in host.lines() {
        let t = line.trim_start();
        let is_ns = t.starts_with("nameserver");
        let drop = (is_ns && (custom_dns || input.embedded_dns || is_loopback_nameserver(t)))
            || (custom_search && (t.starts_with("search") || t.starts_with("domain")))
            || (custom_options && t.starts_with("options"));
        if drop {
            continue;
        }
        nameservers += usize::from(is_ns);
        out.push_str(line);
        out.push('\n');
    }
    if input.embedded_dns {
        out.push_str(&format!("nameserver {EMBEDDED_DNS}\n"));
    } else {
        for d in hc.dns.iter().flatten() {
            out.push_str(&format!("nameserver {d}\n"));
            nameservers += 1;
        }
        if nameservers == 0 && !input.host_network {
            for d in FALLBACK_DNS {
                out.push_str(&format!("nameserver {d}\n"));
            }
        }
    }
    if let Some(s) = hc.dns_search.as_ref().filter(|s| !s.is_empty()) {
        out.push_str(&format!("search {}\n", s.join(" ")));
    }
    let mut options: Vec<String> = hc.dns_options.clone().unwrap_or_default();
    if input.embedded_dns && !options.iter().any(|o| o.starts_with("ndots")) {
        options.push("ndots:0".into());
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Writes the three files into the container's dir.
pub fn write(dir: &Path, hc: &HostConfig, input: &EtcInput) -> Result<()> {
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = [
        ("hostname", format!("{}\n", input.hostname)),
        ("hosts", hosts(hc, input)),
        ("resolv.conf", resolv_conf(hc, input, &host)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        // A start rewrites what its create wrote: unchanged files are left alone (a
        // rewrite costs a truncate and a block allocation on disk).
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        // Replaced in place (not renamed over): a running container bind-mounts them.
        fs::write(&path, text).ctx(|| format!("writing {}/{name}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_own_address_links_and_host_gateway() {
        let hc = HostConfig {
            extra_hosts: Some(vec!["gw:host-gateway".into(), "db:10.0.0.9".into()]),
            ..Default::default()
        };
        let input = EtcInput {
            hostname: "c0ffee".into(),
            ip: Some(Ipv4Addr::new(172, 17, 0, 2)),
            links: vec![(Ipv4Addr::new(172, 17, 0, 3), "web abc123 webname".into())],
            host_gateway: Some(Ipv4Addr::new(172, 17, 0, 1)),
            ..Default::default()
        };
        let h = hosts(&hc, &input);
        assert!(h.contains("172.17.0.1\tgw\n"));
        assert!(h.contains("10.0.0.9\tdb\n"));
        assert!(h.contains("172.17.0.3\tweb abc123 webname\n"));
        assert!(h.ends_with("172.17.0.2\tc0ffee\n"));
    }

    #[test]
    fn resolv_conf_drops_loopback_and_uses_embedded_dns() {
        let host = "search example.com\nnameserver 127.0.0.53\noptions edns0\n";
        let hc = HostConfig::default();
        let plain = resolv_conf(&hc, &EtcInput::default(), host);
        assert!(!plain.contains("127.0.0.53"));
        assert!(plain.contains("nameserver 8.8.8.8"), "{plain}");
        let embedded = resolv_conf(
            &hc,
            &EtcInput {
                embedded_dns: true,
                ..Default::default()
            },
            host,
        );
        assert!(embedded.contains("nameserver 127.0.0.11\n"));
        assert!(embedded.contains("search example.com"));
        assert!(embedded.contains("options ndots:0"));
        let custom = resolv_conf(
            &HostConfig {
                dns: Some(vec!["1.1.1.1".into()]),
                dns_search: Some(vec!["corp".into()]),
                ..Default::default()
            },
            &EtcInput::default(),
            host,
        );
        assert!(custom.contains("nameserver 1.1.1.1\n") && custom.contains("search corp\n"));
        assert!(!custom.contains("example.com"));
    }
}
