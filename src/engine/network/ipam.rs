//! IPv4 address management: subnets (parse, overlap), picking a free subnet for a new
//! network that collides with neither berth's networks nor the host's routes, and the
//! next free address in a subnet.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 subnet in CIDR form; the address is kept as given (`172.18.0.1/16` is a
/// valid `--ip-range`-style value, `network()` gives its base).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        Ipv4Net { addr, prefix }
    }

    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The subnet's own address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The same subnet with host bits cleared.
    pub fn trunc(&self) -> Ipv4Net {
        Ipv4Net::new(self.network(), self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The first usable address (the conventional gateway).
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) + 1)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Ipv4Net, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| {
            if a.contains(':') {
                format!("IPv6 subnets are not supported by this build of berth: {s}")
            } else {
                format!("invalid CIDR address: {s}")
            }
        })?;
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
        Ok(Ipv4Net { addr, prefix })
    }
}

impl serde::Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv4Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ipv4Net, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut in /20s.
fn candidate_pools() -> impl Iterator<Item = Ipv4Net> {
    let big = (17..=31).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let small = (0..16).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    big.chain(small)
}

/// The first default pool that overlaps none of `taken` (berth's networks and the
/// host's routes, the default route excluded by the caller).
pub fn pick_subnet(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    candidate_pools().find(|c| !taken.iter().any(|t| t.overlaps(c)))
}

/// The host's IPv4 routes other than default routes, from /proc/net/route.
pub fn host_routes() -> Vec<Ipv4Net> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    parse_proc_routes(&text)
}

fn parse_proc_routes(text: &str) -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // /proc/net/route prints the network-order words as native integers.
        let dest = Ipv4Addr::from(dest.to_ne_bytes());
        let mask = u32::from_be_bytes(mask.to_ne_bytes());
        if mask == 0 {
            continue;
        }
        out.push(Ipv4Net::new(dest, mask.count_ones() as u8));
    }
    out
}

/// The lowest free address of `range` (or the whole subnet) inside `subnet`, skipping
/// the subnet's own and broadcast addresses, the gateway and everything in `used`.
pub fn next_free(
    subnet: &Ipv4Net,
    range: Option<&Ipv4Net>,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let pool = range.unwrap_or(subnet).trunc();
    let first = u32::from(pool.network()).max(u32::from(subnet.network()) + 1);
    let last = u32::from(pool.broadcast()).min(u32::from(subnet.broadcast()).saturating_sub(1));
    (first..=last)
        .map(Ipv4Addr::from)
        .find(|ip| *ip != gateway && !used.contains(ip))
}

/// Docker's MAC for an address: 02:42 followed by the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (dst, p) in mac.iter_mut().zip(parts) {
        *dst = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("test subnet")
    }

    #[test]
    fn subnets_parse_and_overlap() {
        let a = net("172.18.0.0/16");
        assert!(a.contains("172.18.255.254".parse().expect("ip")));
        assert!(!a.contains("172.19.0.1".parse().expect("ip")));
        assert!(a.overlaps(&net("172.18.5.0/24")));
        assert!(net("172.18.5.0/24").overlaps(&a));
        assert!(!a.overlaps(&net("172.19.0.0/16")));
        assert_eq!(net("10.1.2.3/8").network(), Ipv4Addr::new(10, 0, 0, 0));
        assert!("10.0.0.0".parse::<Ipv4Net>().is_err());
        assert!("10.0.0.0/33".parse::<Ipv4Net>().is_err());
        assert!("fd00::/64".parse::<Ipv4Net>().unwrap_err().contains("IPv6"));
    }

    #[test]
    fn picks_a_pool_clear_of_docker0_and_routes() {
        let taken = [net("172.17.0.0/16"), net("172.18.3.0/24")];
        assert_eq!(pick_subnet(&taken), Some(net("172.19.0.0/16")));
        assert_eq!(pick_subnet(&[]), Some(net("172.17.0.0/16")));
    }

    #[test]
    fn proc_routes_are_decoded() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_proc_routes(text), vec![net("192.0.2.0/24")]);
    }

    #[test]
    fn next_free_skips_gateway_used_and_edges() {
        let s = net("10.9.0.0/29");
        let gw = Ipv4Addr::new(10, 9, 0, 1);
        let mut used = HashSet::new();
        assert_eq!(
            next_free(&s, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 2))
        );
        used.insert(Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(
            next_free(&s, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 3))
        );
        for i in 3..=6 {
            used.insert(Ipv4Addr::new(10, 9, 0, i));
        }
        assert_eq!(
            next_free(&s, None, gw, &used),
            None,
            "broadcast is never given"
        );
        let range = net("10.9.0.4/30");
        assert_eq!(
            next_free(&s, Some(&range), gw, &HashSet::new()),
            Some(Ipv4Addr::new(10, 9, 0, 4))
        );
    }

    #[test]
    fn macs_follow_docker() {
        let m = mac_for(Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(format_mac(&m), "02:42:ac:11:00:02");
        assert_eq!(parse_mac("02:42:ac:11:00:02"), Some(m));
        assert_eq!(parse_mac("02:42:ac"), None);
    }
}
