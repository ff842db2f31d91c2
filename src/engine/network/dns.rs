//! The embedded DNS server a container on a user-defined network talks to at
//! 127.0.0.11: names, aliases and short ids of the containers on its networks answer
//! from berth's records (A, PTR; AAAA gets an empty answer, as berth networks are IPv4),
//! every other question is forwarded to the host's resolvers. It is served by the
//! container's monitor: the listening socket lives in the container's namespace, the
//! forwarding socket in the host's, so even a host resolver on 127.0.0.53 is reachable.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const TYPE_A: u16 = 1;
const TYPE_PTR: u16 = 12;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const RCODE_SERVFAIL: u16 = 2;
const TTL: u32 = 600;

/// A parsed question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: u16,
    pub flags: u16,
    /// Lower-case, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Where the question section ends in the packet.
    pub end: usize,
}

/// Parses a standard query with one question; None for anything else.
pub fn parse_question(p: &[u8]) -> Option<Question> {
    if p.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let flags = u16::from_be_bytes([p[2], p[3]]);
    let qd = u16::from_be_bytes([p[4], p[5]]);
    // A query (QR=0), standard opcode, one question.
    if flags & 0x8000 != 0 || (flags >> 11) & 0xf != 0 || qd != 1 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *p.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // compression is not used in questions
        }
        let label = p.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]);
    let qclass = u16::from_be_bytes([*p.get(at + 2)?, *p.get(at + 3)?]);
    Some(Question {
        id,
        flags,
        name: labels.join("."),
        qtype,
        qclass,
        end: at + 4,
    })
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let b = label.as_bytes();
        let n = b.len().min(63);
        out.push(n as u8);
        out.extend_from_slice(&b[..n]);
    }
    out.push(0);
}

