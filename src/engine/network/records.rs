//! Networks and endpoints in the metadata db. An endpoint row says a container is
//! connected to a network; its address is allocated when the container starts and
//! returned when it stops, inside one IMMEDIATE transaction so concurrent starts never
//! hand out the same address (the UNIQUE(network_id, ip) constraint backs that up).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::ipam::{self, Ipv4Net};
use crate::engine::error::{Error, Result};
use crate::engine::store::Store;

/// What a network is, fixed at create time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkConfig {
    /// "bridge", "host" or "null".
    pub driver: String,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Ipv4Net>,
    /// Subnet chosen by the user (static `--ip` is only allowed then, as in Docker).
    #[serde(default)]
    pub user_subnet: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The Linux bridge's name (bridge driver).
    pub bridge: Option<String>,
    pub mtu: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub created: String,
    pub config: NetworkConfig,
}

impl Network {
    /// berth's three built-in networks (bridge, host, none).
    pub fn is_builtin(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }

    /// A user-defined network: embedded DNS, aliases, static addresses.
    pub fn is_user_defined(&self) -> bool {
        !self.is_builtin()
    }

    pub fn subnet(&self) -> Result<Ipv4Net> {
        self.config
            .subnet
            .ok_or_else(|| Error::Other(format!("network {} has no subnet", self.name)))
    }

    pub fn gateway(&self) -> Result<Ipv4Addr> {
        match self.config.gateway {
            Some(g) => Ok(g),
            None => Ok(self.subnet()?.first_host()),
        }
    }
}

