//! berth's packet filter rules, in one nftables table berth owns. The whole table is
//! rebuilt from the metadata db in one atomic `nft -f` transaction whenever networks
//! change or published ports go away (a start only appends its ports' rules), so a crash
//! or a kill -9 can never leave a stale rule behind for longer than the next change, and
//! nothing outside the table is touched, except the accept rules (tagged with berth's
//! comment) that a FORWARD chain with a DROP policy from another tool needs, as Docker
//! and netavark add them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use super::ipam::Ipv4Net;
use crate::engine::error::{Error, Result};

/// One bridge network as the firewall sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FwNetwork {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub internal: bool,
}

/// One published port.
#[derive(Debug, Clone, PartialEq)]
pub struct FwPort {
    pub proto: String,
    /// None: every host address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// The rules for `networks` and `ports` as an nft script that replaces `table`.
pub fn ruleset(table: &str, networks: &[FwNetwork], ports: &[FwPort]) -> String {
    let mut s = String::new();
    // Declaring then deleting makes the replace work whether or not the table exists.
    let _ = writeln!(s, "table inet {table} {{}}\ndelete table inet {table}");
    let _ = writeln!(s, "table inet {table} {{");
    let bridges: Vec<String> = networks
        .iter()
        .map(|n| format!("\"{}\"", n.bridge))
        .collect();
    if !bridges.is_empty() {
        let _ = writeln!(
            s,
            "  set bridges {{\n    type ifname\n    elements = {{ {} }}\n  }}",
            bridges.join(", ")
        );
    }

    // Forwarding: traffic within a network, out of it (not for --internal), replies and
    // published ports in; everything else into a bridge, and between networks, dropped.
    let _ = writeln!(
        s,
        "  chain forward {{\n    type filter hook forward priority filter; policy accept;"
    );
    for n in networks {
        let b = &n.bridge;
        let _ = writeln!(s, "    iifname \"{b}\" oifname \"{b}\" accept");
        if n.internal {
            let _ = writeln!(s, "    iifname \"{b}\" drop");
            let _ = writeln!(s, "    oifname \"{b}\" drop");
            continue;
        }
        let _ = writeln!(s, "    iifname \"{b}\" oifname @bridges drop");
        let _ = writeln!(s, "    oifname \"{b}\" ct state established,related accept");
        let _ = writeln!(s, "    oifname \"{b}\" ct status dnat accept");
        let _ = writeln!(s, "    oifname \"{b}\" drop");
    }
    let _ = writeln!(s, "  }}");

    // Published ports: DNAT for traffic to a local address, from outside (prerouting)
    // and from the host itself (output).
    let _ = writeln!(
        s,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n    fib daddr type local jump ports\n  }}"
    );
    let _ = writeln!(
        s,
        "  chain output {{\n    type nat hook output priority -100; policy accept;\n    fib daddr type local jump ports\n  }}"
    );
    let _ = writeln!(s, "  chain ports {{");
    for p in ports {
        let _ = writeln!(s, "    {}", port_rule(p));
    }
    let _ = writeln!(s, "  }}");

    // Source NAT: containers out to the world, connections from the host's loopback to
    // a published port, and hairpin (a container to a port published on the host).
    let _ = writeln!(
        s,
        "  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;"
    );
    for n in networks {
        let b = &n.bridge;
        let subnet = n.subnet.trunc();
        if !n.internal {
            let _ = writeln!(s, "    ip saddr {subnet} oifname != \"{b}\" masquerade");
        }
        let _ = writeln!(s, "    oifname \"{b}\" ip saddr 127.0.0.0/8 masquerade");
        let _ = writeln!(
            s,
            "    oifname \"{b}\" ct status dnat ip saddr {subnet} masquerade"
        );
    }
    let _ = writeln!(s, "  }}\n}}");
    s
}

/// The DNAT rule of one published port, as it stands in the `ports` chain.
fn port_rule(p: &FwPort) -> String {
    let daddr = p
        .host_ip
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| format!("ip daddr {ip} "))
        .unwrap_or_default();
    format!(
        "{daddr}{proto} dport {hp} dnat ip to {cip}:{cp}",
        proto = p.proto,
        hp = p.host_port,
        cip = p.container_ip,
        cp = p.container_port
    )
}

/// An nft script that appends `ports`' rules to the `ports` chain of an existing
/// `table` (built by [`ruleset`]). Fails, changing nothing, when the table or the chain
/// is missing.
pub fn add_ports_script(table: &str, ports: &[FwPort]) -> String {
    let mut s = String::new();
    for p in ports {
        let _ = writeln!(s, "add rule inet {table} ports {}", port_rule(p));
    }
    s
}

/// Removes berth's table (`network` cleanup of a whole root).
pub fn delete_table(table: &str) -> Result<()> {
    nft_apply(&format!(
        "table inet {table} {{}}\ndelete table inet {table}\n"
    ))
}

/// Runs an nft script as one transaction.
pub fn nft_apply(script: &str) -> Result<()> {
    let mut child = Command::new(nft_binary()?)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("running nft", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io("writing the nft rules", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("running nft", e))?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "applying firewall rules failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn nft_binary() -> Result<&'static str> {
    for p in ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"] {
        if std::path::Path::new(p).exists() {
            return Ok(p);
        }
    }
    Err(Error::Other(
        "bridge networking needs nftables: install it (apt-get install nftables)".into(),
    ))
}

/// The comment berth tags the rules it adds to another tool's chain with.
const COMPAT_COMMENT: &str = "berth";

