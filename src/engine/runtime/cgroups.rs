//! Container cgroups: path policy, v1/v2 detection, stats (with the docker
//! CLI's maths), freeze/thaw, `docker update` resource writes, OOM detection
//! and removal.
//!
//! youki's libcontainer creates each container's cgroup from the OCI spec's
//! `cgroupsPath`; everything after creation is plain file I/O here, so it
//! works the same over the real cgroupfs and over fake trees in tests.
//!
//! Hybrid hosts (v1 controllers plus a controller-less or hugetlb-only
//! cgroup2 at `<root>/unified`) are treated as v1, like libcontainer does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerBlkioStatEntry, ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage,
    ContainerMemoryStats, ContainerPidsStats, ContainerStatsResponse, ContainerStorageStats,
    ContainerThrottlingData, Resources,
};
use chrono::{DateTime, SecondsFormat, Utc};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
use nix::unistd::Pid;

/// Where the host mounts its cgroup hierarchies.
pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

/// v1 controllers whose presence under the root makes a host v1 (or hybrid).
const V1_CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuacct", "pids", "freezer", "blkio", "cpuset", "devices",
];

/// Docker hard-codes USER_HZ as 100 when converting /proc/stat and
/// cpuacct.stat ticks; it is a kernel ABI constant on Linux.
const CLOCK_TICKS_PER_SEC: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / CLOCK_TICKS_PER_SEC;

/// How long freeze/thaw waits for the kernel to report the new state.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long rmdir keeps retrying EBUSY (tasks still exiting).
const REMOVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Docker's CFS period when only NanoCpus is given (100ms).
const DEFAULT_CFS_PERIOD_US: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no usable cgroup hierarchy under {0}: neither cgroup2 with controllers nor mounted v1 controllers")]
    NoCgroups(PathBuf),
    #[error(
        "invalid cgroup path {0:?}: it must name a cgroup below the root, without '.' or '..'"
    )]
    InvalidPath(String),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("write {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("parse {path}: {reason} (content {content:?})")]
    Parse {
        path: PathBuf,
        content: String,
        reason: String,
    },
    #[error("{path}: state did not become {want} within {waited:?}")]
    Timeout {
        path: PathBuf,
        want: &'static str,
        waited: Duration,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl CgroupError {
    /// True when the cgroup (or a required file of it) does not exist, e.g.
    /// the container already stopped and its cgroup was deleted.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CgroupError::Io { source, .. } if source.kind() == ErrorKind::NotFound)
    }
}

type Result<T> = std::result::Result<T, CgroupError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroups {
    V1 { root: PathBuf },
    V2 { root: PathBuf },
}

/// berth's cgroup for a container: one flat level directly under the root of
/// every hierarchy, so removing it never leaves empty parents behind
/// (libcontainer's delete only removes the leaf). The same string goes into
/// the OCI spec's `cgroupsPath`. The full id keeps it unique; characters that
/// could escape the level (anything but `[A-Za-z0-9_.-]`) become `_`.
pub fn container_path(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/berth-{safe}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// v1: the kernel's op name ("Read", "Write", "Sync", ...); v2: "read"/"write", as Docker.
    pub op: String,
    pub value: u64,
}

/// One read of a container's cgroup files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub read: DateTime<Utc>,
    /// Read from a cgroup v2 tree; picks Docker's v1 or v2 JSON shape.
    pub v2: bool,
    pub cpu_total_ns: u64,
    /// v1 only (cpuacct.usage_percpu); empty on v2, like Docker.
    pub percpu_ns: Vec<u64>,
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    /// Host CPU time from /proc/stat (first 7 fields, ticks → ns), like Docker.
    pub system_ns: u64,
    pub online_cpus: u32,
    pub throttling: Throttling,
    pub mem_usage: u64,
    /// v1 only (memory.max_usage_in_bytes).
    pub mem_max_usage: Option<u64>,
    /// v1 memory.failcnt; v2 the "oom" count of memory.events (Docker's choice).
    pub mem_failcnt: Option<u64>,
    /// The cgroup limit, capped at host memory ("max"/unlimited → host total).
    pub mem_limit: u64,
    /// memory.stat, every key as the kernel reports it.
    pub mem_stats: BTreeMap<String, u64>,
    pub pids_current: u64,
    /// None when pids.max is "max" (or the pids controller is absent).
    pub pids_limit: Option<u64>,
    /// Bytes per device and op (Docker's io_service_bytes_recursive).
    pub blkio: Vec<BlkioEntry>,
    /// v1 only: IOs per device and op (Docker's io_serviced_recursive).
    pub blkio_serviced: Vec<BlkioEntry>,
}

// ---------------------------------------------------------------------------
// Detection and paths

impl Cgroups {
    /// Detects the layout of the host's /sys/fs/cgroup.
    pub fn detect() -> Result<Cgroups> {
        let root = Path::new(DEFAULT_ROOT);
        let is_cgroup2 = match statfs(root) {
            Ok(st) => st.filesystem_type() == CGROUP2_SUPER_MAGIC,
            Err(e) => {
                return Err(CgroupError::Io {
                    op: "statfs",
                    path: root.to_path_buf(),
                    source: io::Error::from(e),
                })
            }
        };
        Cgroups::detect_at(root, is_cgroup2)
    }

    /// Detection over any tree (fake ones in tests): v2 when `root` itself is
    /// a cgroup2 mount with controllers; else v1 when any v1 controller is
    /// mounted below it (a hybrid host counts as v1).
    pub fn detect_at(root: &Path, is_cgroup2: bool) -> Result<Cgroups> {
        if is_cgroup2 {
            let controllers = root.join("cgroup.controllers");
            match fs::read_to_string(&controllers) {
                Ok(s) if !s.trim().is_empty() => {
                    return Ok(Cgroups::V2 {
                        root: root.to_path_buf(),
                    })
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("read", &controllers, e)),
            }
        }
        if V1_CONTROLLERS.iter().any(|c| root.join(c).is_dir()) {
            return Ok(Cgroups::V1 {
                root: root.to_path_buf(),
            });
        }
        Err(CgroupError::NoCgroups(root.to_path_buf()))
    }

    pub fn root(&self) -> &Path {
        match self {
            Cgroups::V1 { root } | Cgroups::V2 { root } => root,
        }
    }

    pub fn is_v2(&self) -> bool {
        matches!(self, Cgroups::V2 { .. })
    }

    /// The directory of `path` in one v1 controller's hierarchy, or the v2 dir
    /// (the controller is ignored on v2).
    pub fn dir(&self, controller: &str, path: &str) -> Result<PathBuf> {
        let rel = relative(path)?;
        Ok(match self {
            Cgroups::V1 { root } => root.join(controller).join(rel),
            Cgroups::V2 { root } => root.join(rel),
        })
    }
}

/// A cgroup path relative to the hierarchy root. Refuses the root itself and
/// anything that could climb out of it: every operation here (rmdir, kill,
/// freeze) would be disastrous on the wrong cgroup.
fn relative(path: &str) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for comp in Path::new(path).components() {
        match comp {
            Component::RootDir => {}
            Component::Normal(c) => rel.push(c),
            _ => return Err(CgroupError::InvalidPath(path.to_string())),
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::InvalidPath(path.to_string()));
    }
    Ok(rel)
}

// ---------------------------------------------------------------------------
// File helpers: every error names its file.

fn io_err(op: &'static str, path: &Path, source: io::Error) -> CgroupError {
    CgroupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn parse_err(path: &Path, content: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::Parse {
        path: path.to_path_buf(),
        content: content.chars().take(200).collect(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| io_err("read", path, e))
}

/// Missing files are normal for optional controllers (no pids controller, no
/// swap accounting, ...).
fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path, e)),
    }
}

/// Never creates the file: a missing cgroup file means a missing controller
/// (or cgroup), which must be reported, also over plain test trees.
fn write(path: &Path, value: &str) -> Result<()> {
    use std::io::Write as _;
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            source,
        })
}

fn parse_u64(path: &Path, content: &str) -> Result<u64> {
    let t = content.trim();
    t.parse::<u64>()
        .map_err(|e| parse_err(path, content, format!("not an unsigned integer: {e}")))
}

/// A single value where "max" means unlimited (v2 limits, pids.max).
fn parse_max(path: &Path, content: &str) -> Result<Option<u64>> {
    if content.trim() == "max" {
        Ok(None)
    } else {
        parse_u64(path, content).map(Some)
    }
}

fn read_u64(path: &Path) -> Result<u64> {
    let s = read(path)?;
    parse_u64(path, &s)
}

fn read_u64_opt(path: &Path) -> Result<Option<u64>> {
    match read_opt(path)? {
        Some(s) => parse_u64(path, &s).map(Some),
        None => Ok(None),
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events, ...). Lines
/// whose value is not a number are skipped so new kernel keys never break
/// stats.
fn parse_flat_keyed(content: &str) -> BTreeMap<String, u64> {
    content
        .lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse::<u64>().ok()?;
            Some((k.to_string(), v))
        })
        .collect()
}

fn read_keyed_opt(path: &Path) -> Result<Option<BTreeMap<String, u64>>> {
    Ok(read_opt(path)?.map(|s| parse_flat_keyed(&s)))
}