/// A response to `q` (whose packet is `query`) with `answers` as (type, rdata).
fn response(query: &[u8], q: &Question, rcode: u16, answers: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.end + answers.len() * 32);
    out.extend_from_slice(&q.id.to_be_bytes());
    // QR, the query's RD, RA, AA for names we own.
    let flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode;
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..q.end]);
    for (typ, rdata) in answers {
        out.extend_from_slice(&[0xc0, 0x0c]); // the question's name
        out.extend_from_slice(&typ.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    out
}

/// "4.3.2.1.in-addr.arpa" -> 1.2.3.4.
fn ptr_address(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut o: Vec<u8> = rest
        .split('.')
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<u8>>>()?;
    if o.len() != 4 {
        return None;
    }
    o.reverse();
    Some(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
}

/// Where local answers come from.
pub trait Records {
    /// Addresses for a name (container name, alias, short id), empty when unknown.
    fn lookup(&self, name: &str) -> Vec<Ipv4Addr>;
    /// The name for an address of a container on the same networks.
    fn reverse(&self, ip: Ipv4Addr) -> Option<String>;
}

/// What to do with a query.
#[derive(Debug, PartialEq)]
pub enum Action {
    Reply(Vec<u8>),
    Forward,
    Drop,
}

/// Answers a query from `records` or says to forward it.
pub fn answer(query: &[u8], records: &dyn Records) -> Action {
    let Some(q) = parse_question(query) else {
        return Action::Drop;
    };
    if q.qclass != CLASS_IN {
        return Action::Forward;
    }
    match q.qtype {
        TYPE_A | TYPE_AAAA => {
            let ips = records.lookup(&q.name);
            if ips.is_empty() {
                return Action::Forward;
            }
            let answers: Vec<(u16, Vec<u8>)> = if q.qtype == TYPE_A {
                ips.iter()
                    .map(|ip| (TYPE_A, ip.octets().to_vec()))
                    .collect()
            } else {
                Vec::new() // the name exists, with no IPv6 address
            };
            Action::Reply(response(query, &q, 0, &answers))
        }
        TYPE_PTR => match ptr_address(&q.name).and_then(|ip| records.reverse(ip)) {
            Some(name) => {
                let mut rdata = Vec::new();
                encode_name(&name, &mut rdata);
                Action::Reply(response(query, &q, 0, &[(TYPE_PTR, rdata)]))
            }
            None => Action::Forward,
        },
        _ => Action::Forward,
    }
}

struct Pending {
    client: SocketAddr,
    id: u16,
    at: Instant,
}

/// The server's sockets and forwarding state; the monitor's poll loop drives it.
pub struct Server {
    pub listen: UdpSocket,
    pub upstream: UdpSocket,
    upstreams: Vec<SocketAddr>,
    pending: HashMap<u16, Pending>,
    next_id: u16,
}

impl Server {
    pub fn new(listen: UdpSocket, upstreams: Vec<SocketAddr>) -> std::io::Result<Server> {
        let upstream = UdpSocket::bind("0.0.0.0:0")?;
        listen.set_nonblocking(true)?;
        upstream.set_nonblocking(true)?;
        Ok(Server {
            listen,
            upstream,
            upstreams,
            pending: HashMap::new(),
            next_id: rand::random(),
        })
    }

    /// Handles every query waiting on the listening socket.
    pub fn on_query(&mut self, records: &dyn Records) {
        let mut buf = [0u8; 4096];
        while let Ok((n, client)) = self.listen.recv_from(&mut buf) {
            let query = &buf[..n];
            match answer(query, records) {
                Action::Reply(r) => {
                    let _ = self.listen.send_to(&r, client);
                }
                Action::Forward => self.forward(query, client),
                Action::Drop => {}
            }
        }
    }

    fn forward(&mut self, query: &[u8], client: SocketAddr) {
        let now = Instant::now();
        self.pending
            .retain(|_, p| now.duration_since(p.at) < Duration::from_secs(5));
        let Some(q) = parse_question(query) else {
            return;
        };
        if self.upstreams.is_empty() {
            let _ = self
                .listen
                .send_to(&response(query, &q, RCODE_SERVFAIL, &[]), client);
            return;
        }
        // Our own id per forwarded query, so two clients' ids cannot collide.
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let mut out = query.to_vec();
        out[0..2].copy_from_slice(&id.to_be_bytes());
        let server = self.upstreams[usize::from(id) % self.upstreams.len()];
        if self.upstream.send_to(&out, server).is_ok() {
            self.pending.insert(
                id,
                Pending {
                    client,
                    id: q.id,
                    at: now,
                },
            );
        }
    }

    /// Relays answers from the upstream resolvers back to the clients that asked.
    pub fn on_answer(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = self.upstream.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            if let Some(p) = self.pending.remove(&id) {
                buf[0..2].copy_from_slice(&p.id.to_be_bytes());
                let _ = self.listen.send_to(&buf[..n], p.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        encode_name(name, &mut q);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    struct Fixed;
    impl Records for Fixed {
        fn lookup(&self, name: &str) -> Vec<Ipv4Addr> {
            if name == "web" {
                vec![Ipv4Addr::new(172, 18, 0, 2)]
            } else {
                Vec::new()
            }
        }
        fn reverse(&self, ip: Ipv4Addr) -> Option<String> {
            (ip == Ipv4Addr::new(172, 18, 0, 2)).then(|| "web".to_string())
        }
    }

    #[test]
    fn answers_known_names_and_forwards_others() {
        let q = query("Web", TYPE_A);
        let parsed = parse_question(&q).expect("question");
        assert_eq!(parsed.name, "web");
        let Action::Reply(r) = answer(&q, &Fixed) else {
            panic!("a local name must be answered");
        };
        assert_eq!(&r[0..2], &[0x12, 0x34]);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1, "one answer");
        assert_eq!(&r[r.len() - 4..], &[172, 18, 0, 2]);
        assert_eq!(
            answer(&query("example.com", TYPE_A), &Fixed),
            Action::Forward
        );
        let Action::Reply(r) = answer(&query("web", TYPE_AAAA), &Fixed) else {
            panic!("AAAA of a local name is answered (empty)");
        };
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 0);
    }

    #[test]
    fn reverse_lookups() {
        let Action::Reply(r) = answer(&query("2.0.18.172.in-addr.arpa", TYPE_PTR), &Fixed) else {
            panic!("PTR of a container address is answered");
        };
        assert!(r.ends_with(&[3, b'w', b'e', b'b', 0]));
        assert_eq!(
            answer(&query("9.9.9.9.in-addr.arpa", TYPE_PTR), &Fixed),
            Action::Forward
        );
    }

    #[test]
    fn garbage_is_dropped() {
        assert_eq!(answer(&[1, 2, 3], &Fixed), Action::Drop);
        let mut q = query("web", TYPE_A);
        q[2] |= 0x80; // a response, not a query
        assert_eq!(answer(&q, &Fixed), Action::Drop);
    }
}