/// When another tool's `ip filter FORWARD` chain (iptables-nft, Docker) drops by policy,
/// bridged container traffic dies there whatever berth's own chain says. Adds accept
/// rules for berth's bridges to that chain (replacing berth's earlier ones); leaves the
/// chain alone otherwise. Rules berth did not add are never touched.
pub fn sync_forward_compat(bridges: &[String]) -> Result<()> {
    let Ok(out) = Command::new(nft_binary()?)
        .args(["-a", "list", "chain", "ip", "filter", "FORWARD"])
        .stderr(Stdio::null())
        .output()
    else {
        return Ok(());
    };
    if !out.status.success() {
        return Ok(()); // no such chain: nothing to work around
    }
    let listing = String::from_utf8_lossy(&out.stdout);
    let script = forward_compat_script(&listing, bridges);
    if script.is_empty() {
        return Ok(());
    }
    nft_apply(&script)
}

/// The nft commands that make `listing` (an `nft -a list chain ip filter FORWARD`) hold
/// exactly berth's accept rules for `bridges` when its policy is drop.
fn forward_compat_script(listing: &str, bridges: &[String]) -> String {
    let drops = listing.contains("policy drop");
    let mut s = String::new();
    let mut present = Vec::new();
    for line in listing.lines() {
        if !line.contains(&format!("comment \"{COMPAT_COMMENT}\"")) {
            continue;
        }
        let Some(handle) = line
            .rsplit_once("# handle ")
            .and_then(|(_, h)| h.trim().parse::<u64>().ok())
        else {
            continue;
        };
        let keep = drops
            && bridges.iter().any(|b| {
                line.contains(&format!("iifname \"{b}\""))
                    || line.contains(&format!("oifname \"{b}\""))
            });
        if keep {
            present.push(line.trim().to_string());
        } else {
            let _ = writeln!(s, "delete rule ip filter FORWARD handle {handle}");
        }
    }
    if drops {
        for b in bridges {
            for dir in ["iifname", "oifname"] {
                let rule = format!("{dir} \"{b}\" accept comment \"{COMPAT_COMMENT}\"");
                if !present.iter().any(|p| p.starts_with(&rule)) {
                    let _ = writeln!(s, "insert rule ip filter FORWARD {rule}");
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_port_rules_are_the_rebuilt_tables_rules() {
        let ports = [
            FwPort {
                proto: "tcp".into(),
                host_ip: None,
                host_port: 8080,
                container_ip: Ipv4Addr::new(172, 17, 0, 2),
                container_port: 80,
            },
            FwPort {
                proto: "udp".into(),
                host_ip: Some(Ipv4Addr::new(127, 0, 0, 1)),
                host_port: 5353,
                container_ip: Ipv4Addr::new(172, 17, 0, 2),
                container_port: 53,
            },
        ];
        let added = add_ports_script("berth_t", &ports);
        assert_eq!(
            added,
            "add rule inet berth_t ports tcp dport 8080 dnat ip to 172.17.0.2:80\n\
             add rule inet berth_t ports ip daddr 127.0.0.1 udp dport 5353 dnat ip to 172.17.0.2:53\n"
        );
        // The same rules a rebuild writes into the chain, so adding then rebuilding
        // changes nothing.
        let rebuilt = ruleset("berth_t", &[], &ports);
        for line in added.lines() {
            let rule = line.trim_start_matches("add rule inet berth_t ports ");
            assert!(rebuilt.contains(&format!("    {rule}\n")), "{rule}");
        }
        assert_eq!(add_ports_script("berth_t", &[]), "");
    }

    #[test]
    fn ruleset_covers_nat_isolation_and_ports() {
        let nets = [
            FwNetwork {
                bridge: "berth0".into(),
                subnet: "172.17.0.0/16".parse().expect("subnet"),
                internal: false,
            },
            FwNetwork {
                bridge: "br-int".into(),
                subnet: "172.30.0.0/24".parse().expect("subnet"),
                internal: true,
            },
        ];
        let ports = [FwPort {
            proto: "tcp".into(),
            host_ip: Some(Ipv4Addr::new(127, 0, 0, 1)),
            host_port: 8080,
            container_ip: Ipv4Addr::new(172, 17, 0, 2),
            container_port: 80,
        }];
        let s = ruleset("berth", &nets, &ports);
        assert!(s.starts_with("table inet berth {}\ndelete table inet berth\n"));
        assert!(s.contains("ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade"));
        assert!(!s.contains("ip saddr 172.30.0.0/24 oifname != \"br-int\" masquerade"));
        assert!(s.contains("iifname \"br-int\" drop"));
        assert!(s.contains("iifname \"berth0\" oifname @bridges drop"));
        assert!(s.contains("ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 172.17.0.2:80"));
        assert!(s.contains("elements = { \"berth0\", \"br-int\" }"));
    }

    #[test]
    fn forward_compat_only_with_a_drop_policy() {
        let accepting = "table ip filter {\n\tchain FORWARD { # handle 2\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n";
        assert_eq!(forward_compat_script(accepting, &["berth0".into()]), "");
        let dropping = "table ip filter {\n\tchain FORWARD { # handle 2\n\t\ttype filter hook forward priority filter; policy drop;\n\t\toifname \"old0\" accept comment \"berth\" # handle 7\n\t\tiifname \"docker0\" accept # handle 8\n\t}\n}\n";
        let s = forward_compat_script(dropping, &["berth0".into()]);
        assert!(s.contains("delete rule ip filter FORWARD handle 7"));
        assert!(!s.contains("handle 8"), "other tools' rules stay: {s}");
        assert!(
            s.contains("insert rule ip filter FORWARD iifname \"berth0\" accept comment \"berth\"")
        );
        assert!(
            s.contains("insert rule ip filter FORWARD oifname \"berth0\" accept comment \"berth\"")
        );
    }
}