/// "MAJ:MIN" of a blkio/io.stat line.
fn parse_dev(path: &Path, line: &str, dev: &str) -> Result<(u64, u64)> {
    let (maj, min) = dev
        .split_once(':')
        .ok_or_else(|| parse_err(path, line, "expected MAJOR:MINOR"))?;
    let maj = maj
        .parse()
        .map_err(|_| parse_err(path, line, "bad major number"))?;
    let min = min
        .parse()
        .map_err(|_| parse_err(path, line, "bad minor number"))?;
    Ok((maj, min))
}

/// v1 blkio "8:0 Read 4096" lines; the trailing "Total N" line is skipped,
/// as containerd does.
fn parse_blkio_v1(path: &Path, content: &str) -> Result<Vec<BlkioEntry>> {
    let mut out = Vec::new();
    for line in content.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 {
            continue;
        }
        let (major, minor) = parse_dev(path, line, f[0])?;
        let value = f[2]
            .parse()
            .map_err(|_| parse_err(path, line, "bad value"))?;
        out.push(BlkioEntry {
            major,
            minor,
            op: f[1].to_string(),
            value,
        });
    }
    Ok(out)
}

/// v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 ..." → Docker's two entries per
/// device, "read" and "write" bytes.
fn parse_io_stat_v2(path: &Path, content: &str) -> Result<Vec<BlkioEntry>> {
    let mut out = Vec::new();
    for line in content.lines() {
        let mut f = line.split_whitespace();
        let Some(dev) = f.next() else { continue };
        let (major, minor) = parse_dev(path, line, dev)?;
        let (mut rbytes, mut wbytes) = (0, 0);
        for kv in f {
            if let Some((k, v)) = kv.split_once('=') {
                let v: u64 = v
                    .parse()
                    .map_err(|_| parse_err(path, line, format!("bad value for {k}")))?;
                match k {
                    "rbytes" => rbytes = v,
                    "wbytes" => wbytes = v,
                    _ => {}
                }
            }
        }
        for (op, value) in [("read", rbytes), ("write", wbytes)] {
            out.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    Ok(out)
}

/// Host CPU time in ns (sum of the first 7 fields of the "cpu" line, as
/// Docker does) and the number of online CPUs ("cpuN" lines).
fn parse_proc_stat(content: &str) -> Option<(u64, u32)> {
    let mut total = None;
    let mut cpus = 0u32;
    for line in content.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            // The cpu lines come first; stop at the first other line.
            break;
        };
        if rest.starts_with(' ') {
            let fields: Vec<u64> = rest
                .split_whitespace()
                .take(7)
                .map(|f| f.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()?;
            if fields.len() < 7 {
                return None;
            }
            let ticks: u64 = fields.iter().fold(0u64, |a, b| a.saturating_add(*b));
            total = Some(ticks.saturating_mul(NS_PER_TICK));
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            cpus += 1;
        }
    }
    total.map(|t| (t, cpus))
}

fn host_cpu() -> Result<(u64, u32)> {
    let path = Path::new("/proc/stat");
    let s = read(path)?;
    parse_proc_stat(&s).ok_or_else(|| parse_err(path, &s, "no valid \"cpu\" line"))
}

/// Host RAM (MemTotal), read once: Docker caps memory limits at it.
fn machine_memory() -> u64 {
    static MEM: OnceLock<u64> = OnceLock::new();
    *MEM.get_or_init(|| {
        fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let rest = l.strip_prefix("MemTotal:")?;
                    let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                    Some(kb.saturating_mul(1024))
                })
            })
            .unwrap_or(0)
    })
}

fn cap_to_machine(limit: u64) -> u64 {
    let m = machine_memory();
    if m > 0 && limit > m {
        m
    } else {
        limit
    }
}

// ---------------------------------------------------------------------------
// Stats

impl Cgroups {
    /// One read of the container's cgroup files plus /proc/stat.
    pub fn sample(&self, path: &str) -> Result<Sample> {
        let read_at = Utc::now();
        let (system_ns, online_cpus) = host_cpu()?;
        let mut s = match self {
            Cgroups::V1 { .. } => self.sample_v1(path)?,
            Cgroups::V2 { .. } => self.sample_v2(path)?,
        };
        s.read = read_at;
        s.system_ns = system_ns;
        s.online_cpus = online_cpus;
        Ok(s)
    }

    fn sample_v1(&self, path: &str) -> Result<Sample> {
        let mut s = Sample::default();

        let acct = self.dir("cpuacct", path)?;
        // Required: a missing cpuacct.usage means the cgroup is gone.
        s.cpu_total_ns = read_u64(&acct.join("cpuacct.usage"))?;
        let f = acct.join("cpuacct.usage_percpu");
        if let Some(c) = read_opt(&f)? {
            s.percpu_ns = c
                .split_whitespace()
                .map(|v| v.parse::<u64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| parse_err(&f, &c, e.to_string()))?;
        }
        // User/system come in USER_HZ ticks; Docker reports them in ns.
        if let Some(m) = read_keyed_opt(&acct.join("cpuacct.stat"))? {
            s.cpu_user_ns = m.get("user").copied().unwrap_or(0) * NS_PER_TICK;
            s.cpu_system_ns = m.get("system").copied().unwrap_or(0) * NS_PER_TICK;
        }
        if let Some(m) = read_keyed_opt(&self.dir("cpu", path)?.join("cpu.stat"))? {
            s.throttling = Throttling {
                periods: m.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: m.get("nr_throttled").copied().unwrap_or(0),
                throttled_time_ns: m.get("throttled_time").copied().unwrap_or(0),
            };
        }

        let mem = self.dir("memory", path)?;
        s.mem_usage = read_u64(&mem.join("memory.usage_in_bytes"))?;
        s.mem_max_usage = read_u64_opt(&mem.join("memory.max_usage_in_bytes"))?;
        s.mem_failcnt = read_u64_opt(&mem.join("memory.failcnt"))?;
        // Unlimited reads as a huge page-aligned number; the cap fixes it.
        s.mem_limit =
            cap_to_machine(read_u64_opt(&mem.join("memory.limit_in_bytes"))?.unwrap_or(u64::MAX));
        s.mem_stats = read_keyed_opt(&mem.join("memory.stat"))?.unwrap_or_default();

        let pids = self.dir("pids", path)?;
        s.pids_current = read_u64_opt(&pids.join("pids.current"))?.unwrap_or(0);
        let f = pids.join("pids.max");
        s.pids_limit = match read_opt(&f)? {
            Some(c) => parse_max(&f, &c)?,
            None => None,
        };

        // The throttle layer counts every IO on current kernels; CFQ's files
        // (gone since 5.0) are only tried when it has nothing. containerd
        // uses the same two sources, CFQ first, but probing a missing file
        // on every sample costs time here.
        let blk = self.dir("blkio", path)?;
        s.blkio = read_blkio_v1(&blk, "io_service_bytes_recursive")?;
        s.blkio_serviced = read_blkio_v1(&blk, "io_serviced_recursive")?;
        Ok(s)
    }

    fn sample_v2(&self, path: &str) -> Result<Sample> {
        let dir = self.dir("", path)?;
        let mut s = Sample {
            v2: true,
            ..Sample::default()
        };

        // cpu.stat exists in every v2 cgroup; its absence means no cgroup.
        let f = dir.join("cpu.stat");
        let cpu = parse_flat_keyed(&read(&f)?);
        let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
        s.cpu_total_ns = us("usage_usec");
        s.cpu_user_ns = us("user_usec");
        s.cpu_system_ns = us("system_usec");
        s.throttling = Throttling {
            periods: cpu.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
            throttled_time_ns: us("throttled_usec"),
        };

        s.mem_usage = read_u64_opt(&dir.join("memory.current"))?.unwrap_or(0);
        let f = dir.join("memory.max");
        let limit = match read_opt(&f)? {
            Some(c) => parse_max(&f, &c)?,
            None => None,
        };
        s.mem_limit = cap_to_machine(limit.unwrap_or(u64::MAX));
        s.mem_stats = read_keyed_opt(&dir.join("memory.stat"))?.unwrap_or_default();
        s.mem_failcnt =
            read_keyed_opt(&dir.join("memory.events"))?.map(|m| m.get("oom").copied().unwrap_or(0));

        s.pids_current = read_u64_opt(&dir.join("pids.current"))?.unwrap_or(0);
        let f = dir.join("pids.max");
        s.pids_limit = match read_opt(&f)? {
            Some(c) => parse_max(&f, &c)?,
            None => None,
        };

        let f = dir.join("io.stat");
        if let Some(c) = read_opt(&f)? {
            s.blkio = parse_io_stat_v2(&f, &c)?;
        }
        Ok(s)
    }
}

fn read_blkio_v1(dir: &Path, name: &str) -> Result<Vec<BlkioEntry>> {
    for file in [format!("blkio.throttle.{name}"), format!("blkio.{name}")] {
        let f = dir.join(file);
        if let Some(c) = read_opt(&f)? {
            let entries = parse_blkio_v1(&f, &c)?;
            if !entries.is_empty() {
                return Ok(entries);
            }
        }
    }
    Ok(Vec::new())
}