/// A container's settings on one network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EndpointConfig {
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`: a static address.
    pub ipv4: Option<Ipv4Addr>,
    /// `--mac-address`.
    pub mac: Option<String>,
    /// Legacy links on a user network are aliases; kept for inspect.
    #[serde(default)]
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub network_id: String,
    pub container_id: String,
    pub endpoint_id: String,
    pub config: EndpointConfig,
    /// Allocated while the container runs.
    pub ip: Option<Ipv4Addr>,
}

pub struct Networks<'a> {
    store: &'a Store,
}

fn decode_network(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn network_from(raw: (String, String, String, String)) -> Result<Network> {
    let (id, name, created, config) = raw;
    let config = serde_json::from_str(&config)
        .map_err(|e| Error::Other(format!("network {name}: damaged record: {e}")))?;
    Ok(Network {
        id,
        name,
        created,
        config,
    })
}

fn decode_endpoint(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn endpoint_from(raw: (String, String, String, String, Option<String>)) -> Result<Endpoint> {
    let (network_id, container_id, endpoint_id, config, ip) = raw;
    let config = serde_json::from_str(&config)
        .map_err(|e| Error::Other(format!("endpoint of {container_id}: damaged record: {e}")))?;
    Ok(Endpoint {
        network_id,
        container_id,
        endpoint_id,
        config,
        ip: ip.and_then(|s| s.parse().ok()),
    })
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Other(format!("encoding a network record: {e}")))
}

const NET_COLUMNS: &str = "id, name, created, config";
const EP_COLUMNS: &str = "network_id, container_id, endpoint_id, config, ip";

impl<'a> Networks<'a> {
    pub fn new(store: &'a Store) -> Self {
        Networks { store }
    }

    pub fn list(&self) -> Result<Vec<Network>> {
        let db = self.store.db();
        let mut st = db.prepare(&format!("SELECT {NET_COLUMNS} FROM networks ORDER BY name"))?;
        let rows = st
            .query_map([], decode_network)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(network_from).collect()
    }

    /// By exact name, full id, or unique id prefix (Docker's order).
    pub fn resolve(&self, name_or_id: &str) -> Result<Network> {
        let all = self.list()?;
        if let Some(n) = all
            .iter()
            .find(|n| n.name == name_or_id || n.id == name_or_id)
        {
            return Ok(n.clone());
        }
        let matches: Vec<&Network> = if name_or_id.is_empty() {
            Vec::new()
        } else {
            all.iter()
                .filter(|n| n.id.starts_with(name_or_id))
                .collect()
        };
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NotFound(format!("network {name_or_id} not found"))),
            _ => Err(Error::invalid(format!(
                "network {name_or_id} is ambiguous ({} matches found)",
                matches.len()
            ))),
        }
    }

    /// Inserts a network; the name must be free.
    pub fn insert(&self, n: &Network) -> Result<()> {
        let db = self.store.db();
        let res = db.execute(
            "INSERT INTO networks (id, name, created, config) VALUES (?1, ?2, ?3, ?4)",
            params![n.id, n.name, n.created, json(&n.config)?],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::Conflict(format!(
                    "network with name {} already exists",
                    n.name
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a network with no endpoints left.
    pub fn delete(&self, id: &str) -> Result<()> {
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let users: i64 = tx.query_row(
            "SELECT COUNT(*) FROM endpoints WHERE network_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        if users > 0 {
            return Err(Error::Conflict("network has active endpoints".into()));
        }
        tx.execute("DELETE FROM networks WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    pub fn endpoints_of_network(&self, network_id: &str) -> Result<Vec<Endpoint>> {
        let db = self.store.db();
        let mut st = db.prepare(&format!(
            "SELECT {EP_COLUMNS} FROM endpoints WHERE network_id = ?1 ORDER BY container_id"
        ))?;
        let rows = st
            .query_map([network_id], decode_endpoint)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(endpoint_from).collect()
    }

    pub fn endpoints_of_container(&self, container_id: &str) -> Result<Vec<Endpoint>> {
        let db = self.store.db();
        let mut st = db.prepare(&format!(
            "SELECT {EP_COLUMNS} FROM endpoints WHERE container_id = ?1 ORDER BY rowid"
        ))?;
        let rows = st
            .query_map([container_id], decode_endpoint)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(endpoint_from).collect()
    }

    /// Connects a container (no address yet).
    pub fn add_endpoint(&self, ep: &Endpoint) -> Result<()> {
        let db = self.store.db();
        let res = db.execute(
            "INSERT INTO endpoints (network_id, container_id, endpoint_id, config, ip) VALUES (?1, ?2, ?3, ?4, NULL)",
            params![ep.network_id, ep.container_id, ep.endpoint_id, json(&ep.config)?],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::Conflict(
                    "endpoint with this name already exists in the network".into(),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn remove_endpoint(&self, network_id: &str, container_id: &str) -> Result<bool> {
        let n = self.store.db().execute(
            "DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
            params![network_id, container_id],
        )?;
        Ok(n > 0)
    }

    pub fn remove_container(&self, container_id: &str) -> Result<()> {
        self.store.db().execute(
            "DELETE FROM endpoints WHERE container_id = ?1",
            [container_id],
        )?;
        Ok(())
    }

    /// Gives the endpoint an address: its static one, or the next free one.
    pub fn allocate(&self, net: &Network, container_id: &str) -> Result<Ipv4Addr> {
        let subnet = net.subnet()?;
        let gateway = net.gateway()?;
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT config, ip FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                params![net.id, container_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((config, current)) = row else {
            return Err(Error::NotFound(format!(
                "container {container_id} is not connected to network {}",
                net.name
            )));
        };
        if let Some(ip) = current.and_then(|s| s.parse().ok()) {
            return Ok(ip);
        }
        let config: EndpointConfig = serde_json::from_str(&config)
            .map_err(|e| Error::Other(format!("damaged endpoint record: {e}")))?;
        let used: HashSet<Ipv4Addr> = {
            let mut st =
                tx.prepare("SELECT ip FROM endpoints WHERE network_id = ?1 AND ip IS NOT NULL")?;
            let ips = st
                .query_map([&net.id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ips.iter().filter_map(|s| s.parse().ok()).collect()
        };
        let ip = match config.ipv4 {
            Some(ip) => {
                if used.contains(&ip) || ip == gateway {
                    return Err(Error::Conflict(format!(
                        "Address already in use: {ip} on network {}",
                        net.name
                    )));
                }
                ip
            }
            None => ipam::next_free(&subnet, net.config.ip_range.as_ref(), gateway, &used)
                .ok_or_else(|| {
                    Error::Other(format!(
                        "no available IPv4 addresses on network {} ({subnet})",
                        net.name
                    ))
                })?,
        };
        tx.execute(
            "UPDATE endpoints SET ip = ?3 WHERE network_id = ?1 AND container_id = ?2",
            params![net.id, container_id, ip.to_string()],
        )?;
        tx.commit()?;
        Ok(ip)
    }

    /// Returns a container's addresses to their networks' pools.
    pub fn release(&self, container_id: &str) -> Result<()> {
        self.store.db().execute(
            "UPDATE endpoints SET ip = NULL WHERE container_id = ?1",
            [container_id],
        )?;
        Ok(())
    }

    /// The subnets of every berth network.
    pub fn subnets(&self) -> Result<Vec<Ipv4Net>> {
        Ok(self
            .list()?
            .into_iter()
            .filter_map(|n| n.config.subnet)
            .collect())
    }

    /// Looks a network up by id.
    pub fn get(&self, id: &str) -> Result<Option<Network>> {
        let db = self.store.db();
        let raw = db
            .query_row(
                &format!("SELECT {NET_COLUMNS} FROM networks WHERE id = ?1"),
                [id],
                decode_network,
            )
            .optional()?;
        raw.map(network_from).transpose()
    }
}
