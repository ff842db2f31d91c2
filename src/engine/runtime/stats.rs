//! `stats`: one sample per container from its cgroup (and its network namespace),
//! with Docker's CPU % maths against the previous recorded sample, so a one-shot
//! `stats --no-stream` needs no second read when a recent sample exists.

use std::fs;
use std::time::Duration;

use crate::engine::error::{Error, Result};
use crate::engine::runtime::cgroups::{self, container_path, Cgroups, Sample};
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::runtime::paths;
use crate::engine::store::Store;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StatsRow {
    pub id: String,
    pub name: String,
    pub cpu_percent: f64,
    pub mem_used: u64,
    pub mem_limit: u64,
    pub mem_percent: f64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// The CPU counters of the previous sample, kept in the runtime dir.
fn prev_path(store: &Store, id: &str) -> std::path::PathBuf {
    paths::bundle_dir(store, id).join("stats.prev")
}

fn load_prev(store: &Store, id: &str) -> Option<(u64, u64)> {
    let text = fs::read_to_string(prev_path(store, id)).ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

fn save_prev(store: &Store, id: &str, s: &Sample) {
    let _ = fs::write(
        prev_path(store, id),
        format!("{} {}\n", s.cpu_total_ns, s.system_ns),
    );
}

/// Bytes received and sent on the container's interfaces other than loopback.
fn net_io(pid: i64) -> (u64, u64) {
    let Ok(dev) = fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    let mut rx = 0;
    let mut tx = 0;
    for line in dev.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        rx += f.first().copied().unwrap_or(0);
        tx += f.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

pub fn stats(store: &Store, rec: &ContainerRecord) -> Result<StatsRow> {
    if !rec.state.running {
        return Ok(StatsRow {
            id: rec.id.clone(),
            name: rec.name.clone(),
            ..Default::default()
        });
    }
    let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
    let path = container_path(&rec.id);
    let sample = |cg: &Cgroups| {
        cg.sample(&path)
            .map_err(|e| Error::Other(format!("reading the cgroup of {}: {e}", rec.id)))
    };
    let mut cur = sample(&cg)?;
    let prev = match load_prev(store, &rec.id) {
        Some((cpu, system)) if system < cur.system_ns && cpu <= cur.cpu_total_ns => Sample {
            cpu_total_ns: cpu,
            system_ns: system,
            ..Default::default()
        },
        // No earlier sample: take a second one shortly after, as docker's first tick does.
        _ => {
            let first = cur;
            std::thread::sleep(Duration::from_millis(100));
            cur = sample(&cg)?;
            first
        }
    };
    save_prev(store, &rec.id, &cur);
    let (mut block_read, mut block_write) = (0, 0);
    for e in &cur.blkio {
        match e.op.to_ascii_lowercase().as_str() {
            "read" => block_read += e.value,
            "write" => block_write += e.value,
            _ => {}
        }
    }
    let (net_rx, net_tx) = net_io(rec.state.pid);
    Ok(StatsRow {
        id: rec.id.clone(),
        name: rec.name.clone(),
        cpu_percent: cgroups::cpu_percent(&cur, &prev),
        mem_used: cgroups::memory_used(&cur),
        mem_limit: cur.mem_limit,
        mem_percent: cgroups::memory_percent(&cur),
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: cur.pids_current,
    })
}