/// The memory.stat keys Docker puts in `memory_stats.stats` on cgroup v1
/// (missing ones read as 0, as in Docker).
const DOCKER_V1_MEM_KEYS: &[&str] = &[
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

/// The memory.stat keys Docker reports on cgroup v2.
const DOCKER_V2_MEM_KEYS: &[&str] = &[
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
];

/// Go's zero time, which Docker sends as `preread` when there is no previous
/// sample.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// bollard's date type is a String, a chrono or a time value depending on
/// its features; its own deserializer accepts RFC 3339 in every case, so go
/// through it rather than depend on one representation.
fn bollard_dates(
    read: &str,
    preread: &str,
) -> (
    Option<bollard::models::BollardDate>,
    Option<bollard::models::BollardDate>,
) {
    let v = serde_json::json!({ "read": read, "preread": preread });
    match serde_json::from_value::<ContainerStatsResponse>(v) {
        Ok(r) => (r.read, r.preread),
        Err(_) => (None, None),
    }
}

fn cpu_stats(s: &Sample) -> ContainerCpuStats {
    ContainerCpuStats {
        cpu_usage: Some(ContainerCpuUsage {
            total_usage: Some(s.cpu_total_ns),
            // Docker omits per-CPU usage on v2 (the kernel has none).
            percpu_usage: (!s.v2).then(|| s.percpu_ns.clone()),
            usage_in_kernelmode: Some(s.cpu_system_ns),
            usage_in_usermode: Some(s.cpu_user_ns),
        }),
        system_cpu_usage: Some(s.system_ns),
        online_cpus: Some(s.online_cpus),
        throttling_data: Some(ContainerThrottlingData {
            periods: Some(s.throttling.periods),
            throttled_periods: Some(s.throttling.throttled_periods),
            throttled_time: Some(s.throttling.throttled_time_ns),
        }),
    }
}

/// What Docker sends as `precpu_stats` without a previous sample: zero
/// usage, no system usage or CPU count (Go's omitempty drops them).
fn zero_cpu_stats() -> ContainerCpuStats {
    ContainerCpuStats {
        cpu_usage: Some(ContainerCpuUsage {
            total_usage: Some(0),
            percpu_usage: None,
            usage_in_kernelmode: Some(0),
            usage_in_usermode: Some(0),
        }),
        system_cpu_usage: None,
        online_cpus: None,
        throttling_data: Some(ContainerThrottlingData {
            periods: Some(0),
            throttled_periods: Some(0),
            throttled_time: Some(0),
        }),
    }
}

fn blkio_entries(v: &[BlkioEntry]) -> Vec<ContainerBlkioStatEntry> {
    v.iter()
        .map(|e| ContainerBlkioStatEntry {
            major: Some(e.major),
            minor: Some(e.minor),
            op: Some(e.op.clone()),
            value: Some(e.value),
        })
        .collect()
}

/// Docker's stats JSON for one container from two samples, as the Engine API
/// returns it. `prev = None` gives zero `precpu_stats` and Go's zero time as
/// `preread`. The name gets Docker's leading '/' if it lacks one. Networks
/// are left to the caller (they come from the network namespace).
pub fn stats_response(
    id: &str,
    name: &str,
    cur: &Sample,
    prev: Option<&Sample>,
) -> ContainerStatsResponse {
    let preread = prev.map(|p| rfc3339(&p.read));
    let (read, preread) =
        bollard_dates(&rfc3339(&cur.read), preread.as_deref().unwrap_or(ZERO_TIME));

    let keys = if cur.v2 {
        DOCKER_V2_MEM_KEYS
    } else {
        DOCKER_V1_MEM_KEYS
    };
    let stats: HashMap<String, u64> = keys
        .iter()
        .map(|k| (k.to_string(), cur.mem_stats.get(*k).copied().unwrap_or(0)))
        .collect();
    let memory_stats = ContainerMemoryStats {
        usage: Some(cur.mem_usage),
        max_usage: if cur.v2 { None } else { cur.mem_max_usage },
        stats: Some(stats),
        failcnt: cur.mem_failcnt,
        limit: Some(cur.mem_limit),
        ..Default::default()
    };

    // Unlimited pids: containerd reports 0 on v1 and u64::MAX on v2.
    let pids_limit = cur.pids_limit.unwrap_or(if cur.v2 { u64::MAX } else { 0 });

    let blkio_stats = ContainerBlkioStats {
        io_service_bytes_recursive: Some(blkio_entries(&cur.blkio)),
        io_serviced_recursive: (!cur.v2).then(|| blkio_entries(&cur.blkio_serviced)),
        ..Default::default()
    };

    let name = if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    };

    ContainerStatsResponse {
        id: Some(id.to_string()),
        name: Some(name),
        os_type: Some("linux".to_string()),
        read,
        preread,
        cpu_stats: Some(cpu_stats(cur)),
        precpu_stats: Some(prev.map(cpu_stats).unwrap_or_else(zero_cpu_stats)),
        memory_stats: Some(memory_stats),
        networks: None,
        pids_stats: Some(ContainerPidsStats {
            current: Some(cur.pids_current),
            limit: Some(pids_limit),
        }),
        blkio_stats: Some(blkio_stats),
        num_procs: Some(0),
        storage_stats: Some(ContainerStorageStats::default()),
    }
}

/// The docker CLI's CPU %: (Δcontainer / Δsystem) × online CPUs × 100, 0 when
/// either delta is not positive. Online CPUs fall back to the per-CPU count.
pub fn cpu_percent(cur: &Sample, prev: &Sample) -> f64 {
    let cpu_delta = cur.cpu_total_ns as f64 - prev.cpu_total_ns as f64;
    let system_delta = cur.system_ns as f64 - prev.system_ns as f64;
    let mut online = f64::from(cur.online_cpus);
    if online == 0.0 {
        online = cur.percpu_ns.len() as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// The docker CLI's memory usage: usage minus inactive file cache
/// (v1 `total_inactive_file`, else `inactive_file` as on v2), never below 0.
pub fn memory_used(s: &Sample) -> u64 {
    if let Some(&v) = s.mem_stats.get("total_inactive_file") {
        if v < s.mem_usage {
            return s.mem_usage - v;
        }
    }
    let v = s.mem_stats.get("inactive_file").copied().unwrap_or(0);
    if v < s.mem_usage {
        return s.mem_usage - v;
    }
    s.mem_usage
}

/// The docker CLI's memory %: used / limit × 100 (0 without a limit).
pub fn memory_percent(s: &Sample) -> f64 {
    if s.mem_limit == 0 {
        0.0
    } else {
        memory_used(s) as f64 / s.mem_limit as f64 * 100.0
    }
}

// ---------------------------------------------------------------------------
// Freeze / thaw

impl Cgroups {
    /// `docker pause` / `unpause`: returns once the kernel reports the new
    /// state. A freeze that does not settle is rolled back (thawed) and
    /// reported as a timeout.
    pub fn freeze(&self, path: &str, frozen: bool) -> Result<()> {
        self.freeze_within(path, frozen, FREEZE_TIMEOUT)
    }

    fn freeze_within(&self, path: &str, frozen: bool, timeout: Duration) -> Result<()> {
        let res = match self {
            Cgroups::V1 { .. } => freeze_v1(&self.dir("freezer", path)?, frozen, timeout),
            Cgroups::V2 { .. } => freeze_v2(&self.dir("", path)?, frozen, timeout),
        };
        if res.is_err() && frozen {
            // Never leave a container half-frozen after reporting failure.
            let _ = match self {
                Cgroups::V1 { .. } => self
                    .dir("freezer", path)
                    .and_then(|d| write(&d.join("freezer.state"), "THAWED")),
                Cgroups::V2 { .. } => self
                    .dir("", path)
                    .and_then(|d| write(&d.join("cgroup.freeze"), "0")),
            };
        }
        res
    }
}

/// Polls with a short, growing sleep: freezing usually settles within a few
/// milliseconds.
fn wait_until(deadline: Instant, mut step: impl FnMut() -> Result<bool>) -> Result<bool> {
    let mut pause = Duration::from_millis(1);
    loop {
        if step()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

fn freeze_v1(dir: &Path, frozen: bool, timeout: Duration) -> Result<()> {
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    let done = wait_until(Instant::now() + timeout, || {
        // Rewriting FROZEN while the state is FREEZING retries the tasks
        // that have not stopped yet (what runc does too).
        write(&file, want)?;
        Ok(read(&file)?.trim() == want)
    })?;
    if done {
        Ok(())
    } else {
        Err(CgroupError::Timeout {
            path: file,
            want,
            waited: timeout,
        })
    }
}

fn freeze_v2(dir: &Path, frozen: bool, timeout: Duration) -> Result<()> {
    write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let events = dir.join("cgroup.events");
    let want = if frozen { 1 } else { 0 };
    let done = wait_until(Instant::now() + timeout, || {
        Ok(parse_flat_keyed(&read(&events)?).get("frozen") == Some(&want))
    })?;
    if done {
        Ok(())
    } else {
        Err(CgroupError::Timeout {
            path: events,
            want: if frozen { "frozen 1" } else { "frozen 0" },
            waited: timeout,
        })
    }
}

// ---------------------------------------------------------------------------
// docker update

/// runc's (and current youki's) CPU shares → cgroup v2 weight mapping: a
/// quadratic in log2(shares) that maps 2 → 1, 1024 → 100 and 262144 → 10000.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// runc's blkio weight [10, 1000] → io.weight [1, 10000] mapping.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

fn positive(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

/// v1 value: negative means unlimited (-1).
fn v1_num(v: i64) -> String {
    if v < 0 {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

/// v2 value: negative means "max".
fn v2_num(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// CPU quota/period to write: NanoCpus becomes Docker's quota over a 100ms
/// period; giving both NanoCpus and CpuQuota/CpuPeriod is refused, as Docker does.
fn cpu_quota_period(dir: &Path, r: &Resources) -> Result<(Option<i64>, Option<u64>)> {
    let period = positive(r.cpu_period);
    let quota = positive(r.cpu_quota);
    match positive(r.nano_cpus) {
        Some(nano) if nano > 0 => {
            if period.is_some() || quota.is_some() {
                return Err(CgroupError::Invalid {
                    path: dir.to_path_buf(),
                    reason: "NanoCpus conflicts with CpuPeriod/CpuQuota".to_string(),
                });
            }
            let p = DEFAULT_CFS_PERIOD_US;
            let q =
                i64::try_from(i128::from(nano) * i128::from(p) / 1_000_000_000).unwrap_or(i64::MAX);
            Ok((Some(q), Some(p)))
        }
        Some(_) => Err(CgroupError::Invalid {
            path: dir.to_path_buf(),
            reason: "NanoCpus must be positive".to_string(),
        }),
        None => {
            let period = match period {
                Some(p) if p > 0 => Some(p as u64),
                Some(_) => {
                    return Err(CgroupError::Invalid {
                        path: dir.to_path_buf(),
                        reason: "CpuPeriod must be positive".to_string(),
                    })
                }
                None => None,
            };
            Ok((quota, period))
        }
    }
}

impl Cgroups {
    /// `docker update`: writes the resources that are set. As in Docker's
    /// update API, 0 / None / "" mean "leave unchanged"; negative memory and
    /// quota values mean unlimited; a PidsLimit ≤ 0 means unlimited. Swap
    /// limits are skipped when the kernel has no swap accounting (Docker only
    /// warns there). Fields `docker update` cannot change (devices, ulimits,
    /// per-device blkio) are ignored.
    pub fn update(&self, path: &str, r: &Resources) -> Result<()> {
        match self {
            Cgroups::V1 { .. } => self.update_v1(path, r),
            Cgroups::V2 { .. } => self.update_v2(path, r),
        }
    }

    fn update_v1(&self, path: &str, r: &Resources) -> Result<()> {
        // Memory.
        let mem_dir = self.dir("memory", path)?;
        let memory = positive(r.memory);
        let mut swap = positive(r.memory_swap);
        if memory == Some(-1) && swap.is_none() {
            // Unlimited memory with unset swap means unlimited both (runc).
            swap = Some(-1);
        }
        let limit_file = mem_dir.join("memory.limit_in_bytes");
        let memsw_file = mem_dir.join("memory.memsw.limit_in_bytes");
        let swap = swap.filter(|_| memsw_file.exists());
        match (memory, swap) {
            (Some(m), Some(sw)) => {
                // The kernel requires memory ≤ memsw at every step, so raise
                // memsw first when growing and lower memory first when shrinking.
                let cur = read_u64(&limit_file)?;
                if sw < 0 || i128::from(cur) < i128::from(sw) {
                    write(&memsw_file, &v1_num(sw))?;
                    write(&limit_file, &v1_num(m))?;
                } else {
                    write(&limit_file, &v1_num(m))?;
                    write(&memsw_file, &v1_num(sw))?;
                }
            }
            (Some(m), None) => write(&limit_file, &v1_num(m))?,
            (None, Some(sw)) => write(&memsw_file, &v1_num(sw))?,
            (None, None) => {}
        }
        if let Some(res) = positive(r.memory_reservation) {
            write(&mem_dir.join("memory.soft_limit_in_bytes"), &v1_num(res))?;
        }

        // CPU.
        let cpu_dir = self.dir("cpu", path)?;
        if let Some(shares) = positive(r.cpu_shares) {
            write(&cpu_dir.join("cpu.shares"), &shares.max(0).to_string())?;
        }
        let (quota, period) = cpu_quota_period(&cpu_dir, r)?;
        let period_file = cpu_dir.join("cpu.cfs_period_us");
        let quota_file = cpu_dir.join("cpu.cfs_quota_us");
        let mut period_pending = None;
        if let Some(p) = period {
            match write(&period_file, &p.to_string()) {
                Ok(()) => {}
                // A smaller period can be refused until the new quota is in
                // (old quota / new period over the parent's); retry after.
                Err(CgroupError::Write { ref source, .. })
                    if source.raw_os_error() == Some(libc::EINVAL) && quota.is_some() =>
                {
                    period_pending = Some(p)
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(q) = quota {
            write(&quota_file, &v1_num(q))?;
            if let Some(p) = period_pending {
                write(&period_file, &p.to_string())?;
            }
        }
        if let Some(rt) = positive(r.cpu_realtime_period) {
            write(&cpu_dir.join("cpu.rt_period_us"), &rt.to_string())?;
        }
        if let Some(rt) = positive(r.cpu_realtime_runtime) {
            write(&cpu_dir.join("cpu.rt_runtime_us"), &rt.to_string())?;
        }

        // Cpuset.
        let cpuset_dir = self.dir("cpuset", path)?;
        if let Some(cpus) = r.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
            write(&cpuset_dir.join("cpuset.cpus"), cpus)?;
        }
        if let Some(mems) = r.cpuset_mems.as_deref().filter(|s| !s.is_empty()) {
            write(&cpuset_dir.join("cpuset.mems"), mems)?;
        }

        // Pids.
        if let Some(limit) = r.pids_limit {
            let v = if limit <= 0 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write(&self.dir("pids", path)?.join("pids.max"), &v)?;
        }

        // Blkio weight: BFQ's file on kernels without CFQ.
        if let Some(w) = r.blkio_weight.filter(|w| *w != 0) {
            let dir = self.dir("blkio", path)?;
            let bfq = dir.join("blkio.bfq.weight");
            let file = if bfq.exists() {
                bfq
            } else {
                dir.join("blkio.weight")
            };
            write(&file, &w.to_string())?;
        }
        Ok(())
    }

    fn update_v2(&self, path: &str, r: &Resources) -> Result<()> {
        let dir = self.dir("", path)?;

        // Memory. v2 limits swap alone, Docker's MemorySwap is memory+swap.
        let memory = positive(r.memory);
        let max_file = dir.join("memory.max");
        let swap_file = dir.join("memory.swap.max");
        if let Some(sw) = positive(r.memory_swap).or((memory == Some(-1)).then_some(-1)) {
            if swap_file.exists() {
                let mem_for_swap = match memory {
                    Some(m) => m,
                    None => {
                        let c = read(&max_file)?;
                        parse_max(&max_file, &c)?
                            .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
                            .unwrap_or(-1)
                    }
                };
                let v = if sw < 0 {
                    -1
                } else if mem_for_swap <= 0 {
                    return Err(CgroupError::Invalid {
                        path: swap_file,
                        reason: "a swap limit needs a memory limit".to_string(),
                    });
                } else if sw < mem_for_swap {
                    return Err(CgroupError::Invalid {
                        path: swap_file,
                        reason: format!(
                            "MemorySwap {sw} is below the memory limit {mem_for_swap} (it counts memory + swap)"
                        ),
                    });
                } else {
                    sw - mem_for_swap
                };
                write(&swap_file, &v2_num(v))?;
            }
        }
        if let Some(m) = memory {
            write(&max_file, &v2_num(m))?;
        }
        if let Some(res) = positive(r.memory_reservation) {
            write(&dir.join("memory.low"), &v2_num(res))?;
        }

        // CPU.
        if let Some(shares) = positive(r.cpu_shares) {
            let w = shares_to_weight(u64::try_from(shares).unwrap_or(0));
            if w > 0 {
                write(&dir.join("cpu.weight"), &w.to_string())?;
            }
        }
        let (quota, period) = cpu_quota_period(&dir, r)?;
        if quota.is_some() || period.is_some() {
            // cpu.max holds both; keep the half that is not being changed.
            let f = dir.join("cpu.max");
            let (old_quota, old_period) = match read_opt(&f)? {
                Some(c) => {
                    let mut it = c.split_whitespace();
                    let q = it.next().unwrap_or("max").to_string();
                    let p = it
                        .next()
                        .and_then(|p| p.parse::<u64>().ok())
                        .unwrap_or(DEFAULT_CFS_PERIOD_US);
                    (q, p)
                }
                None => ("max".to_string(), DEFAULT_CFS_PERIOD_US),
            };
            let q = quota.map(v2_num).unwrap_or(old_quota);
            let p = period.unwrap_or(old_period);
            write(&f, &format!("{q} {p}"))?;
        }
        if positive(r.cpu_realtime_period).is_some() || positive(r.cpu_realtime_runtime).is_some() {
            return Err(CgroupError::Invalid {
                path: dir,
                reason: "realtime CPU scheduling limits are not supported on cgroup v2".to_string(),
            });
        }

        // Cpuset.
        if let Some(cpus) = r.cpuset_cpus.as_deref().filter(|s| !s.is_empty()) {
            write(&dir.join("cpuset.cpus"), cpus)?;
        }
        if let Some(mems) = r.cpuset_mems.as_deref().filter(|s| !s.is_empty()) {
            write(&dir.join("cpuset.mems"), mems)?;
        }

        // Pids.
        if let Some(limit) = r.pids_limit {
            let v = if limit <= 0 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write(&dir.join("pids.max"), &v)?;
        }

        // IO weight: BFQ takes the v1 range as is, io.weight needs scaling.
        if let Some(w) = r.blkio_weight.filter(|w| *w != 0) {
            let bfq = dir.join("io.bfq.weight");
            if bfq.exists() {
                write(&bfq, &w.to_string())?;
            } else {
                write(
                    &dir.join("io.weight"),
                    &blkio_weight_to_io_weight(w).to_string(),
                )?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// OOM, processes, removal

impl Cgroups {
    /// How many processes the kernel OOM-killed in this cgroup (v1
    /// memory.oom_control `oom_kill`, v2 memory.events `oom_kill`). 0 when
    /// the kernel does not report it.
    pub fn oom_kill_count(&self, path: &str) -> Result<u64> {
        let f = match self {
            Cgroups::V1 { .. } => self.dir("memory", path)?.join("memory.oom_control"),
            Cgroups::V2 { .. } => self.dir("", path)?.join("memory.events"),
        };
        Ok(parse_flat_keyed(&read(&f)?)
            .get("oom_kill")
            .copied()
            .unwrap_or(0))
    }

    /// Docker's `State.OOMKilled`: read before the cgroup is removed.
    pub fn oom_killed(&self, path: &str) -> Result<bool> {
        Ok(self.oom_kill_count(path)? > 0)
    }

    /// Every process in the cgroup and its descendants (for `docker top`),
    /// sorted. On v1 any one hierarchy holds them all; the first present is used.
    pub fn pids(&self, path: &str) -> Result<Vec<i32>> {
        let dir = match self {
            Cgroups::V1 { .. } => {
                let mut found = None;
                for c in ["pids", "memory", "cpuacct", "cpu", "freezer", "systemd"] {
                    let d = self.dir(c, path)?;
                    if d.is_dir() {
                        found = Some(d);
                        break;
                    }
                }
                match found {
                    Some(d) => d,
                    None => {
                        return Err(io_err(
                            "read",
                            &self.dir("pids", path)?.join("cgroup.procs"),
                            io::Error::from(ErrorKind::NotFound),
                        ))
                    }
                }
            }
            Cgroups::V2 { .. } => self.dir("", path)?,
        };
        let mut out = BTreeSet::new();
        collect_pids(&dir, &mut out)?;
        Ok(out.into_iter().collect())
    }

    /// Moves process `pid` into the cgroup (every v1 hierarchy that has it, or the v2
    /// dir): how an exec'd process joins its container's limits and accounting.
    pub fn add_process(&self, path: &str, pid: i32) -> Result<()> {
        let rel = relative(path)?;
        let dirs: Vec<PathBuf> = match self {
            Cgroups::V1 { root } => hierarchies(root)?
                .into_iter()
                .map(|h| h.join(&rel))
                .filter(|d| d.is_dir())
                .collect(),
            Cgroups::V2 { root } => vec![root.join(&rel)],
        };
        for d in dirs {
            let f = d.join("cgroup.procs");
            fs::write(&f, pid.to_string()).map_err(|e| io_err("write", &f, e))?;
        }
        Ok(())
    }

    /// Removes the container's cgroup. See [`Cgroups::remove_with`].
    pub fn remove(&self, path: &str) -> Result<()> {
        self.remove_with(path, false)
    }

    /// Removes the cgroup from every v1 hierarchy (or the v2 dir), children
    /// first, retrying EBUSY briefly while tasks finish exiting. Missing dirs
    /// are fine. With `kill`, remaining processes get SIGKILL first.
    pub fn remove_with(&self, path: &str, kill_procs: bool) -> Result<()> {
        let rel = relative(path)?;
        if kill_procs {
            self.kill_all(path)?;
        }
        let dirs: Vec<PathBuf> = match self {
            Cgroups::V1 { root } => hierarchies(root)?
                .into_iter()
                .map(|h| h.join(&rel))
                .collect(),
            Cgroups::V2 { root } => vec![root.join(&rel)],
        };
        let deadline = Instant::now() + REMOVE_TIMEOUT;
        for d in dirs {
            remove_tree(&d, deadline)?;
        }
        Ok(())
    }

    /// SIGKILLs everything in the cgroup. v1 frozen tasks only die once
    /// thawed, so the cgroup is frozen (no forks slip through) while
    /// signalling and thawed after; v2 has cgroup.kill for the same job.
    fn kill_all(&self, path: &str) -> Result<()> {
        if let Cgroups::V2 { .. } = self {
            let f = self.dir("", path)?.join("cgroup.kill");
            if f.exists() {
                return match write(&f, "1") {
                    Ok(()) => Ok(()),
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e),
                };
            }
        }
        let deadline = Instant::now() + REMOVE_TIMEOUT;
        loop {
            let pids = match self.pids(path) {
                Ok(p) => p,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            if pids.is_empty() || Instant::now() >= deadline {
                return Ok(());
            }
            let froze = self
                .freeze_within(path, true, Duration::from_millis(500))
                .is_ok();
            for pid in pids {
                match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => {
                        return Err(CgroupError::Invalid {
                            path: PathBuf::from(path),
                            reason: format!("kill {pid}: {e}"),
                        })
                    }
                }
            }
            if froze {
                self.freeze(path, false)?;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The cgroup.procs file of the calling process's own cgroup: the v2 one, or on v1 the
/// one in the `pids` hierarchy (any hierarchy would do, see [`prewarm_attach`]).
fn own_procs_file(cg: &Cgroups, self_cgroup: &str) -> Option<PathBuf> {
    self_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, ctl, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        match cg {
            Cgroups::V2 { root } if ctl.is_empty() => Some(root.join(rel).join("cgroup.procs")),
            Cgroups::V1 { root } if ctl.split(',').any(|c| c == "pids") => {
                Some(root.join("pids").join(rel).join("cgroup.procs"))
            }
            _ => None,
        }
    })
}

/// Starts, on a thread of its own, the RCU grace period that the kernel makes the first
/// move of a process into a cgroup wait for (6-15 ms here: `cgroup_threadgroup_rwsem`
/// is a per-cpu rwsem, and a writer first waits for a grace period unless another writer
/// passed within the last one). The runtime's intermediate process moves itself into
/// the container's cgroup a few ms after a start begins; starting the wait now overlaps
/// it with that work, and the later move finds the lock warm. The move written here is
/// of the process into the cgroup it is already in, which changes nothing.
pub fn prewarm_attach() {
    let _ = thread::Builder::new().name("cgroup-warm".into()).spawn(|| {
        let Ok(cg) = Cgroups::detect() else { return };
        let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
            return;
        };
        if let Some(f) = own_procs_file(&cg, &own) {
            let _ = fs::write(f, std::process::id().to_string());
        }
    });
}

fn collect_pids(dir: &Path, out: &mut BTreeSet<i32>) -> Result<()> {
    let f = dir.join("cgroup.procs");
    let content = read(&f)?;
    for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pid = line
            .parse::<i32>()
            .map_err(|e| parse_err(&f, &content, e.to_string()))?;
        out.insert(pid);
    }
    for child in subdirs(dir)? {
        collect_pids(&child, out)?;
    }
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, e))?;
        let ft = entry
            .file_type()
            .map_err(|e| io_err("stat", &entry.path(), e))?;
        if ft.is_dir() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Every v1 hierarchy mounted under the root (plus the hybrid cgroup2 at
/// `unified`), once each: "cpu" and "cpuacct" are often symlinks to one
/// "cpu,cpuacct" mount.
fn hierarchies(root: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(root).map_err(|e| io_err("list", root, e))?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", root, e))?;
        let p = entry.path();
        if !p.is_dir() {
            continue;
        }
        let canon = fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.insert(canon) {
            out.push(p);
        }
    }
    Ok(out)
}

fn on_cgroupfs(dir: &Path) -> bool {
    statfs(dir)
        .map(|s| {
            let t = s.filesystem_type();
            t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC
        })
        .unwrap_or(true)
}

/// rmdir children first. On cgroupfs the interface files vanish with the
/// directory; a plain tree (tests) has real files, removed here.
fn remove_tree(dir: &Path, deadline: Instant) -> Result<()> {
    for child in subdirs(dir)? {
        remove_tree(&child, deadline)?;
    }
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                // Tasks still exiting keep the cgroup busy for a moment.
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && !on_cgroupfs(dir) => {
                clear_files(dir)?;
                fs::remove_dir(dir).map_err(|e| io_err("rmdir", dir, e))?;
                return Ok(());
            }
            Err(e) => return Err(io_err("rmdir", dir, e)),
        }
    }
}

fn clear_files(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| io_err("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, e))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(|e| io_err("stat", &p, e))?;
        if !ft.is_dir() {
            fs::remove_file(&p).map_err(|e| io_err("remove", &p, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::process::{Child, Command, Stdio};
    use tempfile::TempDir;

    fn put(dir: &Path, file: &str, content: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(file), content).unwrap();
    }

    fn get(dir: &Path, file: &str) -> String {
        fs::read_to_string(dir.join(file)).unwrap()
    }

    const P: &str = "/berth-abc";

    // ---- paths and detection

    #[test]
    fn container_path_is_flat_and_safe() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(container_path(id), format!("/berth-{id}"));
        assert_eq!(container_path("../x/y"), "/berth-.._x_y");
        // The sanitized form is always exactly one level.
        assert_eq!(
            relative(&container_path("a/../../b"))
                .unwrap()
                .components()
                .count(),
            1
        );
    }

    #[test]
    fn relative_refuses_root_and_escapes() {
        assert_eq!(relative("/berth-x").unwrap(), PathBuf::from("berth-x"));
        assert_eq!(relative("a/b").unwrap(), PathBuf::from("a/b"));
        for bad in ["", "/", "..", "/a/../b", "./a"] {
            let e = relative(bad).unwrap_err();
            assert!(matches!(e, CgroupError::InvalidPath(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn detect_at_fake_trees() {
        let t = TempDir::new().unwrap();
        let root = t.path();
        let e = Cgroups::detect_at(root, false).unwrap_err();
        assert!(e.to_string().contains(&root.display().to_string()), "{e}");

        put(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
        assert_eq!(
            Cgroups::detect_at(root, true).unwrap(),
            Cgroups::V2 {
                root: root.to_path_buf()
            }
        );

        // A cgroup2 root without controllers is not v2; hybrid v1 wins.
        put(root, "cgroup.controllers", "\n");
        fs::create_dir_all(root.join("memory")).unwrap();
        assert_eq!(
            Cgroups::detect_at(root, true).unwrap(),
            Cgroups::V1 {
                root: root.to_path_buf()
            }
        );
        assert_eq!(
            Cgroups::detect_at(root, false).unwrap(),
            Cgroups::V1 {
                root: root.to_path_buf()
            }
        );
    }

    #[test]
    fn detect_on_this_host() {
        let cg = Cgroups::detect().unwrap();
        if Path::new("/sys/fs/cgroup/memory").is_dir() {
            // This project's machines are hybrid: v1 controllers + unified.
            assert_eq!(
                cg,
                Cgroups::V1 {
                    root: PathBuf::from(DEFAULT_ROOT)
                }
            );
        }
    }

    #[test]
    fn own_procs_file_picks_the_v2_line_or_the_v1_pids_hierarchy() {
        let hybrid = "9:name=systemd:/\n8:pids:/user.slice/x\n4:memory:/m\n0::/u\n";
        let v1 = Cgroups::V1 {
            root: PathBuf::from("/sys/fs/cgroup"),
        };
        assert_eq!(
            own_procs_file(&v1, hybrid),
            Some(PathBuf::from(
                "/sys/fs/cgroup/pids/user.slice/x/cgroup.procs"
            ))
        );
        // Co-mounted controllers (cpu,cpuacct style) are found too.
        assert_eq!(
            own_procs_file(&v1, "3:blkio,pids:/\n"),
            Some(PathBuf::from("/sys/fs/cgroup/pids/cgroup.procs"))
        );
        assert_eq!(own_procs_file(&v1, "4:memory:/m\n"), None);
        let v2 = Cgroups::V2 {
            root: PathBuf::from("/sys/fs/cgroup"),
        };
        assert_eq!(
            own_procs_file(&v2, "0::/system.slice/a.service\n"),
            Some(PathBuf::from(
                "/sys/fs/cgroup/system.slice/a.service/cgroup.procs"
            ))
        );
        assert_eq!(own_procs_file(&v2, ""), None);
    }

    #[test]
    fn proc_stat_parsing() {
        let s = "cpu  10 20 30 40 50 60 70 80 0 0\ncpu0 5 10 15 20 25 30 35 40 0 0\ncpu1 5 10 15 20 25 30 35 40 0 0\nintr 1 2 3\n";
        assert_eq!(
            parse_proc_stat(s),
            Some(((10 + 20 + 30 + 40 + 50 + 60 + 70) * 10_000_000, 2))
        );
        assert_eq!(parse_proc_stat("cpu 1 2\n"), None);
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        let (sys, cpus) = host_cpu().unwrap();
        assert!(sys > 0 && cpus > 0);
    }

    // ---- v2 fake tree

    fn fake_v2() -> (TempDir, Cgroups, PathBuf) {
        let t = TempDir::new().unwrap();
        let root = t.path().to_path_buf();
        put(&root, "cgroup.controllers", "cpu io memory pids\n");
        let dir = root.join("berth-abc");
        put(&dir, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 7\nnr_throttled 3\nthrottled_usec 42\nnr_bursts 0\nburst_usec 0\n");
        put(&dir, "memory.current", "10485760\n");
        put(&dir, "memory.max", "max\n");
        put(
            &dir,
            "memory.stat",
            "anon 4096\nfile 8192\ninactive_file 2097152\nactive_file 1024\nslab 7\n",
        );
        put(
            &dir,
            "memory.events",
            "low 0\nhigh 0\nmax 4\noom 2\noom_kill 0\n",
        );
        put(&dir, "pids.current", "3\n");
        put(&dir, "pids.max", "max\n");
        put(&dir, "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
        put(&dir, "cgroup.procs", "11\n12\n");
        put(&dir, "cgroup.freeze", "0\n");
        put(&dir, "cgroup.events", "populated 1\nfrozen 0\n");
        put(&dir, "cpu.weight", "100\n");
        put(&dir, "cpu.max", "max 100000\n");
        put(&dir, "memory.swap.max", "max\n");
        put(&dir, "memory.low", "0\n");
        put(&dir, "io.weight", "default 100\n");
        put(&dir, "cpuset.cpus", "\n");
        put(&dir, "cpuset.mems", "\n");
        let cg = Cgroups::detect_at(&root, true).unwrap();
        (t, cg, dir)
    }

    #[test]
    fn v2_sample() {
        let (_t, cg, dir) = fake_v2();
        let s = cg.sample(P).unwrap();
        assert!(s.v2);
        assert_eq!(s.cpu_total_ns, 2_500_000);
        assert_eq!(s.cpu_user_ns, 2_000_000);
        assert_eq!(s.cpu_system_ns, 500_000);
        assert!(s.percpu_ns.is_empty());
        assert_eq!(
            s.throttling,
            Throttling {
                periods: 7,
                throttled_periods: 3,
                throttled_time_ns: 42_000
            }
        );
        assert_eq!(s.mem_usage, 10 << 20);
        assert_eq!(s.mem_limit, machine_memory());
        assert!(s.mem_limit > 0);
        assert_eq!(s.mem_stats.get("inactive_file"), Some(&2_097_152));
        assert_eq!(s.mem_failcnt, Some(2));
        assert_eq!(s.mem_max_usage, None);
        assert_eq!((s.pids_current, s.pids_limit), (3, None));
        assert_eq!(s.blkio.len(), 4);
        assert_eq!(
            s.blkio[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "write".into(),
                value: 8192
            }
        );
        assert!(s.system_ns > 0 && s.online_cpus > 0);

        put(&dir, "memory.max", "1048576\n");
        put(&dir, "pids.max", "64\n");
        let s = cg.sample(P).unwrap();
        assert_eq!((s.mem_limit, s.pids_limit), (1 << 20, Some(64)));

        put(&dir, "pids.max", "lots\n");
        let e = cg.sample(P).unwrap_err();
        assert!(e.to_string().contains("pids.max"), "{e}");

        let e = cg.sample("/berth-gone").unwrap_err();
        assert!(
            e.is_not_found() && e.to_string().contains("cpu.stat"),
            "{e}"
        );
    }

    #[test]
    fn v2_stats_response_shape() {
        let (_t, cg, _dir) = fake_v2();
        let prev = cg.sample(P).unwrap();
        let cur = cg.sample(P).unwrap();
        let r = stats_response("abc", "web", &cur, Some(&prev));
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["name"], "/web");
        assert_eq!(j["id"], "abc");
        assert_eq!(j["cpu_stats"]["cpu_usage"]["total_usage"], 2_500_000);
        assert!(j["cpu_stats"]["cpu_usage"].get("percpu_usage").is_none());
        assert_eq!(j["cpu_stats"]["throttling_data"]["throttled_time"], 42_000);
        let stats = &j["memory_stats"]["stats"];
        assert_eq!(stats["inactive_file"], 2_097_152);
        assert_eq!(stats["anon"], 4096);
        assert_eq!(stats["pgscan"], 0); // Docker's v2 keys, 0 when absent
        assert!(stats.get("cache").is_none() && stats.get("total_inactive_file").is_none());
        assert!(j["memory_stats"].get("max_usage").is_none());
        assert_eq!(j["memory_stats"]["failcnt"], 2);
        assert_eq!(j["pids_stats"]["limit"], u64::MAX);
        assert_eq!(
            j["blkio_stats"]["io_service_bytes_recursive"][0]["op"],
            "read"
        );
        assert!(j["blkio_stats"].get("io_serviced_recursive").is_none());
        assert_eq!(j["read"].as_str().unwrap(), rfc3339(&cur.read));
        assert_eq!(j["preread"].as_str().unwrap(), rfc3339(&prev.read));
    }

    #[test]
    fn v2_freeze_and_thaw() {
        let (_t, cg, dir) = fake_v2();
        // A real kernel flips cgroup.events itself; the fake is pre-set.
        put(&dir, "cgroup.events", "populated 1\nfrozen 1\n");
        cg.freeze(P, true).unwrap();
        assert_eq!(get(&dir, "cgroup.freeze"), "1");

        put(&dir, "cgroup.events", "populated 1\nfrozen 0\n");
        cg.freeze(P, false).unwrap();
        assert_eq!(get(&dir, "cgroup.freeze"), "0");

        // Never settling: a timeout naming the file, and the freeze is undone.
        let e = cg
            .freeze_within(P, true, Duration::from_millis(30))
            .unwrap_err();
        assert!(matches!(e, CgroupError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("cgroup.events"), "{e}");
        assert_eq!(get(&dir, "cgroup.freeze"), "0");
    }

    #[test]
    fn v2_update_conversions() {
        let (_t, cg, dir) = fake_v2();
        let r = Resources {
            memory: Some(256 << 20),
            memory_swap: Some(512 << 20),
            memory_reservation: Some(128 << 20),
            cpu_shares: Some(1024),
            nano_cpus: Some(1_500_000_000),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            pids_limit: Some(100),
            blkio_weight: Some(500),
            ..Default::default()
        };
        cg.update(P, &r).unwrap();
        assert_eq!(get(&dir, "memory.max"), "268435456");
        assert_eq!(get(&dir, "memory.swap.max"), "268435456"); // (mem+swap) − mem
        assert_eq!(get(&dir, "memory.low"), "134217728");
        assert_eq!(get(&dir, "cpu.weight"), "100");
        assert_eq!(get(&dir, "cpu.max"), "150000 100000");
        assert_eq!(get(&dir, "cpuset.cpus"), "0-1");
        assert_eq!(get(&dir, "cpuset.mems"), "0");
        assert_eq!(get(&dir, "pids.max"), "100");
        assert_eq!(get(&dir, "io.weight"), "4950");

        // Period alone keeps the quota; swap alone uses the current memory.max.
        cg.update(
            P,
            &Resources {
                cpu_period: Some(50_000),
                memory_swap: Some(300 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&dir, "cpu.max"), "150000 50000");
        assert_eq!(get(&dir, "memory.swap.max"), (44u64 << 20).to_string());

        // Unlimited everything.
        cg.update(
            P,
            &Resources {
                memory: Some(-1),
                cpu_quota: Some(-1),
                pids_limit: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&dir, "memory.max"), "max");
        assert_eq!(get(&dir, "memory.swap.max"), "max");
        assert_eq!(get(&dir, "cpu.max"), "max 50000");
        assert_eq!(get(&dir, "pids.max"), "max");

        // Zero / None leave files alone.
        put(&dir, "cpu.weight", "77");
        cg.update(
            P,
            &Resources {
                cpu_shares: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&dir, "cpu.weight"), "77");

        // BFQ takes the weight unscaled.
        put(&dir, "io.bfq.weight", "default 100\n");
        cg.update(
            P,
            &Resources {
                blkio_weight: Some(300),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&dir, "io.bfq.weight"), "300");

        // Docker's refusals.
        let e = cg
            .update(
                P,
                &Resources {
                    memory: Some(256 << 20),
                    memory_swap: Some(100 << 20),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("memory.swap.max"), "{e}");
        let e = cg
            .update(
                P,
                &Resources {
                    nano_cpus: Some(1_000_000_000),
                    cpu_quota: Some(5000),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("NanoCpus"), "{e}");
        let e = cg
            .update(
                P,
                &Resources {
                    cpu_realtime_runtime: Some(10),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("realtime"), "{e}");

        // A missing controller file is named in the error.
        fs::remove_file(dir.join("cpu.weight")).unwrap();
        let e = cg
            .update(
                P,
                &Resources {
                    cpu_shares: Some(512),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("cpu.weight"), "{e}");
    }

    #[test]
    fn v2_oom_pids_remove() {
        let (_t, cg, dir) = fake_v2();
        assert!(!cg.oom_killed(P).unwrap());
        put(
            &dir,
            "memory.events",
            "low 0\nhigh 0\nmax 9\noom 3\noom_kill 2\n",
        );
        assert!(cg.oom_killed(P).unwrap());
        assert_eq!(cg.oom_kill_count(P).unwrap(), 2);

        put(&dir.join("sub"), "cgroup.procs", "13\n");
        assert_eq!(cg.pids(P).unwrap(), vec![11, 12, 13]);

        cg.remove(P).unwrap();
        assert!(!dir.exists());
        cg.remove(P).unwrap(); // already gone is fine
        assert!(cg.root().exists());
    }

    #[test]
    fn shares_and_weights() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262_144), 10_000);
        let mut last = 0;
        for s in [3, 10, 100, 512, 1024, 2048, 100_000, 262_143] {
            let w = shares_to_weight(s);
            assert!(w >= last && (1..=10_000).contains(&w), "{s} → {w}");
            last = w;
        }
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(0), 0);
    }

    // ---- v1 fake tree

    fn fake_v1() -> (TempDir, Cgroups, PathBuf) {
        let t = TempDir::new().unwrap();
        let root = t.path().to_path_buf();
        let d = |c: &str| root.join(c).join("berth-abc");
        put(&d("cpuacct"), "cpuacct.usage", "3000000000\n");
        put(
            &d("cpuacct"),
            "cpuacct.usage_percpu",
            "1000000000 2000000000 \n",
        );
        put(&d("cpuacct"), "cpuacct.stat", "user 150\nsystem 50\n");
        put(
            &d("cpu"),
            "cpu.stat",
            "nr_periods 10\nnr_throttled 2\nthrottled_time 999\n",
        );
        put(&d("cpu"), "cpu.shares", "1024\n");
        put(&d("cpu"), "cpu.cfs_quota_us", "-1\n");
        put(&d("cpu"), "cpu.cfs_period_us", "100000\n");
        put(&d("memory"), "memory.usage_in_bytes", "104857600\n");
        put(
            &d("memory"),
            "memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        put(
            &d("memory"),
            "memory.memsw.limit_in_bytes",
            "9223372036854771712\n",
        );
        put(&d("memory"), "memory.max_usage_in_bytes", "209715200\n");
        put(&d("memory"), "memory.failcnt", "5\n");
        put(
            &d("memory"),
            "memory.stat",
            "cache 30\nrss 40\ninactive_file 1\ntotal_inactive_file 20971520\nswap 0\n",
        );
        put(
            &d("memory"),
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        );
        put(&d("memory"), "cgroup.procs", "");
        put(&d("pids"), "pids.current", "1\n");
        put(&d("pids"), "pids.max", "max\n");
        put(&d("pids"), "cgroup.procs", "42\n");
        put(&d("freezer"), "freezer.state", "THAWED\n");
        put(&d("blkio"), "blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Async 4608\n8:0 Discard 0\n8:0 Total 4608\nTotal 4608\n");
        put(
            &d("blkio"),
            "blkio.throttle.io_serviced_recursive",
            "8:0 Read 1\n8:0 Write 1\nTotal 2\n",
        );
        put(
            &d("blkio"),
            "blkio.bfq.io_service_bytes_recursive",
            "Total 0\n",
        );
        put(&d("cpuset"), "cpuset.cpus", "\n");
        put(&d("cpuset"), "cpuset.mems", "\n");
        put(
            &d("memory"),
            "memory.soft_limit_in_bytes",
            "9223372036854771712\n",
        );
        fs::create_dir_all(root.join("unified")).unwrap();
        let cg = Cgroups::detect_at(&root, false).unwrap();
        (t, cg, root)
    }

    #[test]
    fn v1_sample_and_response() {
        let (_t, cg, _root) = fake_v1();
        let s = cg.sample(P).unwrap();
        assert!(!s.v2);
        assert_eq!(s.cpu_total_ns, 3_000_000_000);
        assert_eq!(s.percpu_ns, vec![1_000_000_000, 2_000_000_000]);
        assert_eq!(
            (s.cpu_user_ns, s.cpu_system_ns),
            (1_500_000_000, 500_000_000)
        );
        assert_eq!(s.throttling.throttled_time_ns, 999);
        assert_eq!(s.mem_usage, 100 << 20);
        assert_eq!(s.mem_limit, machine_memory()); // unlimited → host RAM
        assert_eq!((s.mem_max_usage, s.mem_failcnt), (Some(200 << 20), Some(5)));
        assert_eq!((s.pids_current, s.pids_limit), (1, None));
        assert_eq!(s.blkio.len(), 6); // the "Total" line is skipped
        assert_eq!(
            s.blkio[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
        assert_eq!(s.blkio_serviced.len(), 2);
        assert_eq!(memory_used(&s), 80 << 20);

        let r = stats_response("abc", "/db", &s, None);
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["name"], "/db");
        assert_eq!(j["preread"], ZERO_TIME);
        assert_eq!(j["precpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(j["precpu_stats"].get("system_cpu_usage").is_none());
        assert_eq!(
            j["cpu_stats"]["cpu_usage"]["percpu_usage"][1],
            2_000_000_000u64
        );
        assert_eq!(
            j["cpu_stats"]["cpu_usage"]["usage_in_usermode"],
            1_500_000_000u64
        );
        let stats = &j["memory_stats"]["stats"];
        assert_eq!(stats["total_inactive_file"], 20_971_520);
        assert_eq!(stats["cache"], 30);
        assert_eq!(stats["total_rss"], 0);
        assert!(stats.get("swap").is_none() && stats.get("anon").is_none());
        assert_eq!(j["memory_stats"]["max_usage"], 200u64 << 20);
        assert_eq!(j["pids_stats"]["limit"], 0);
        assert_eq!(j["blkio_stats"]["io_serviced_recursive"][1]["op"], "Write");
        assert_eq!(j["os_type"], "linux");
    }

    #[test]
    fn v1_freeze_update_oom_pids_remove() {
        let (_t, cg, root) = fake_v1();
        let d = |c: &str| root.join(c).join("berth-abc");
        cg.freeze(P, true).unwrap();
        assert_eq!(get(&d("freezer"), "freezer.state"), "FROZEN");
        cg.freeze(P, false).unwrap();
        assert_eq!(get(&d("freezer"), "freezer.state"), "THAWED");

        let r = Resources {
            memory: Some(256 << 20),
            memory_swap: Some(512 << 20),
            memory_reservation: Some(64 << 20),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(200_000),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(-1),
            blkio_weight: Some(300),
            ..Default::default()
        };
        put(&d("blkio"), "blkio.bfq.weight", "100\n");
        cg.update(P, &r).unwrap();
        assert_eq!(get(&d("memory"), "memory.limit_in_bytes"), "268435456");
        assert_eq!(
            get(&d("memory"), "memory.memsw.limit_in_bytes"),
            "536870912"
        );
        assert_eq!(get(&d("memory"), "memory.soft_limit_in_bytes"), "67108864");
        assert_eq!(get(&d("cpu"), "cpu.shares"), "512");
        assert_eq!(get(&d("cpu"), "cpu.cfs_quota_us"), "50000");
        assert_eq!(get(&d("cpu"), "cpu.cfs_period_us"), "200000");
        assert_eq!(get(&d("cpuset"), "cpuset.cpus"), "0");
        assert_eq!(get(&d("pids"), "pids.max"), "max");
        assert_eq!(get(&d("blkio"), "blkio.bfq.weight"), "300");

        // NanoCpus → Docker's quota over a 100ms period.
        cg.update(
            P,
            &Resources {
                nano_cpus: Some(500_000_000),
                memory: Some(-1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&d("cpu"), "cpu.cfs_quota_us"), "50000");
        assert_eq!(get(&d("cpu"), "cpu.cfs_period_us"), "100000");
        assert_eq!(get(&d("memory"), "memory.limit_in_bytes"), "-1");
        assert_eq!(get(&d("memory"), "memory.memsw.limit_in_bytes"), "-1");

        assert!(!cg.oom_killed(P).unwrap());
        put(
            &d("memory"),
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        );
        assert!(cg.oom_killed(P).unwrap());

        assert_eq!(cg.pids(P).unwrap(), vec![42]);

        cg.remove(P).unwrap();
        for c in [
            "cpu", "cpuacct", "memory", "pids", "freezer", "blkio", "cpuset",
        ] {
            assert!(!d(c).exists(), "{c} left behind");
            assert!(root.join(c).exists(), "{c} hierarchy root removed");
        }
        let e = cg.sample(P).unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }

    // ---- the CLI's maths

    fn sample_with(total: u64, system: u64, online: u32, percpu: usize) -> Sample {
        Sample {
            cpu_total_ns: total,
            system_ns: system,
            online_cpus: online,
            percpu_ns: vec![0; percpu],
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_matches_cli() {
        let prev = sample_with(1_000_000_000, 10_000_000_000, 4, 4);
        let cur = sample_with(1_500_000_000, 14_000_000_000, 4, 4);
        // 0.5e9 / 4e9 × 4 × 100 = 50 %
        assert!((cpu_percent(&cur, &prev) - 50.0).abs() < 1e-9);
        // online_cpus 0 → the per-CPU count (2): 25 %
        let cur2 = sample_with(1_500_000_000, 14_000_000_000, 0, 2);
        assert!((cpu_percent(&cur2, &prev) - 25.0).abs() < 1e-9);
        // No progress or a counter reset → 0.
        assert_eq!(cpu_percent(&prev, &prev), 0.0);
        assert_eq!(cpu_percent(&prev, &cur), 0.0);
    }

    #[test]
    fn memory_used_matches_cli() {
        let mut s = Sample {
            mem_usage: 100 << 20,
            mem_limit: 400 << 20,
            ..Default::default()
        };
        assert_eq!(memory_used(&s), 100 << 20);
        s.mem_stats.insert("inactive_file".into(), 10 << 20); // v2
        assert_eq!(memory_used(&s), 90 << 20);
        assert!((memory_percent(&s) - 22.5).abs() < 1e-9);
        s.mem_stats.insert("total_inactive_file".into(), 30 << 20); // v1 wins
        assert_eq!(memory_used(&s), 70 << 20);
        // A cache figure at or above usage falls through, never underflows.
        s.mem_stats.insert("total_inactive_file".into(), 200 << 20);
        assert_eq!(memory_used(&s), 90 << 20);
        s.mem_stats.insert("inactive_file".into(), 200 << 20);
        assert_eq!(memory_used(&s), 100 << 20);
        s.mem_limit = 0;
        assert_eq!(memory_percent(&s), 0.0);
    }

    // ---- real cgroup v1 on this machine

    const REAL_CONTROLLERS: &[&str] = &["memory", "pids", "cpu", "cpuacct", "freezer"];

    /// Kills the child and removes the test cgroups even when an assertion fails.
    struct RealGuard {
        dirs: Vec<PathBuf>,
        child: Option<Child>,
    }

    impl Drop for RealGuard {
        fn drop(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
            for d in &self.dirs {
                // Thaw first: a frozen task can't exit, keeping the dir busy.
                let _ = fs::write(d.join("freezer.state"), "THAWED");
                for _ in 0..100 {
                    match fs::remove_dir(d) {
                        Err(e) if e.kind() != ErrorKind::NotFound => {
                            thread::sleep(Duration::from_millis(10))
                        }
                        _ => break,
                    }
                }
            }
        }
    }

    #[test]
    fn real_v1_cgroup_lifecycle() {
        let root = Path::new(DEFAULT_ROOT);
        assert!(
            root.join("memory").is_dir(),
            "this test needs cgroup v1 controllers mounted at {DEFAULT_ROOT}/<controller> \
             ({REAL_CONTROLLERS:?}); none found at {DEFAULT_ROOT}/memory"
        );
        let cg = Cgroups::detect().unwrap();
        assert!(!cg.is_v2(), "expected a v1/hybrid host, got {cg:?}");

        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let name = format!("berth-test-{}-{nanos}", std::process::id());
        let path = format!("/{name}");
        let mut guard = RealGuard {
            dirs: Vec::new(),
            child: None,
        };
        for c in REAL_CONTROLLERS {
            let d = root.join(c).join(&name);
            fs::create_dir(&d).unwrap();
            guard.dirs.push(d);
        }

        // The child waits on stdin so its busy loop runs inside the cgroup,
        // then becomes a plain sleep (one process, freshly charged memory).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("read go; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 300")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let mut stdin = child.stdin.take().unwrap();
        guard.child = Some(child);
        for d in &guard.dirs {
            fs::write(d.join("cgroup.procs"), pid.to_string()).unwrap();
        }
        writeln!(stdin, "go").unwrap();
        drop(stdin);

        let deadline = Instant::now() + Duration::from_secs(20);
        let mut first = cg.sample(&path).unwrap();
        loop {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let s = cg.sample(&path).unwrap();
            if comm.trim() == "sleep" && s.cpu_total_ns > 0 && s.mem_usage > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "child never got going: {s:?}");
            thread::sleep(Duration::from_millis(20));
            first = s;
        }
        let s = cg.sample(&path).unwrap();
        assert!(s.cpu_total_ns > 0, "{s:?}");
        assert!(s.mem_usage > 0, "{s:?}");
        assert_eq!(s.pids_current, 1, "{s:?}");
        assert_eq!(s.pids_limit, None);
        assert!(s.mem_limit > 0 && s.mem_limit <= machine_memory());
        assert!(s.system_ns >= first.system_ns);
        assert!(cpu_percent(&s, &first) >= 0.0);
        assert_eq!(cg.pids(&path).unwrap(), vec![pid]);
        let j = serde_json::to_value(stats_response("x", "x", &s, Some(&first))).unwrap();
        assert_eq!(j["pids_stats"]["current"], 1);
        assert!(j["memory_stats"]["stats"]
            .get("total_inactive_file")
            .is_some());

        // Speed is measured by scripts/bench.sh, never asserted in a test.
        for _ in 0..20 {
            cg.sample(&path).unwrap();
        }

        let freezer = root.join("freezer").join(&name);
        cg.freeze(&path, true).unwrap();
        assert_eq!(get(&freezer, "freezer.state").trim(), "FROZEN");
        cg.freeze(&path, false).unwrap();
        assert_eq!(get(&freezer, "freezer.state").trim(), "THAWED");

        let mem = root.join("memory").join(&name);
        let cpu = root.join("cpu").join(&name);
        cg.update(
            &path,
            &Resources {
                memory: Some(256 << 20),
                pids_limit: Some(50),
                cpu_shares: Some(512),
                nano_cpus: Some(500_000_000),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&mem, "memory.limit_in_bytes").trim(), "268435456");
        assert_eq!(get(&root.join("pids").join(&name), "pids.max").trim(), "50");
        assert_eq!(get(&cpu, "cpu.shares").trim(), "512");
        assert_eq!(get(&cpu, "cpu.cfs_quota_us").trim(), "50000");
        assert_eq!(get(&cpu, "cpu.cfs_period_us").trim(), "100000");
        assert_eq!(cg.sample(&path).unwrap().mem_limit, 256 << 20);
        assert!(!cg.oom_killed(&path).unwrap());

        // Remove with kill while the child still runs; it stays our zombie
        // until reaped below, which must not keep the cgroup busy.
        cg.remove_with(&path, true).unwrap();
        for d in &guard.dirs {
            assert!(!d.exists(), "{} left behind", d.display());
        }
        if let Some(mut c) = guard.child.take() {
            let status = c.wait().unwrap();
            assert!(!status.success());
        }
        assert!(cg.sample(&path).unwrap_err().is_not_found());
    }
}
