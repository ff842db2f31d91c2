//! Docker `Config` + `HostConfig` → OCI runtime `Spec`.
//!
//! Modelled on moby's `oci.DefaultLinuxSpec` and `daemon/oci_linux.go` (`createSpec` and
//! its `With*` options), plus the create-time defaults and checks Docker applies before
//! (`adaptContainerSettings`, `verifyPlatformContainerResources`, `parseSecurityOpt`).
//! Options berth cannot honour are rejected with an error naming them, never dropped.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum,
};
use oci_spec::runtime::{
    Capability, LinuxBlockIo, LinuxCapabilities, LinuxCpu, LinuxDevice, LinuxDeviceCgroup,
    LinuxDeviceType, LinuxMemory, LinuxNamespace, LinuxNamespaceType, LinuxPids, LinuxResources,
    LinuxSeccomp, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder, Mount, PosixRlimit,
    PosixRlimitBuilder, PosixRlimitType, Process, Root, Spec, User,
};

use super::lookup::{clean_container_path, open_regular_in_root, resolve_in_root};
use super::seccomp::{self, SeccompError};

pub struct SpecInput<'a> {
    pub id: &'a str,
    /// Already merged with the image's defaults by the caller (Env, Cmd, Entrypoint,
    /// WorkingDir, User, Hostname set).
    pub config: &'a ContainerCreateBody,
    pub host_config: &'a HostConfig,
    /// The mounted overlay.
    pub rootfs: &'a Path,
    /// Host files to bind-mount at /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub etc: EtcFiles<'a>,
    /// Volumes/binds/tmpfs already resolved by the caller, in order.
    pub mounts: &'a [ResolvedMount],
    /// e.g. "/berth/<id>" (caller's policy).
    pub cgroups_path: &'a str,
    pub netns: NetNs,
    /// Caller's RLIMIT_NOFILE hard limit: requested rlimits never exceed the caller's hard
    /// limits (root lacks CAP_SYS_RESOURCE here).
    pub nofile_hard_limit: u64,
}

pub struct EtcFiles<'a> {
    pub hostname: &'a Path,
    pub hosts: &'a Path,
    pub resolv_conf: &'a Path,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// `propagation`: private, rprivate (default), shared, rshared, slave, rslave.
    Bind { propagation: Option<String> },
    /// Data options as Docker's tmpfs options ("size=64m", "mode=1777", "noexec", ...).
    Tmpfs { options: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMount {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    pub kind: MountKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNs {
    New,
    Host,
    /// An existing namespace file (container:<id> networking).
    Path(PathBuf),
    /// A new namespace berth made for this container (see `network::setup::
    /// new_namespace`), joined by its path: the container's own, as with `New`.
    Made(PathBuf),
}

impl NetNs {
    /// Whether the container has a network namespace of its own.
    pub fn is_own(&self) -> bool {
        matches!(self, NetNs::New | NetNs::Made(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Bad input, worded like Docker's error for the same flag/value.
    #[error("{0}")]
    Invalid(String),
    /// Valid for Docker, but berth cannot honour it.
    #[error("{0}")]
    Unsupported(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

fn invalid(msg: impl Into<String>) -> SpecError {
    SpecError::Invalid(msg.into())
}

fn unsupported(msg: impl Into<String>) -> SpecError {
    SpecError::Unsupported(msg.into())
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> SpecError {
    let context = context.into();
    move |source| SpecError::Io { context, source }
}

/// Docker's 14 default capabilities (moby `caps.DefaultCapabilities`).
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel headers know, indexed by bit number (0..=40).
pub const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Docker's default --shm-size (64 MiB).
const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;
/// moby's `linuxMinMemory`: 6 MiB.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// HOST_NAME_MAX.
const MAX_HOSTNAME_LEN: usize = 64;

/// Host facts the spec depends on, probed once per build so tests can pin them.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub cgroup_v2: bool,
    /// memory.memsw.* exists (v1) / swap controller usable (v2).
    pub swap_limit: bool,
    pub blkio_weight: bool,
    /// Capabilities this process holds (CapEff): the universe for "ALL" and privileged.
    pub caps: Vec<&'static str>,
    pub ncpu: usize,
    pub cpus_online: Option<String>,
    pub mems_online: Option<String>,
    /// /sys/devices/system/cpu/cpuN/thermal_throttle paths that exist (masked by Docker).
    pub thermal_masks: Vec<String>,
    pub sysctl_ping_group_range: bool,
    pub sysctl_unprivileged_port_start: bool,
    /// Hard rlimits of this process by Docker ulimit name ("nofile" from the caller).
    pub rlimit_hard: HashMap<&'static str, u64>,
    pub arch: &'static str,
    pub kernel: (u64, u64),
    /// The kernel runs x32 syscalls (the seccomp profile covers x32 only then).
    pub x32: bool,
}

/// getrlimit's resource argument type differs between libcs.
#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

/// Docker ulimit name → (OCI type, libc resource).
const ULIMITS: &[(&str, PosixRlimitType, RlimitResource)] = &[
    ("as", PosixRlimitType::RlimitAs, libc::RLIMIT_AS),
    ("core", PosixRlimitType::RlimitCore, libc::RLIMIT_CORE),
    ("cpu", PosixRlimitType::RlimitCpu, libc::RLIMIT_CPU),
    ("data", PosixRlimitType::RlimitData, libc::RLIMIT_DATA),
    ("fsize", PosixRlimitType::RlimitFsize, libc::RLIMIT_FSIZE),
    ("locks", PosixRlimitType::RlimitLocks, libc::RLIMIT_LOCKS),
    (
        "memlock",
        PosixRlimitType::RlimitMemlock,
        libc::RLIMIT_MEMLOCK,
    ),
    (
        "msgqueue",
        PosixRlimitType::RlimitMsgqueue,
        libc::RLIMIT_MSGQUEUE,
    ),
    ("nice", PosixRlimitType::RlimitNice, libc::RLIMIT_NICE),
    ("nofile", PosixRlimitType::RlimitNofile, libc::RLIMIT_NOFILE),
    ("nproc", PosixRlimitType::RlimitNproc, libc::RLIMIT_NPROC),
    ("rss", PosixRlimitType::RlimitRss, libc::RLIMIT_RSS),
    ("rtprio", PosixRlimitType::RlimitRtprio, libc::RLIMIT_RTPRIO),
    ("rttime", PosixRlimitType::RlimitRttime, libc::RLIMIT_RTTIME),
    (
        "sigpending",
        PosixRlimitType::RlimitSigpending,
        libc::RLIMIT_SIGPENDING,
    ),
    ("stack", PosixRlimitType::RlimitStack, libc::RLIMIT_STACK),
];

impl Host {
    pub(crate) fn probe(nofile_hard_limit: u64) -> Result<Host, SpecError> {
        let cgroup_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let (swap_limit, blkio_weight) = if cgroup_v2 {
            (true, true)
        } else {
            (
                Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists(),
                Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
                    || Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists(),
            )
        };
        let thermal_masks = fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| parse_cpuset(s.trim()).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|cpu| format!("/sys/devices/system/cpu/cpu{cpu}/thermal_throttle"))
            .filter(|p| Path::new(p).exists())
            .collect();
        let mut rlimit_hard = HashMap::new();
        for (name, _, res) in ULIMITS {
            let hard = if *name == "nofile" {
                nofile_hard_limit
            } else {
                let mut rl = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: getrlimit only writes the struct we pass.
                if unsafe { libc::getrlimit(*res, &mut rl) } == 0 {
                    rl.rlim_max
                } else {
                    u64::MAX
                }
            };
            rlimit_hard.insert(*name, hard);
        }
        let release = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_err(io_err("reading the kernel release"))?;
        Ok(Host {
            cgroup_v2,
            swap_limit,
            blkio_weight,
            caps: current_caps(),
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpus_online: read_trimmed("/sys/devices/system/cpu/online"),
            mems_online: read_trimmed("/sys/devices/system/node/online"),
            thermal_masks,
            sysctl_ping_group_range: Path::new("/proc/sys/net/ipv4/ping_group_range").exists(),
            sysctl_unprivileged_port_start: Path::new(
                "/proc/sys/net/ipv4/ip_unprivileged_port_start",
            )
            .exists(),
            rlimit_hard,
            arch: seccomp::native_arch(),
            kernel: seccomp::parse_release(release.trim())?,
            x32: seccomp::kernel_runs_x32(),
        })
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// The capabilities in this process's effective set, like containerd's `cap.Current()`;
/// all known ones if /proc cannot tell.
fn current_caps() -> Vec<&'static str> {
    let bits = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    });
    match bits {
        Some(bits) => ALL_CAPS
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1u64 << i) != 0)
            .map(|(_, c)| *c)
            .collect(),
        None => ALL_CAPS.to_vec(),
    }
}

pub fn build_spec(input: &SpecInput) -> Result<Spec, SpecError> {
    let host = Host::probe(input.nofile_hard_limit)?;
    build_spec_with(input, &host)
}

/// What `--security-opt` asked for (moby `parseSecurityOpt`, plus the CLI-side
/// `systempaths=unconfined`).
#[derive(Debug, Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    seccomp: Option<String>,
    writable_cgroups: Option<bool>,
    unmask_system_paths: bool,
}

fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        match opt.as_str() {
            "no-new-privileges" => {
                out.no_new_privileges = true;
                continue;
            }
            "writable-cgroups" => {
                out.writable_cgroups = Some(true);
                continue;
            }
            // A bare "disable" is an SELinux label option: no SELinux here, no effect.
            "disable" => continue,
            _ => {}
        }
        let (k, v) = if let Some(kv) = opt.split_once('=') {
            kv
        } else if let Some(kv) = opt.split_once(':') {
            kv // Deprecated separator, still accepted by Docker.
        } else {
            return Err(invalid(format!("invalid --security-opt 1: {opt:?}")));
        };
        let bool_val = || {
            parse_go_bool(v).ok_or_else(|| invalid(format!("invalid --security-opt 2: {opt:?}")))
        };
        match k {
            // Neither SELinux nor AppArmor confines containers on this host: accepted,
            // without effect, as Docker does where the LSM is absent.
            "label" | "apparmor" => {}
            "seccomp" => out.seccomp = Some(v.to_string()),
            "no-new-privileges" => out.no_new_privileges = bool_val()?,
            "writable-cgroups" => out.writable_cgroups = Some(bool_val()?),
            "systempaths" if v == "unconfined" => out.unmask_system_paths = true,
            _ => return Err(invalid(format!("invalid --security-opt 2: {opt:?}"))),
        }
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

pub(crate) fn build_spec_with(input: &SpecInput, host: &Host) -> Result<Spec, SpecError> {
    let cfg = input.config;
    let hc = input.host_config;
    let privileged = hc.privileged.unwrap_or(false);
    let tty = cfg.tty.unwrap_or(false);
    let sec = parse_security_opts(hc.security_opt.as_deref().unwrap_or_default())?;
    reject_unsupported(hc)?;

    // Namespaces, in moby's default order (mount, network, uts, pid, ipc) then cgroup.
    let uts_host = match hc.uts_mode.as_deref().unwrap_or("") {
        "" => false,
        "host" => true,
        m => return Err(invalid(format!("invalid UTS mode: {m}"))),
    };
    let hostname = cfg.hostname.clone().unwrap_or_default();
    if hostname.len() > MAX_HOSTNAME_LEN {
        return Err(invalid(format!(
            "hostname {hostname:?} is too long (maximum {MAX_HOSTNAME_LEN} bytes)"
        )));
    }
    let ipc = IpcMode::parse(hc.ipc_mode.as_deref().unwrap_or(""))?;
    let pid_host = match hc.pid_mode.as_deref().unwrap_or("") {
        "" | "private" => false,
        "host" => true,
        m if m.starts_with("container:") => {
            return Err(unsupported(format!(
                "--pid={m}: joining another container's PID namespace is not supported"
            )))
        }
        m => return Err(invalid(format!("invalid PID mode: {m}"))),
    };
    let cgroupns_private = match hc.cgroupns_mode {
        Some(HostConfigCgroupnsModeEnum::PRIVATE) => true,
        Some(HostConfigCgroupnsModeEnum::HOST) => false,
        // Docker's daemon default: private on cgroup v2, host on v1.
        Some(HostConfigCgroupnsModeEnum::EMPTY) | None => host.cgroup_v2,
    };
    let mut namespaces = vec![ns(LinuxNamespaceType::Mount, None)];
    match &input.netns {
        NetNs::New => namespaces.push(ns(LinuxNamespaceType::Network, None)),
        NetNs::Host => {}
        NetNs::Path(p) | NetNs::Made(p) => {
            namespaces.push(ns(LinuxNamespaceType::Network, Some(p.clone())))
        }
    }
    if !uts_host {
        namespaces.push(ns(LinuxNamespaceType::Uts, None));
    }
    if !pid_host {
        namespaces.push(ns(LinuxNamespaceType::Pid, None));
    }
    if ipc != IpcMode::Host {
        namespaces.push(ns(LinuxNamespaceType::Ipc, None));
    }
    if cgroupns_private {
        namespaces.push(ns(LinuxNamespaceType::Cgroup, None));
    }

    // Process.
    let mut args: Vec<String> = cfg.entrypoint.clone().unwrap_or_default();
    args.extend(cfg.cmd.clone().unwrap_or_default());
    if args.is_empty() {
        return Err(invalid("no command specified"));
    }
    let cwd = working_dir(input.rootfs, cfg.working_dir.as_deref().unwrap_or(""))?;
    let (uid, gid, additional_gids) = resolve_user(
        input.rootfs,
        cfg.user.as_deref().unwrap_or(""),
        hc.group_add.as_deref().unwrap_or_default(),
    )?;
    let mut user = User::default();
    user.set_uid(uid);
    user.set_gid(gid);
    user.set_additional_gids(Some(additional_gids));

    let cap_names = tweak_capabilities(
        DEFAULT_CAPS,
        hc.cap_add.as_deref().unwrap_or_default(),
        hc.cap_drop.as_deref().unwrap_or_default(),
        privileged,
        &host.caps,
    )?;
    let cap_set = cap_names
        .iter()
        .map(|c| to_oci_cap(c))
        .collect::<Result<oci_spec::runtime::Capabilities, _>>()?;
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(Some(cap_set.clone()));
    caps.set_effective(Some(cap_set.clone()));
    caps.set_permitted(Some(cap_set));
    // Docker 20.10+ leaves inheritable and ambient empty.
    caps.set_inheritable(None);
    caps.set_ambient(None);

    let oom_score_adj = hc.oom_score_adj.unwrap_or(0);
    if !(-1000..=1000).contains(&oom_score_adj) {
        return Err(invalid(format!(
            "Invalid value {oom_score_adj}, range for oom score adj is [-1000, 1000]"
        )));
    }

    let mut process = Process::default();
    process.set_terminal(Some(tty));
    if tty {
        if let Some([h, w]) = hc.console_size.as_deref() {
            if *h > 0 || *w > 0 {
                let b = oci_spec::runtime::BoxBuilder::default()
                    .height(*h as u64)
                    .width(*w as u64)
                    .build()?;
                process.set_console_size(Some(b));
            }
        }
    }
    process.set_user(user);
    process.set_args(Some(args));
    process.set_env(Some(container_env(
        cfg.env.as_deref().unwrap_or_default(),
        &hostname,
        tty,
    )));
    process.set_cwd(PathBuf::from(cwd));
    process.set_capabilities(Some(caps));
    process.set_rlimits(Some(rlimits(hc, host)?));
    process.set_no_new_privileges(sec.no_new_privileges.then_some(true));
    process.set_oom_score_adj(Some(oom_score_adj as i32));
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);

    // Sysctls: Docker's safe defaults for a private network namespace, the NIS domain,
    // then the user's (which win).
    let mut sysctl: HashMap<String, String> = HashMap::new();
    if input.netns.is_own() {
        if host.sysctl_ping_group_range {
            sysctl.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
        }
        if host.sysctl_unprivileged_port_start {
            sysctl.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
        }
    }
    let domainname = cfg.domainname.clone().unwrap_or_default();
    if !domainname.is_empty() {
        if uts_host {
            return Err(invalid(
                "--domainname cannot be set with --uts=host (it would change the host's)",
            ));
        }
        sysctl.insert("kernel.domainname".into(), domainname);
    }
    for (k, v) in hc.sysctls.clone().unwrap_or_default() {
        sysctl.insert(k, v);
    }

    // Devices and the device cgroup.
    let (devices, device_rules) = devices(hc, privileged)?;
    let mut resources = resources(hc, host)?;
    resources.set_devices(Some(device_rules));

    // Masked/readonly paths: explicit HostConfig lists win; privileged gets none.
    let masked = match &hc.masked_paths {
        Some(list) => list.clone(),
        None if privileged || sec.unmask_system_paths => vec![],
        None => default_masked_paths(host),
    };
    let readonly = match &hc.readonly_paths {
        Some(list) => list.clone(),
        None if privileged || sec.unmask_system_paths => vec![],
        None => DEFAULT_READONLY_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };

    let seccomp = seccomp_for(&sec, privileged, &cap_names, host)?;

    let readonly_rootfs = hc.readonly_rootfs.unwrap_or(false);
    let writable_cgroups = sec.writable_cgroups.unwrap_or(privileged);
    let (mounts, rootfs_propagation) =
        mounts(input, ipc, readonly_rootfs, privileged, writable_cgroups)?;

    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(Some(sysctl));
    linux.set_resources(Some(resources));
    linux.set_cgroups_path(Some(PathBuf::from(input.cgroups_path)));
    linux.set_namespaces(Some(namespaces));
    linux.set_devices(Some(devices));
    linux.set_seccomp(seccomp);
    linux.set_rootfs_propagation(rootfs_propagation);
    linux.set_masked_paths(Some(masked));
    linux.set_readonly_paths(Some(readonly));
    linux.set_mount_label(None);
    linux.set_intel_rdt(None);

    let mut root = Root::default();
    root.set_path(input.rootfs.to_path_buf());
    root.set_readonly(Some(readonly_rootfs));

    let mut spec = Spec::default();
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_hostname((!uts_host).then_some(hostname));
    spec.set_domainname(None);
    spec.set_hooks(None);
    spec.set_annotations(hc.annotations.clone().filter(|a| !a.is_empty()));
    spec.set_linux(Some(linux));
    Ok(spec)
}

fn ns(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut n = LinuxNamespace::default();
    n.set_typ(typ);
    n.set_path(path);
    n
}

/// HostConfig options that are valid for Docker but that berth cannot carry out.
fn reject_unsupported(hc: &HostConfig) -> Result<(), SpecError> {
    match hc.userns_mode.as_deref().unwrap_or("") {
        "" | "host" => {}
        m => {
            return Err(unsupported(format!(
                "--userns={m}: user namespace remapping is not supported"
            )))
        }
    }
    if let Some(c) = hc.cgroup.as_deref().filter(|c| !c.is_empty()) {
        return Err(unsupported(format!(
            "--cgroup={c}: joining another container's cgroup is not supported"
        )));
    }
    match hc.isolation {
        None | Some(HostConfigIsolationEnum::EMPTY) | Some(HostConfigIsolationEnum::DEFAULT) => {}
        Some(other) => {
            return Err(invalid(format!(
                "invalid isolation: {:?} - linux only supports 'default'",
                other.to_string()
            )))
        }
    }
    match hc.runtime.as_deref().unwrap_or("") {
        "" | "runc" | "youki" | "io.containerd.runc.v2" => {}
        r => return Err(invalid(format!("unknown or invalid runtime name: {r}"))),
    }
    if let Some(r) = hc.device_requests.as_deref().and_then(|r| r.first()) {
        return Err(unsupported(format!(
            "could not select device driver {:?} with capabilities: {:?}",
            r.driver.clone().unwrap_or_default(),
            r.capabilities.clone().unwrap_or_default()
        )));
    }
    if hc.cpu_count.unwrap_or(0) != 0 {
        return Err(unsupported("--cpu-count is only supported on Windows"));
    }
    if hc.cpu_percent.unwrap_or(0) != 0 {
        return Err(unsupported("--cpu-percent is only supported on Windows"));
    }
    if hc.io_maximum_bandwidth.unwrap_or(0) != 0 || hc.io_maximum_iops.unwrap_or(0) != 0 {
        return Err(invalid(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpcMode {
    Private,
    /// Private namespace without /dev/shm.
    None,
    Host,
}

impl IpcMode {
    fn parse(m: &str) -> Result<IpcMode, SpecError> {
        Ok(match m {
            // "shareable" differs from "private" only in that others may join, which berth
            // does not offer (container:<id> is rejected below).
            "" | "private" | "shareable" => IpcMode::Private,
            "none" => IpcMode::None,
            "host" => IpcMode::Host,
            m if m.starts_with("container:") => {
                return Err(unsupported(format!(
                    "--ipc={m}: joining another container's IPC namespace is not supported"
                )))
            }
            m => return Err(invalid(format!("invalid IPC mode: {m}"))),
        })
    }
}

/// Docker's `CreateDaemonEnvironment`: PATH, HOSTNAME and TERM first, then the config's
/// variables replacing same-named ones; a bare `NAME` unsets it.
fn container_env(env: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut out = vec![
        format!("PATH={DEFAULT_PATH_ENV}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        out.push("TERM=xterm".into());
    }
    let mut index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, e)| (e.split('=').next().unwrap_or("").to_string(), i))
        .collect();
    let mut removed = vec![false; out.len()];
    for e in env {
        match e.split_once('=') {
            None => {
                if let Some(&i) = index.get(e.as_str()) {
                    removed[i] = true;
                }
            }
            Some((k, _)) => match index.get(k) {
                Some(&i) => {
                    out[i] = e.clone();
                    removed[i] = false;
                }
                None => {
                    index.insert(k.to_string(), out.len());
                    out.push(e.clone());
                    removed.push(false);
                }
            },
        }
    }
    out.into_iter()
        .zip(removed)
        .filter(|(_, r)| !r)
        .map(|(e, _)| e)
        .collect()
}

/// The working directory: absolute, cleaned, and created in the rootfs if missing (as
/// moby's `SetupWorkingDirectory` does), without following symlinks out of the rootfs.
fn working_dir(rootfs: &Path, wd: &str) -> Result<String, SpecError> {
    if wd.is_empty() {
        return Ok("/".into());
    }
    if !wd.starts_with('/') {
        return Err(invalid(format!(
            "the working directory '{wd}' is invalid, it needs to be an absolute path"
        )));
    }
    let wd = clean_container_path(wd);
    let host = resolve_in_root(rootfs, &wd).map_err(io_err(format!("resolving {wd}")))?;
    match fs::metadata(&host) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(invalid(format!("Cannot mkdir: {wd} is not a directory"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(&host)
                .map_err(io_err(format!("creating working directory {wd}")))?;
            let _ = fs::set_permissions(&host, fs::Permissions::from_mode(0o755));
        }
        Err(e) => return Err(io_err(format!("working directory {wd}"))(e)),
    }
    Ok(wd)
}

// ---------------------------------------------------------------- users

/// (name, uid, gid) rows of /etc/passwd.
type PasswdRow = (String, i64, i64);

fn read_passwd(rootfs: &Path) -> Result<Option<Vec<PasswdRow>>, SpecError> {
    read_colon_file(rootfs, "/etc/passwd", false).map(|rows| {
        rows.map(|rows| {
            rows.into_iter()
                .map(|f| (field(&f, 0), num_field(&f, 2), num_field(&f, 3)))
                .collect()
        })
    })
}

/// (name, gid, members) rows of /etc/group.
type GroupRow = (String, i64, Vec<String>);

fn read_group(rootfs: &Path) -> Result<Option<Vec<GroupRow>>, SpecError> {
    read_colon_file(rootfs, "/etc/group", true).map(|rows| {
        rows.map(|rows| {
            rows.into_iter()
                .map(|f| {
                    let members = field(&f, 3);
                    let members = if members.is_empty() {
                        vec![]
                    } else {
                        members.split(',').map(str::to_string).collect()
                    };
                    (field(&f, 0), num_field(&f, 2), members)
                })
                .collect()
        })
    })
}

fn field(f: &[String], i: usize) -> String {
    f.get(i).cloned().unwrap_or_default()
}

/// Numeric fields parse like moby's parseLine: garbage reads as 0... except we use -1 so a
/// broken line never matches a real id.
fn num_field(f: &[String], i: usize) -> i64 {
    f.get(i).and_then(|s| s.parse().ok()).unwrap_or(-1)
}

fn read_colon_file(
    rootfs: &Path,
    path: &str,
    skip_comments: bool,
) -> Result<Option<Vec<Vec<String>>>, SpecError> {
    let Some(file) =
        open_regular_in_root(rootfs, path).map_err(io_err(format!("opening {path}")))?
    else {
        return Ok(None);
    };
    let mut rows = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(io_err(format!("reading {path}")))?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        if line.is_empty() || (skip_comments && line.starts_with('#')) {
            continue;
        }
        rows.push(line.split(':').map(str::to_string).collect());
    }
    Ok(Some(rows))
}

/// A user/group argument: numeric ids are always ids (moby `parseNumeric`).
fn parse_id(s: &str) -> Result<Option<u32>, SpecError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        // "-5" or "1x" are names, as for strconv.Atoi's syntax errors.
        return Ok(None);
    }
    match s.parse::<u64>() {
        Ok(v) if v <= i32::MAX as u64 => Ok(Some(v as u32)),
        _ => Err(invalid(format!(
            "uids and gids must be in range 0-{}",
            i32::MAX
        ))),
    }
}

fn valid_id(v: i64) -> Option<u32> {
    (0..=i32::MAX as i64).contains(&v).then_some(v as u32)
}

/// "user", "uid", "user:group", "uid:gid" resolved against the rootfs's /etc/passwd and
/// /etc/group (read without following symlinks out of the rootfs), plus GroupAdd entries →
/// (uid, gid, additional_gids). As in Docker, additional_gids starts with the primary gid,
/// then the user's supplementary groups, then GroupAdd.
pub fn resolve_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<(u32, u32, Vec<u32>), SpecError> {
    let mut parts = user.splitn(3, ':');
    let user_arg = parts.next().unwrap_or("");
    let group_arg = parts.next().unwrap_or("");
    let uid_arg = parse_id(user_arg)?;
    let gid_arg = parse_id(group_arg)?;
    let passwd = read_passwd(rootfs)?;

    let (mut uid, mut gid) = (0u32, 0u32);
    let mut matched_name: Option<String> = None;
    let entry = passwd.as_ref().and_then(|rows| {
        rows.iter().find(|(name, id, _)| match (user_arg, uid_arg) {
            ("", _) => *id == 0,
            (_, Some(u)) => *id == i64::from(u),
            (n, None) => name == n,
        })
    });
    match entry {
        Some((name, u, g)) => {
            uid = valid_id(*u)
                .ok_or_else(|| invalid(format!("invalid uid in /etc/passwd for user {name}")))?;
            gid = valid_id(*g)
                .ok_or_else(|| invalid(format!("invalid gid in /etc/passwd for user {name}")))?;
            matched_name = Some(name.clone());
        }
        None if user_arg.is_empty() => {}
        None => match uid_arg {
            Some(u) => uid = u,
            None => {
                return Err(invalid(format!(
                    "unable to find user {user_arg}: no matching entries in passwd file"
                )))
            }
        },
    }

    let groups = if !group_arg.is_empty() || matched_name.is_some() || !group_add.is_empty() {
        read_group(rootfs)?
    } else {
        None
    };
    let groups = groups.unwrap_or_default();
    let mut sgids: Vec<u32> = Vec::new();
    if !group_arg.is_empty() {
        let found = groups.iter().find(|(name, id, _)| match gid_arg {
            Some(g) => *id == i64::from(g),
            None => name == group_arg,
        });
        gid = match (found, gid_arg) {
            (Some((name, id, _)), _) => valid_id(*id)
                .ok_or_else(|| invalid(format!("invalid gid in /etc/group for group {name}")))?,
            (None, Some(g)) => g,
            (None, None) => {
                return Err(invalid(format!(
                    "unable to find group {group_arg}: no matching entries in group file"
                )))
            }
        };
    } else if let Some(name) = &matched_name {
        // Supplementary groups only in the implicit form, as in runc/moby.
        sgids = groups
            .iter()
            .filter(|(_, _, members)| members.iter().any(|m| m == name))
            .filter_map(|(_, id, _)| valid_id(*id))
            .collect();
    }

    let mut additional = vec![gid];
    additional.extend(sgids);
    for g in group_add {
        let numeric = parse_id(g)?;
        let found = groups.iter().find(|(name, id, _)| match numeric {
            Some(n) => *id == i64::from(n),
            None => name == g,
        });
        let id = match (found, numeric) {
            (Some((name, id, _)), _) => valid_id(*id)
                .ok_or_else(|| invalid(format!("invalid gid in /etc/group for group {name}")))?,
            (None, Some(n)) => n,
            (None, None) => {
                return Err(invalid(format!(
                    "unable to find group {g}: no matching entries in group file"
                )))
            }
        };
        if !additional[1..].contains(&id) {
            additional.push(id);
        }
    }
    Ok((uid, gid, additional))
}

// ---------------------------------------------------------------- capabilities

/// moby `caps.NormalizeLegacyCapabilities`: upper-case, CAP_ prefix, "ALL" kept.
fn normalize_caps(list: &[String], available: &[&str]) -> Result<Vec<String>, SpecError> {
    list.iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c == "ALL" {
                return Ok(c);
            }
            let c = if c.starts_with("CAP_") { c } else { format!("CAP_{c}") };
            if !ALL_CAPS.contains(&c.as_str()) {
                return Err(invalid(format!("unknown capability: {c:?}")));
            }
            if !available.contains(&c.as_str()) {
                return Err(invalid(format!(
                    "capability not supported by your kernel or not available in the current environment: {c:?}"
                )));
            }
            Ok(c)
        })
        .collect()
}

/// moby `caps.TweakCapabilities`: defaults minus drops plus adds; "ALL" on either side;
/// every available capability when privileged.
fn tweak_capabilities(
    basics: &[&str],
    adds: &[String],
    drops: &[String],
    privileged: bool,
    available: &[&str],
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(available.iter().map(|s| s.to_string()).collect());
    }
    if adds.is_empty() && drops.is_empty() {
        return Ok(basics.iter().map(|s| s.to_string()).collect());
    }
    let drops = normalize_caps(drops, available)?;
    let adds = normalize_caps(adds, available)?;
    let mut caps: Vec<String> = if adds.iter().any(|c| c == "ALL") {
        available
            .iter()
            .filter(|c| !drops.iter().any(|d| d == *c))
            .map(|s| s.to_string())
            .collect()
    } else if drops.iter().any(|c| c == "ALL") {
        adds
    } else {
        let mut caps: Vec<String> = basics
            .iter()
            .filter(|c| !drops.iter().any(|d| d == *c))
            .map(|s| s.to_string())
            .collect();
        caps.extend(adds);
        caps
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| seen.insert(c.clone()));
    Ok(caps)
}

fn to_oci_cap(name: &str) -> Result<Capability, SpecError> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| invalid(format!("unknown capability: {name:?}")))
}

// ---------------------------------------------------------------- rlimits

/// `--ulimit`s, each clamped to this process's hard limit (it cannot raise them), with
/// Docker's validation; a repeated name keeps the last value.
fn rlimits(hc: &HostConfig, host: &Host) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out: Vec<(String, PosixRlimit)> = Vec::new();
    for ul in hc.ulimits.as_deref().unwrap_or_default() {
        let name = ul.name.clone().unwrap_or_default();
        let Some((_, typ, _)) = ULIMITS.iter().find(|(n, _, _)| *n == name) else {
            return Err(invalid(format!("invalid ulimit type: {name}")));
        };
        let (soft, hard) = (ul.soft.unwrap_or(0), ul.hard.unwrap_or(0));
        if soft > hard {
            return Err(invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )));
        }
        // Negative values are RLIM_INFINITY, as Docker's uint64 conversion makes them.
        let as_u64 = |v: i64| u64::try_from(v).unwrap_or(u64::MAX);
        let cap = host
            .rlimit_hard
            .get(name.as_str())
            .copied()
            .unwrap_or(u64::MAX);
        let hard = as_u64(hard).min(cap);
        let soft = as_u64(soft).min(hard);
        let rl = PosixRlimitBuilder::default()
            .typ(*typ)
            .hard(hard)
            .soft(soft)
            .build()?;
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = rl,
            None => out.push((name, rl)),
        }
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

// ---------------------------------------------------------------- devices

/// Docker's default device cgroup (oci.DefaultLinuxSpec): deny all, then the basic
/// character devices; libcontainer appends its own defaults (`c *:* m`, `b *:* m`, pts,
/// ptmx, tun) after these, as runc does for Docker.
fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![device_rule(false, None, None, None, "rwm")];
    for (major, minor) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
        rules.push(device_rule(
            true,
            Some(LinuxDeviceType::C),
            Some(major),
            Some(minor),
            "rwm",
        ));
    }
    // /dev/fuse stays denied.
    rules.push(device_rule(
        false,
        Some(LinuxDeviceType::C),
        Some(10),
        Some(229),
        "rwm",
    ));
    rules
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

fn devices(
    hc: &HostConfig,
    privileged: bool,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let mut devs: Vec<LinuxDevice> = Vec::new();
    let mut rules = default_device_rules();
    let mappings = hc.devices.as_deref().unwrap_or_default();
    if privileged {
        devs = host_devices(Path::new("/dev"))
            .map_err(io_err("listing host devices for --privileged"))?;
        for m in mappings {
            let on_host = m.path_on_host.clone().unwrap_or_default();
            let in_ctr = m.path_in_container.clone().filter(|p| !p.is_empty());
            let in_ctr = in_ctr.unwrap_or_else(|| on_host.clone());
            // Already there via /dev; custom cgroup permissions are moot (allow-all).
            if on_host == in_ctr {
                continue;
            }
            devs.extend(devices_from_path(&on_host, &in_ctr)?);
        }
        rules = vec![device_rule(true, None, None, None, "rwm")];
    } else {
        for m in mappings {
            let on_host = m.path_on_host.clone().unwrap_or_default();
            let in_ctr = m.path_in_container.clone().filter(|p| !p.is_empty());
            let in_ctr = in_ctr.unwrap_or_else(|| on_host.clone());
            let perms = m
                .cgroup_permissions
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rwm".into());
            if perms.len() > 3 || !perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
                return Err(invalid(format!("invalid device mode: {perms}")));
            }
            if !in_ctr.starts_with('/') {
                return Err(invalid(format!("{in_ctr} is not an absolute path")));
            }
            for d in devices_from_path(&on_host, &in_ctr)? {
                rules.push(device_rule(
                    true,
                    Some(d.typ()),
                    Some(d.major()),
                    Some(d.minor()),
                    &perms,
                ));
                devs.push(d);
            }
        }
        for rule in hc.device_cgroup_rules.as_deref().unwrap_or_default() {
            rules.push(parse_device_cgroup_rule(rule)?);
        }
    }
    // One node per container path (the last wins), or the runtime's mknod hits EEXIST.
    let mut seen = std::collections::HashSet::new();
    let mut unique: Vec<LinuxDevice> = devs
        .into_iter()
        .rev()
        .filter(|d| seen.insert(d.path().clone()))
        .collect();
    unique.reverse();
    Ok((unique, rules))
}

/// `--device-cgroup-rule`: `^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`. A `*` becomes
/// an absent number, which libcontainer writes as `*` (Docker's -1 would be written
/// literally).
fn parse_device_cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = || invalid(format!("invalid device cgroup rule format: '{rule}'"));
    let mut parts = rule.split(' ');
    let (Some(t), Some(mm), Some(access), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let typ = match t {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (major, minor) = mm.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<i64>, SpecError> {
        if s == "*" {
            Ok(None)
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map(Some).map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(device_rule(
        true,
        Some(typ),
        num(major)?,
        num(minor)?,
        access,
    ))
}

/// One host device node (char, block or FIFO), like containerd's `DeviceFromPath`.
fn device_from_path(path: &Path) -> io::Result<Option<LinuxDevice>> {
    let meta = fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else if ft.is_fifo() {
        LinuxDeviceType::P
    } else {
        return Ok(None);
    };
    let rdev = meta.rdev();
    let mut d = LinuxDevice::default();
    d.set_path(path.to_path_buf());
    d.set_typ(typ);
    d.set_major(nix::sys::stat::major(rdev) as i64);
    d.set_minor(nix::sys::stat::minor(rdev) as i64);
    d.set_file_mode(Some(meta.mode() & 0o7777));
    d.set_uid(Some(meta.uid()));
    d.set_gid(Some(meta.gid()));
    Ok(Some(d))
}

/// `--device` (moby `DevicesFromPath`): a node, or every node under a directory.
fn devices_from_path(on_host: &str, in_ctr: &str) -> Result<Vec<LinuxDevice>, SpecError> {
    let gather_err = |e: String| {
        invalid(format!(
            "error gathering device information while adding custom device {on_host:?}: {e}"
        ))
    };
    let mut resolved = PathBuf::from(on_host);
    if fs::symlink_metadata(&resolved).is_ok_and(|m| m.file_type().is_symlink()) {
        if let Ok(p) = fs::canonicalize(&resolved) {
            resolved = p;
        }
    }
    match device_from_path(&resolved) {
        Ok(Some(mut d)) => {
            d.set_path(PathBuf::from(in_ctr));
            return Ok(vec![d]);
        }
        Ok(None) => {}
        Err(e) => return Err(gather_err(e.to_string())),
    }
    let mut out = Vec::new();
    if resolved.is_dir() {
        let mut stack = vec![resolved.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                    stack.push(p);
                } else if let Ok(Some(mut d)) = device_from_path(&p) {
                    let rel = p.strip_prefix(&resolved).unwrap_or(&p);
                    d.set_path(Path::new(in_ctr).join(rel));
                    out.push(d);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(gather_err("not a device node".into()));
    }
    Ok(out)
}

/// Every device node under /dev for --privileged (containerd's `HostDevices`).
fn host_devices(dir: &Path) -> io::Result<Vec<LinuxDevice>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            match name.to_str() {
                Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev") => {}
                _ => out.extend(host_devices(&path)?),
            }
            continue;
        }
        if name == "console" {
            continue;
        }
        match device_from_path(&path) {
            Ok(Some(d)) if d.typ() != LinuxDeviceType::P => out.push(d),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- resources

fn resources(hc: &HostConfig, host: &Host) -> Result<LinuxResources, SpecError> {
    let mut r = LinuxResources::default();
    r.set_memory(memory(hc, host)?);
    r.set_cpu(cpu(hc, host)?);
    r.set_pids(hc.pids_limit.map(|l| {
        let mut p = LinuxPids::default();
        // 0 or negative: unlimited, spelled -1 for the runtime.
        p.set_limit(if l <= 0 { -1 } else { l });
        p
    }));
    r.set_block_io(block_io(hc, host)?);
    Ok(r)
}

fn memory(hc: &HostConfig, host: &Host) -> Result<Option<LinuxMemory>, SpecError> {
    let memory = hc.memory.unwrap_or(0);
    let mut swap = hc.memory_swap.unwrap_or(0);
    let reservation = hc.memory_reservation.unwrap_or(0);
    if memory != 0 && memory < MIN_MEMORY {
        return Err(invalid("Minimum memory limit allowed is 6MB"));
    }
    let swap_defaulted = memory > 0 && swap == 0;
    if swap_defaulted {
        // By default, MemorySwap is set to twice the size of Memory.
        swap = memory.saturating_mul(2);
    }
    if memory > 0 && swap != -1 && !host.swap_limit {
        if swap_defaulted {
            // Docker's fallback on such hosts: memory limited, swap unlimited.
            swap = -1;
        } else {
            return Err(unsupported(
                "--memory-swap: your kernel does not support swap limit capabilities or the cgroup is not mounted",
            ));
        }
    }
    if memory > 0 && swap > 0 && swap < memory {
        return Err(invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if memory == 0 && swap > 0 {
        return Err(invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    let swappiness = match hc.memory_swappiness {
        None | Some(-1) => None,
        Some(s) if !(0..=100).contains(&s) => {
            return Err(invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )))
        }
        Some(_) if host.cgroup_v2 => {
            return Err(unsupported(
                "--memory-swappiness is not supported with cgroup v2",
            ))
        }
        Some(s) => Some(s as u64),
    };
    if reservation > 0 && reservation < MIN_MEMORY {
        return Err(invalid("Minimum memory reservation allowed is 6MB"));
    }
    if memory > 0 && reservation > 0 && memory < reservation {
        return Err(invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    let oom_kill_disable = match hc.oom_kill_disable {
        Some(true) if host.cgroup_v2 => {
            return Err(unsupported(
                "--oom-kill-disable is not supported with cgroup v2",
            ))
        }
        Some(false) if host.cgroup_v2 => None,
        other => other,
    };
    let mut m = LinuxMemory::default();
    m.set_limit((memory > 0).then_some(memory));
    m.set_reservation((reservation > 0).then_some(reservation));
    // -1 (unlimited) is left unset, as Docker does: a new cgroup's swap is unlimited.
    m.set_swap((swap > 0).then_some(swap));
    m.set_swappiness(swappiness);
    m.set_disable_oom_killer(oom_kill_disable);
    Ok((m != LinuxMemory::default()).then_some(m))
}

fn cpu(hc: &HostConfig, host: &Host) -> Result<Option<LinuxCpu>, SpecError> {
    let shares = hc.cpu_shares.unwrap_or(0);
    let nano = hc.nano_cpus.unwrap_or(0);
    let period = hc.cpu_period.unwrap_or(0);
    let quota = hc.cpu_quota.unwrap_or(0);
    if shares < 0 {
        return Err(invalid(format!(
            "invalid CPU shares ({shares}): value must be a positive integer"
        )));
    }
    if nano > 0 && period > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if nano > 0 && quota > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    let ncpu = host.ncpu as i64;
    if nano != 0 && (nano < 0 || nano > ncpu.saturating_mul(1_000_000_000)) {
        return Err(invalid(format!(
            "range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return Err(invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if quota > 0 && quota < 1000 {
        return Err(invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    let cpus = hc.cpuset_cpus.clone().filter(|s| !s.is_empty());
    let mems = hc.cpuset_mems.clone().filter(|s| !s.is_empty());
    if let Some(c) = &cpus {
        check_cpuset(c, host.cpus_online.as_deref(), "cpus", "CPUs")?;
    }
    if let Some(m) = &mems {
        check_cpuset(m, host.mems_online.as_deref(), "mems", "memory nodes")?;
    }

    let mut c = LinuxCpu::default();
    c.set_shares((shares > 0).then_some(shares as u64));
    c.set_cpus(cpus);
    c.set_mems(mems);
    if nano > 0 {
        // CFS bandwidth over Docker's fixed 100ms period.
        c.set_period(Some(100_000));
        c.set_quota(Some(nano / 10_000));
    }
    if period != 0 {
        c.set_period(Some(period as u64));
    }
    if quota != 0 {
        c.set_quota(Some(quota));
    }
    let rt_period = hc.cpu_realtime_period.unwrap_or(0);
    if rt_period != 0 {
        c.set_realtime_period(Some(rt_period as u64));
    }
    let rt_runtime = hc.cpu_realtime_runtime.unwrap_or(0);
    if rt_runtime != 0 {
        c.set_realtime_runtime(Some(rt_runtime));
    }
    Ok((c != LinuxCpu::default()).then_some(c))
}

/// Parses a cpuset list ("0-3,5") into its members.
fn parse_cpuset(list: &str) -> Result<Vec<u32>, ()> {
    let mut out = Vec::new();
    for part in list.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: u32 = a.parse().map_err(|_| ())?;
        let b: u32 = b.parse().map_err(|_| ())?;
        if a > b || b - a > 65536 {
            return Err(());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

fn check_cpuset(
    requested: &str,
    online: Option<&str>,
    what: &str,
    plural: &str,
) -> Result<(), SpecError> {
    let want = parse_cpuset(requested)
        .map_err(|_| invalid(format!("Invalid value {requested} for cpuset {what}")))?;
    let Some(online) = online else { return Ok(()) };
    let Ok(have) = parse_cpuset(online) else {
        return Ok(());
    };
    if want.iter().any(|w| !have.contains(w)) {
        return Err(invalid(format!(
            "Requested {plural} are not available - requested {requested}, available: {online}"
        )));
    }
    Ok(())
}

fn stat_rdev(path: &str) -> Result<(i64, i64), SpecError> {
    let meta = fs::metadata(path).map_err(|e| invalid(format!("stat {path}: {e}")))?;
    let rdev = meta.rdev();
    Ok((
        nix::sys::stat::major(rdev) as i64,
        nix::sys::stat::minor(rdev) as i64,
    ))
}

fn block_io(hc: &HostConfig, host: &Host) -> Result<Option<LinuxBlockIo>, SpecError> {
    let mut b = LinuxBlockIo::default();
    if let Some(w) = hc.blkio_weight.filter(|w| *w > 0) {
        if !(10..=1000).contains(&w) {
            return Err(invalid("Range of blkio weight is from 10 to 1000"));
        }
        if !host.blkio_weight {
            return Err(unsupported(
                "--blkio-weight: your kernel does not support Block I/O weight or the cgroup is not mounted",
            ));
        }
        b.set_weight(Some(w));
    }
    let mut weights = Vec::new();
    for wd in hc.blkio_weight_device.as_deref().unwrap_or_default() {
        let path = wd.path.clone().unwrap_or_default();
        let weight = wd.weight.unwrap_or(0);
        if !(10..=1000).contains(&weight) {
            return Err(invalid(format!(
                "invalid weight for device: {path}: weight must be between 10 and 1000"
            )));
        }
        if !host.blkio_weight {
            return Err(unsupported(
                "--blkio-weight-device: your kernel does not support Block I/O weight_device or the cgroup is not mounted",
            ));
        }
        let (major, minor) = stat_rdev(&path)?;
        weights.push(
            LinuxWeightDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .weight(weight as u16)
                .build()?,
        );
    }
    if !weights.is_empty() {
        b.set_weight_device(Some(weights));
    }
    let throttle = |list: &Option<Vec<bollard::models::ThrottleDevice>>| {
        let mut out = Vec::new();
        for t in list.as_deref().unwrap_or_default() {
            let path = t.path.clone().unwrap_or_default();
            let rate = u64::try_from(t.rate.unwrap_or(0))
                .map_err(|_| invalid(format!("invalid rate for device: {path}")))?;
            let (major, minor) = stat_rdev(&path)?;
            out.push(
                LinuxThrottleDeviceBuilder::default()
                    .major(major)
                    .minor(minor)
                    .rate(rate)
                    .build()?,
            );
        }
        Ok::<_, SpecError>((!out.is_empty()).then_some(out))
    };
    b.set_throttle_read_bps_device(throttle(&hc.blkio_device_read_bps)?);
    b.set_throttle_write_bps_device(throttle(&hc.blkio_device_write_bps)?);
    b.set_throttle_read_iops_device(throttle(&hc.blkio_device_read_iops)?);
    b.set_throttle_write_iops_device(throttle(&hc.blkio_device_write_iops)?);
    Ok((b != LinuxBlockIo::default()).then_some(b))
}

// ---------------------------------------------------------------- paths & seccomp

const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn default_masked_paths(host: &Host) -> Vec<String> {
    DEFAULT_MASKED_PATHS
        .iter()
        .map(|s| s.to_string())
        .chain(host.thermal_masks.iter().cloned())
        .collect()
}

/// moby `WithSeccomp`: unconfined, the built-in profile, or a custom one (inline JSON as
/// the Docker CLI sends it, or a file path as berth's CLI may pass it).
fn seccomp_for(
    sec: &SecurityOpts,
    privileged: bool,
    caps: &[String],
    host: &Host,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    let target = seccomp::Target {
        arch: host.arch,
        kernel: host.kernel,
        caps,
        x32: host.x32,
    };
    let builtin = || seccomp::default_for(&target).map(Some);
    match sec.seccomp.as_deref() {
        Some("unconfined") => Ok(None),
        Some("builtin") => Ok(builtin()?),
        None | Some("") if privileged => Ok(None),
        None | Some("") => Ok(builtin()?),
        Some(custom) => {
            let json = if custom.trim_start().starts_with('{') {
                custom.to_string()
            } else {
                fs::read_to_string(custom).map_err(|e| {
                    invalid(format!("opening seccomp profile ({custom}) failed: {e}"))
                })?
            };
            Ok(seccomp::convert(&json, &target)?)
        }
    }
}

// ---------------------------------------------------------------- mounts

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(dest));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options.iter().map(|s| s.to_string()).collect()));
    m
}

/// oci.DefaultLinuxSpec's mounts (/dev/shm gets its size later).
fn default_mounts() -> Vec<Mount> {
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777"],
        ),
    ]
}

/// moby/sys `MergeTmpfsOptions`: later options win; one propagation mode; data options
/// limited to tmpfs's own.
fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    // flag name → collision key (flags that set and clear the same bit share one).
    fn flag_key(o: &str) -> Option<&'static str> {
        Some(match o {
            "ro" | "rw" => "rdonly",
            "suid" | "nosuid" => "nosuid",
            "dev" | "nodev" => "nodev",
            "exec" | "noexec" => "noexec",
            "sync" | "async" => "sync",
            "dirsync" => "dirsync",
            "remount" => "remount",
            "mand" | "nomand" => "mand",
            "atime" | "noatime" => "noatime",
            "diratime" | "nodiratime" => "nodiratime",
            "bind" => "bind",
            "rbind" => "rbind",
            "unbindable" | "runbindable" | "private" | "rprivate" | "shared" | "rshared"
            | "slave" | "rslave" => "propagation",
            "relatime" | "norelatime" => "relatime",
            "strictatime" | "nostrictatime" => "strictatime",
            _ => return None,
        })
    }
    const DATA: &[&str] = &[
        "",
        "size",
        "mode",
        "uid",
        "gid",
        "nr_inodes",
        "nr_blocks",
        "mpol",
    ];
    let mut seen_flags = Vec::new();
    let mut seen_data = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for o in options.iter().rev() {
        if o == "defaults" {
            continue;
        }
        if let Some(key) = flag_key(o) {
            if !seen_flags.contains(&key) {
                seen_flags.push(key);
                out.push(o.clone());
            }
            continue;
        }
        let Some((k, _)) = o.split_once('=') else {
            return Err(invalid(format!("invalid tmpfs option {o:?}")));
        };
        if !DATA.contains(&k) {
            return Err(invalid(format!("invalid tmpfs option {k:?}")));
        }
        if !seen_data.contains(&k) {
            seen_data.push(k);
            out.push(o.clone());
        }
    }
    out.reverse();
    Ok(out)
}

fn tmpfs_mount(dest: &str, data: &[String], read_only: bool) -> Result<Mount, SpecError> {
    let mut opts: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    opts.extend(data.iter().filter(|s| !s.is_empty()).cloned());
    if read_only {
        opts.push("ro".into());
    }
    let mut m = mount(dest, "tmpfs", "tmpfs", &[]);
    m.set_options(Some(merge_tmpfs_options(&opts)?));
    Ok(m)
}

fn validate_destination(dest: &str) -> Result<(), SpecError> {
    if !dest.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    if clean_container_path(dest) == "/" {
        return Err(invalid("invalid specification: destination can't be '/'"));
    }
    Ok(())
}

/// A user mount before ordering, with the info the rootfs propagation needs.
struct UserMount {
    dest: String,
    mount: Mount,
}

/// Docker's mount set: the defaults (minus what user mounts replace), then the user's
/// mounts (volumes/binds, the /etc files, tmpfs) ordered by depth so parents come first.
/// Returns the mounts and the rootfs propagation shared/slave binds need.
fn mounts(
    input: &SpecInput,
    ipc: IpcMode,
    readonly_rootfs: bool,
    privileged: bool,
    writable_cgroups: bool,
) -> Result<(Vec<Mount>, Option<String>), SpecError> {
    let hc = input.host_config;
    let tmpfs: BTreeMap<String, String> =
        hc.tmpfs.clone().unwrap_or_default().into_iter().collect();
    let mut user: Vec<UserMount> = Vec::new();
    let mut rootfs_propagation: Option<String> = None;

    let mut dests = std::collections::HashSet::new();
    for dest in tmpfs.keys() {
        validate_destination(dest)?;
        dests.insert(clean_container_path(dest));
    }
    for m in input.mounts {
        validate_destination(&m.destination)?;
        if !dests.insert(clean_container_path(&m.destination)) {
            return Err(invalid(format!("Duplicate mount point: {}", m.destination)));
        }
        let mount = match &m.kind {
            MountKind::Tmpfs { options } => tmpfs_mount(&m.destination, options, m.read_only)?,
            MountKind::Bind { propagation } => {
                let prop = propagation.as_deref().filter(|p| !p.is_empty());
                let prop = prop.unwrap_or("rprivate");
                match prop {
                    "private" | "rprivate" => {}
                    "shared" | "rshared" => {
                        ensure_propagation(&m.source, &["shared:"], "shared")?;
                        rootfs_propagation = Some("shared".into());
                    }
                    "slave" | "rslave" => {
                        ensure_propagation(&m.source, &["shared:", "master:"], "shared or slave")?;
                        if rootfs_propagation.is_none() {
                            rootfs_propagation = Some("rslave".into());
                        }
                    }
                    p => return Err(invalid(format!("invalid propagation mode: {p}"))),
                }
                let mut opts = vec!["rbind"];
                if m.read_only {
                    opts.push("rro");
                }
                opts.push(prop);
                mount(&m.destination, "bind", &m.source.to_string_lossy(), &opts)
            }
        };
        user.push(UserMount {
            dest: m.destination.clone(),
            mount,
        });
    }

    // The /etc files: rw unless the rootfs is read-only; a user mount there wins.
    for (dest, src) in [
        ("/etc/resolv.conf", input.etc.resolv_conf),
        ("/etc/hostname", input.etc.hostname),
        ("/etc/hosts", input.etc.hosts),
    ] {
        if dests.contains(dest) {
            continue;
        }
        let opts: &[&str] = if readonly_rootfs {
            &["rbind", "rro", "rprivate"]
        } else {
            &["rbind", "rprivate"]
        };
        user.push(UserMount {
            dest: dest.to_string(),
            mount: mount(dest, "bind", &src.to_string_lossy(), opts),
        });
        dests.insert(dest.to_string());
    }

    if ipc == IpcMode::Host && !dests.contains("/dev/shm") {
        user.push(UserMount {
            dest: "/dev/shm".into(),
            mount: mount("/dev/shm", "bind", "/dev/shm", &["rbind", "rprivate"]),
        });
        dests.insert("/dev/shm".into());
    }
    for (dest, data) in &tmpfs {
        let data: Vec<String> = data.split(',').map(str::to_string).collect();
        user.push(UserMount {
            dest: dest.clone(),
            mount: tmpfs_mount(dest, &data, false)?,
        });
    }

    // Stable: equal depths keep the order above (moby sorts by separator count).
    user.sort_by_key(|m| clean_container_path(&m.dest).matches('/').count());

    let shm_size = hc.shm_size.unwrap_or(0);
    if shm_size < 0 {
        return Err(invalid("SHM size can not be less than 0"));
    }
    let shm_size = if shm_size == 0 {
        DEFAULT_SHM_SIZE
    } else {
        shm_size
    };
    let user_dev = dests.contains("/dev");
    let mut out: Vec<Mount> = Vec::new();
    for mut m in default_mounts() {
        let dest = m.destination().to_string_lossy().to_string();
        if dests.contains(&dest) || (user_dev && dest.starts_with("/dev/")) {
            continue;
        }
        if dest == "/dev/shm" {
            if ipc == IpcMode::None {
                continue;
            }
            let mut opts = m.options().clone().unwrap_or_default();
            opts.push(format!("size={shm_size}"));
            m.set_options(Some(opts));
        }
        out.push(m);
    }

    // Read-only rootfs also makes the remaining default mounts read-only (mostly already).
    if readonly_rootfs {
        for m in &mut out {
            let dest = m.destination().to_string_lossy().to_string();
            if matches!(
                dest.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            ) {
                continue;
            }
            let mut opts = m.options().clone().unwrap_or_default();
            if !opts.iter().any(|o| o == "ro") {
                opts.push("ro".into());
                m.set_options(Some(opts));
            }
        }
    }
    let clear_ro = |m: &mut Mount| {
        let opts: Vec<String> = m
            .options()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|o| o != "ro")
            .collect();
        m.set_options(Some(opts));
    };
    for m in &mut out {
        if privileged && m.destination() == Path::new("/sys") {
            clear_ro(m);
        }
        if writable_cgroups && m.typ().as_deref() == Some("cgroup") {
            clear_ro(m);
        }
    }
    out.extend(user.into_iter().map(|u| u.mount));
    Ok((out, rootfs_propagation))
}

/// moby `ensureShared`/`ensureSharedOrSlave`: the mount holding `source` must propagate.
fn ensure_propagation(source: &Path, tags: &[&str], what: &str) -> Result<(), SpecError> {
    let path =
        fs::canonicalize(source).map_err(io_err(format!("resolving {}", source.display())))?;
    let file = fs::File::open("/proc/self/mountinfo").map_err(io_err("reading mountinfo"))?;
    let mut best: Option<(String, String)> = None;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(io_err("reading mountinfo"))?;
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < 6 || sep < 6 {
            continue;
        }
        let mountpoint = unescape_mountinfo(fields[4]);
        if !path.starts_with(&mountpoint) {
            continue;
        }
        // Longest match wins; later entries win ties (they are mounted on top).
        if best
            .as_ref()
            .is_none_or(|(mp, _)| mountpoint.len() >= mp.len())
        {
            best = Some((mountpoint, fields[6..sep].join(" ")));
        }
    }
    let Some((mountpoint, optional)) = best else {
        return Err(invalid(format!(
            "Can't find mount point of {}",
            source.display()
        )));
    };
    if !optional
        .split(' ')
        .any(|o| tags.iter().any(|t| o.starts_with(t)))
    {
        return Err(invalid(format!(
            "path {} is mounted on {mountpoint} but it is not a {what} mount",
            source.display()
        )));
    }
    Ok(())
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let code = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok());
            if let Some(v) = code {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{DeviceMapping, ResourcesUlimits};
    use oci_spec::runtime::LinuxSeccompAction;
    use std::os::unix::fs::symlink;

    const MIB: i64 = 1024 * 1024;

    fn host() -> Host {
        let mut rlimit_hard: HashMap<&'static str, u64> =
            ULIMITS.iter().map(|(n, _, _)| (*n, u64::MAX)).collect();
        rlimit_hard.insert("nofile", 20000);
        Host {
            cgroup_v2: false,
            swap_limit: true,
            blkio_weight: true,
            caps: ALL_CAPS.to_vec(),
            ncpu: 2,
            cpus_online: Some("0-1".into()),
            mems_online: Some("0".into()),
            thermal_masks: vec![],
            sysctl_ping_group_range: true,
            sysctl_unprivileged_port_start: true,
            rlimit_hard,
            arch: "amd64",
            kernel: (6, 18),
            x32: true,
        }
    }

    struct Fixture {
        rootfs: tempfile::TempDir,
        etc: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let rootfs = tempfile::tempdir().unwrap();
        let r = rootfs.path();
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(
            r.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            r.join("etc/group"),
            "root:x:0:\n# comment\napp:x:1000:\nextra:x:2000:app,other\ndocker:x:999:\n",
        )
        .unwrap();
        let etc = tempfile::tempdir().unwrap();
        for f in ["hostname", "hosts", "resolv.conf"] {
            fs::write(etc.path().join(f), "").unwrap();
        }
        Fixture { rootfs, etc }
    }

    fn cfg() -> ContainerCreateBody {
        ContainerCreateBody {
            cmd: Some(vec!["sh".into()]),
            hostname: Some("c0ffee".into()),
            ..Default::default()
        }
    }

    fn build_full(
        f: &Fixture,
        cfg: &ContainerCreateBody,
        hc: &HostConfig,
        mounts: &[ResolvedMount],
        netns: NetNs,
        host: &Host,
    ) -> Result<Spec, SpecError> {
        let hostname = f.etc.path().join("hostname");
        let hosts = f.etc.path().join("hosts");
        let resolv = f.etc.path().join("resolv.conf");
        let input = SpecInput {
            id: "c0ffee",
            config: cfg,
            host_config: hc,
            rootfs: f.rootfs.path(),
            etc: EtcFiles {
                hostname: &hostname,
                hosts: &hosts,
                resolv_conf: &resolv,
            },
            mounts,
            cgroups_path: "/berth/c0ffee",
            netns,
            nofile_hard_limit: 20000,
        };
        build_spec_with(&input, host)
    }

    fn build(hc: &HostConfig) -> Result<Spec, SpecError> {
        build_full(&fixture(), &cfg(), hc, &[], NetNs::New, &host())
    }

    fn ok(hc: HostConfig) -> Spec {
        build(&hc).unwrap()
    }

    fn err(hc: HostConfig) -> String {
        build(&hc).unwrap_err().to_string()
    }

    fn process(s: &Spec) -> &Process {
        s.process().as_ref().unwrap()
    }

    fn linux(s: &Spec) -> &oci_spec::runtime::Linux {
        s.linux().as_ref().unwrap()
    }

    fn caps(s: &Spec) -> Vec<String> {
        let set = process(s)
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        let mut v: Vec<String> = set
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    fn mount_at<'a>(s: &'a Spec, dest: &str) -> Option<&'a Mount> {
        s.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination() == Path::new(dest))
    }

    fn opts(s: &Spec, dest: &str) -> Vec<String> {
        mount_at(s, dest).unwrap().options().clone().unwrap()
    }

    fn dests(s: &Spec) -> Vec<String> {
        s.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().to_string_lossy().to_string())
            .collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn docker_defaults() {
        let s = ok(HostConfig::default());
        let p = process(&s);
        assert_eq!(p.args().clone().unwrap(), strs(&["sh"]));
        assert_eq!(
            p.env().clone().unwrap(),
            strs(&[&format!("PATH={DEFAULT_PATH_ENV}"), "HOSTNAME=c0ffee"])
        );
        assert_eq!(p.cwd(), Path::new("/"));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
        assert_eq!(p.user().additional_gids().clone().unwrap(), vec![0]);
        assert_eq!(caps(&s), sorted(DEFAULT_CAPS));
        let c = p.capabilities().as_ref().unwrap();
        assert!(c.ambient().is_none() && c.inheritable().is_none());
        assert_eq!(c.effective(), c.bounding());
        assert_eq!(p.no_new_privileges(), None);
        assert_eq!(p.oom_score_adj(), Some(0));
        assert!(p.rlimits().clone().unwrap().is_empty());
        assert_eq!(s.hostname().as_deref(), Some("c0ffee"));
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));

        let l = linux(&s);
        let ns: Vec<_> = l
            .namespaces()
            .clone()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        use LinuxNamespaceType::*;
        assert_eq!(
            ns,
            vec![Mount, Network, Uts, Pid, Ipc],
            "cgroup v1: host cgroupns"
        );
        assert_eq!(
            l.cgroups_path().as_deref(),
            Some(Path::new("/berth/c0ffee"))
        );
        assert!(l
            .masked_paths()
            .clone()
            .unwrap()
            .contains(&"/proc/kcore".to_string()));
        assert_eq!(
            l.readonly_paths().clone().unwrap(),
            strs(DEFAULT_READONLY_PATHS)
        );
        assert!(l.devices().clone().unwrap().is_empty());
        let rules: Vec<String> = l
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", if r.allow() { "allow" } else { "deny" }, r))
            .collect();
        assert_eq!(
            rules,
            strs(&[
                "deny a *:* rwm",
                "allow c 1:5 rwm",
                "allow c 1:3 rwm",
                "allow c 1:9 rwm",
                "allow c 1:8 rwm",
                "allow c 5:0 rwm",
                "allow c 5:1 rwm",
                "deny c 10:229 rwm",
            ])
        );
        let sysctl = l.sysctl().clone().unwrap();
        assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
        let sc = l.seccomp().as_ref().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);

        assert_eq!(
            dests(&s),
            strs(&[
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts",
            ])
        );
        assert_eq!(
            opts(&s, "/dev/shm"),
            strs(&["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"])
        );
        assert_eq!(opts(&s, "/etc/hosts"), strs(&["rbind", "rprivate"]));
        assert!(opts(&s, "/sys").contains(&"ro".to_string()));
        assert!(opts(&s, "/sys/fs/cgroup").contains(&"ro".to_string()));
        // The whole spec serializes (what youki reads).
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"cgroupsPath\":\"/berth/c0ffee\""));
    }

    #[test]
    fn env_tty_and_overrides() {
        let f = fixture();
        let c = ContainerCreateBody {
            tty: Some(true),
            env: Some(strs(&["PATH=/opt/bin", "FOO=1", "HOSTNAME", "FOO=2"])),
            entrypoint: Some(strs(&["/bin/ep", "-x"])),
            working_dir: Some("/srv/./app/".into()),
            ..cfg()
        };
        let hc = HostConfig {
            console_size: Some(vec![40, 120]),
            ..Default::default()
        };
        let s = build_full(&f, &c, &hc, &[], NetNs::New, &host()).unwrap();
        let p = process(&s);
        assert_eq!(
            p.env().clone().unwrap(),
            strs(&["PATH=/opt/bin", "TERM=xterm", "FOO=2"])
        );
        assert_eq!(p.args().clone().unwrap(), strs(&["/bin/ep", "-x", "sh"]));
        assert_eq!(p.terminal(), Some(true));
        let b = p.console_size().unwrap();
        assert_eq!((b.height(), b.width()), (40, 120));
        // Working dir cleaned and created inside the rootfs.
        assert_eq!(p.cwd(), Path::new("/srv/app"));
        assert!(f.rootfs.path().join("srv/app").is_dir());
    }

    #[test]
    fn working_dir_rules() {
        let f = fixture();
        let c = ContainerCreateBody {
            working_dir: Some("srv".into()),
            ..cfg()
        };
        let e = build_full(&f, &c, &HostConfig::default(), &[], NetNs::New, &host());
        assert_eq!(
            e.unwrap_err().to_string(),
            "the working directory 'srv' is invalid, it needs to be an absolute path"
        );
        let c = ContainerCreateBody {
            working_dir: Some("/etc/passwd".into()),
            ..cfg()
        };
        let e = build_full(&f, &c, &HostConfig::default(), &[], NetNs::New, &host());
        assert!(e.unwrap_err().to_string().contains("is not a directory"));
        let c = ContainerCreateBody { cmd: None, ..cfg() };
        let e = build_full(&f, &c, &HostConfig::default(), &[], NetNs::New, &host());
        assert_eq!(e.unwrap_err().to_string(), "no command specified");
    }

    #[test]
    fn capabilities_add_drop_all() {
        let s = ok(HostConfig {
            cap_add: Some(strs(&["NET_ADMIN", "cap_sys_ptrace", "CHOWN"])),
            cap_drop: Some(strs(&["chown", "CAP_KILL", "mknod"])),
            ..Default::default()
        });
        let mut want: Vec<&str> = DEFAULT_CAPS
            .iter()
            .copied()
            .filter(|c| !["CAP_CHOWN", "CAP_KILL", "CAP_MKNOD"].contains(c))
            .collect();
        want.extend(["CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_CHOWN"]);
        assert_eq!(caps(&s), sorted(&want));
        // ptrace-family syscalls follow the cap in the seccomp profile.
        let sc = linux(&s).seccomp().clone().unwrap();
        assert!(sc
            .syscalls()
            .iter()
            .flatten()
            .any(|r| r.names().iter().any(|n| n == "kcmp")));

        let s = ok(HostConfig {
            cap_add: Some(strs(&["ALL"])),
            cap_drop: Some(strs(&["MKNOD"])),
            ..Default::default()
        });
        let want: Vec<&str> = ALL_CAPS
            .iter()
            .copied()
            .filter(|c| *c != "CAP_MKNOD")
            .collect();
        assert_eq!(caps(&s), sorted(&want));

        let s = ok(HostConfig {
            cap_add: Some(strs(&["chown"])),
            cap_drop: Some(strs(&["all"])),
            ..Default::default()
        });
        assert_eq!(caps(&s), strs(&["CAP_CHOWN"]));

        assert_eq!(
            err(HostConfig {
                cap_add: Some(strs(&["FOO"])),
                ..Default::default()
            }),
            "unknown capability: \"CAP_FOO\""
        );
        let limited = Host {
            caps: DEFAULT_CAPS.to_vec(),
            ..host()
        };
        let hc = HostConfig {
            cap_add: Some(strs(&["SYS_ADMIN"])),
            ..Default::default()
        };
        let e = build_full(&fixture(), &cfg(), &hc, &[], NetNs::New, &limited).unwrap_err();
        assert!(e.to_string().starts_with("capability not supported"), "{e}");
    }

    #[test]
    fn privileged() {
        let s = ok(HostConfig {
            privileged: Some(true),
            ..Default::default()
        });
        assert_eq!(caps(&s), sorted(ALL_CAPS));
        let l = linux(&s);
        assert!(l.seccomp().is_none());
        assert!(l.masked_paths().clone().unwrap().is_empty());
        assert!(l.readonly_paths().clone().unwrap().is_empty());
        assert!(!opts(&s, "/sys").contains(&"ro".to_string()));
        assert!(!opts(&s, "/sys/fs/cgroup").contains(&"ro".to_string()));
        let rules = l.resources().as_ref().unwrap().devices().clone().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].to_string(), "a *:* rwm");
        assert!(rules[0].allow());
        let devs = l.devices().clone().unwrap();
        assert!(devs.iter().any(|d| d.path() == Path::new("/dev/null")
            && d.typ() == LinuxDeviceType::C
            && (d.major(), d.minor()) == (1, 3)));
        assert!(!devs.iter().any(|d| d.path().starts_with("/dev/pts")));
    }

    #[test]
    fn rlimits_clamped_to_callers_hard_limit() {
        let ul = |name: &str, soft: i64, hard: i64| ResourcesUlimits {
            name: Some(name.into()),
            soft: Some(soft),
            hard: Some(hard),
        };
        let s = ok(HostConfig {
            ulimits: Some(vec![
                ul("nofile", 65536, 65536),
                ul("core", -1, -1),
                ul("nproc", 100, 200),
                ul("nproc", 300, 400),
            ]),
            ..Default::default()
        });
        let got: Vec<(PosixRlimitType, u64, u64)> = process(&s)
            .rlimits()
            .clone()
            .unwrap()
            .iter()
            .map(|r| (r.typ(), r.soft(), r.hard()))
            .collect();
        assert_eq!(
            got,
            vec![
                (PosixRlimitType::RlimitNofile, 20000, 20000),
                (PosixRlimitType::RlimitCore, u64::MAX, u64::MAX),
                (PosixRlimitType::RlimitNproc, 300, 400),
            ]
        );
        let s = ok(HostConfig {
            ulimits: Some(vec![ul("nofile", 1024, 65536)]),
            ..Default::default()
        });
        let r = process(&s).rlimits().clone().unwrap()[0];
        assert_eq!((r.soft(), r.hard()), (1024, 20000));
        assert_eq!(
            err(HostConfig {
                ulimits: Some(vec![ul("nofile", 2048, 1024)]),
                ..Default::default()
            }),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            err(HostConfig {
                ulimits: Some(vec![ul("files", 1, 1)]),
                ..Default::default()
            }),
            "invalid ulimit type: files"
        );
    }

    fn mem(s: &Spec) -> Option<LinuxMemory> {
        *linux(s).resources().as_ref().unwrap().memory()
    }

    #[test]
    fn memory_and_swap_rules() {
        let m = mem(&ok(HostConfig {
            memory: Some(100 * MIB),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(100 * MIB), Some(200 * MIB)));
        let m = mem(&ok(HostConfig {
            memory: Some(100 * MIB),
            memory_swap: Some(-1),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(100 * MIB), None));
        let m = mem(&ok(HostConfig {
            memory: Some(100 * MIB),
            memory_swap: Some(300 * MIB),
            memory_reservation: Some(50 * MIB),
            memory_swappiness: Some(10),
            oom_kill_disable: Some(true),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(m.swap(), Some(300 * MIB));
        assert_eq!(m.reservation(), Some(50 * MIB));
        assert_eq!(m.swappiness(), Some(10));
        assert_eq!(m.disable_oom_killer(), Some(true));
        assert!(mem(&ok(HostConfig::default())).is_none());

        let e = |hc: HostConfig| err(hc);
        assert_eq!(
            e(HostConfig {
                memory: Some(100 * MIB),
                memory_swap: Some(50 * MIB),
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert!(e(HostConfig {
            memory_swap: Some(50 * MIB),
            ..Default::default()
        })
        .starts_with("You should always set the Memory limit"));
        assert_eq!(
            e(HostConfig {
                memory: Some(MIB),
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert!(e(HostConfig {
            memory_swappiness: Some(101),
            ..Default::default()
        })
        .contains("valid memory swappiness range is 0-100"));

        // No swap accounting: the default 2x is dropped, an explicit value refused.
        let noswap = Host {
            swap_limit: false,
            ..host()
        };
        let hc = HostConfig {
            memory: Some(100 * MIB),
            ..Default::default()
        };
        let s = build_full(&fixture(), &cfg(), &hc, &[], NetNs::New, &noswap).unwrap();
        assert_eq!(mem(&s).unwrap().swap(), None);
        let hc = HostConfig {
            memory: Some(100 * MIB),
            memory_swap: Some(300 * MIB),
            ..Default::default()
        };
        let e = build_full(&fixture(), &cfg(), &hc, &[], NetNs::New, &noswap).unwrap_err();
        assert!(matches!(e, SpecError::Unsupported(_)), "{e}");
    }

    fn cpu_of(s: &Spec) -> LinuxCpu {
        linux(s)
            .resources()
            .as_ref()
            .unwrap()
            .cpu()
            .clone()
            .unwrap()
    }

    #[test]
    fn cpu_rules() {
        let c = cpu_of(&ok(HostConfig {
            nano_cpus: Some(1_500_000_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            ..Default::default()
        }));
        assert_eq!((c.quota(), c.period()), (Some(150_000), Some(100_000)));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.cpus().as_deref(), Some("0-1"));
        assert_eq!(c.mems().as_deref(), Some("0"));
        let c = cpu_of(&ok(HostConfig {
            cpu_period: Some(50_000),
            cpu_quota: Some(25_000),
            ..Default::default()
        }));
        assert_eq!((c.quota(), c.period()), (Some(25_000), Some(50_000)));
        assert!(linux(&ok(HostConfig::default()))
            .resources()
            .as_ref()
            .unwrap()
            .cpu()
            .is_none());
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_period: Some(100_000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(3_000_000_000),
                ..Default::default()
            }),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_cpus: Some("3".into()),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 3, available: 0-1"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_cpus: Some("x".into()),
                ..Default::default()
            }),
            "Invalid value x for cpuset cpus"
        );
    }

    #[test]
    fn pids_and_blkio() {
        let r = |hc: HostConfig| linux(&ok(hc)).resources().clone().unwrap();
        let pids = r(HostConfig {
            pids_limit: Some(0),
            ..Default::default()
        });
        assert_eq!(pids.pids().unwrap().limit(), -1);
        let pids = r(HostConfig {
            pids_limit: Some(100),
            ..Default::default()
        });
        assert_eq!(pids.pids().unwrap().limit(), 100);
        let b = r(HostConfig {
            blkio_weight: Some(300),
            ..Default::default()
        });
        assert_eq!(b.block_io().clone().unwrap().weight(), Some(300));
        assert_eq!(
            err(HostConfig {
                blkio_weight: Some(5),
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
        let no_weight = Host {
            blkio_weight: false,
            ..host()
        };
        let hc = HostConfig {
            blkio_weight: Some(300),
            ..Default::default()
        };
        let e = build_full(&fixture(), &cfg(), &hc, &[], NetNs::New, &no_weight).unwrap_err();
        assert!(matches!(e, SpecError::Unsupported(_)));
    }

    #[test]
    fn shm_size_and_ipc() {
        let s = ok(HostConfig {
            shm_size: Some(128 * MIB),
            ..Default::default()
        });
        assert!(opts(&s, "/dev/shm").contains(&"size=134217728".to_string()));
        let s = ok(HostConfig {
            ipc_mode: Some("none".into()),
            ..Default::default()
        });
        assert!(mount_at(&s, "/dev/shm").is_none());
        let s = ok(HostConfig {
            ipc_mode: Some("host".into()),
            ..Default::default()
        });
        let shm = mount_at(&s, "/dev/shm").unwrap();
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert!(!linux(&s)
            .namespaces()
            .clone()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Ipc));
        assert_eq!(
            err(HostConfig {
                shm_size: Some(-1),
                ..Default::default()
            }),
            "SHM size can not be less than 0"
        );
        assert!(matches!(
            build(&HostConfig {
                ipc_mode: Some("container:abc".into()),
                ..Default::default()
            }),
            Err(SpecError::Unsupported(_))
        ));
        assert_eq!(
            err(HostConfig {
                ipc_mode: Some("bogus".into()),
                ..Default::default()
            }),
            "invalid IPC mode: bogus"
        );
    }

    #[test]
    fn tmpfs_options() {
        let s = ok(HostConfig {
            tmpfs: Some(HashMap::from([
                ("/run".to_string(), "size=64m,noexec".to_string()),
                ("/scratch".to_string(), "exec,mode=1777".to_string()),
                ("/plain".to_string(), String::new()),
            ])),
            ..Default::default()
        });
        let run = mount_at(&s, "/run").unwrap();
        assert_eq!(run.typ().as_deref(), Some("tmpfs"));
        assert_eq!(
            opts(&s, "/run"),
            strs(&["nosuid", "nodev", "rprivate", "size=64m", "noexec"])
        );
        assert_eq!(
            opts(&s, "/scratch"),
            strs(&["nosuid", "nodev", "rprivate", "exec", "mode=1777"])
        );
        assert_eq!(
            opts(&s, "/plain"),
            strs(&["noexec", "nosuid", "nodev", "rprivate"])
        );
        let bad = |k: &str, v: &str| {
            err(HostConfig {
                tmpfs: Some(HashMap::from([(k.to_string(), v.to_string())])),
                ..Default::default()
            })
        };
        assert_eq!(
            bad("/run", "tmpcopyup"),
            "invalid tmpfs option \"tmpcopyup\""
        );
        assert_eq!(bad("/run", "foo=1"), "invalid tmpfs option \"foo\"");
        assert_eq!(
            bad("run", ""),
            "invalid mount path: 'run' mount path must be absolute"
        );
        assert_eq!(
            bad("/", ""),
            "invalid specification: destination can't be '/'"
        );
    }

    #[test]
    fn readonly_rootfs() {
        let s = ok(HostConfig {
            readonly_rootfs: Some(true),
            ..Default::default()
        });
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
        for f in ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] {
            assert_eq!(opts(&s, f), strs(&["rbind", "rro", "rprivate"]));
        }
        assert!(opts(&s, "/sys").contains(&"ro".to_string()));
        for f in ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"] {
            assert!(!opts(&s, f).contains(&"ro".to_string()), "{f}");
        }
    }

    #[test]
    fn mount_order_and_overrides() {
        let f = fixture();
        let data = f.etc.path().to_path_buf();
        let bind = |dest: &str, ro: bool| ResolvedMount {
            source: data.clone(),
            destination: dest.into(),
            read_only: ro,
            kind: MountKind::Bind { propagation: None },
        };
        let mounts = vec![
            bind("/data/sub", false),
            bind("/data", true),
            ResolvedMount {
                source: PathBuf::new(),
                destination: "/a".into(),
                read_only: true,
                kind: MountKind::Tmpfs {
                    options: strs(&["size=1m"]),
                },
            },
            bind("/etc/hosts", false),
            bind("/dev", false),
        ];
        let hc = HostConfig {
            tmpfs: Some(HashMap::from([("/run".to_string(), String::new())])),
            ..Default::default()
        };
        let s = build_full(&f, &cfg(), &hc, &mounts, NetNs::New, &host()).unwrap();
        assert_eq!(
            dests(&s),
            strs(&[
                "/proc",
                "/sys",
                "/sys/fs/cgroup",
                "/data",
                "/a",
                "/dev",
                "/run",
                "/data/sub",
                "/etc/hosts",
                "/etc/resolv.conf",
                "/etc/hostname",
            ])
        );
        assert_eq!(opts(&s, "/data"), strs(&["rbind", "rro", "rprivate"]));
        assert_eq!(opts(&s, "/data/sub"), strs(&["rbind", "rprivate"]));
        assert_eq!(
            opts(&s, "/a"),
            strs(&["noexec", "nosuid", "nodev", "rprivate", "size=1m", "ro"])
        );
        // The user's /etc/hosts replaced berth's.
        let hosts = mount_at(&s, "/etc/hosts").unwrap();
        assert_eq!(hosts.source().as_deref(), Some(data.as_path()));

        let dup = vec![bind("/run", false)];
        let e = build_full(&f, &cfg(), &hc, &dup, NetNs::New, &host()).unwrap_err();
        assert_eq!(e.to_string(), "Duplicate mount point: /run");
        let bad = vec![ResolvedMount {
            kind: MountKind::Bind {
                propagation: Some("sideways".into()),
            },
            ..bind("/x", false)
        }];
        let e = build_full(&f, &cfg(), &hc, &bad, NetNs::New, &host()).unwrap_err();
        assert_eq!(e.to_string(), "invalid propagation mode: sideways");
    }

    #[test]
    fn masked_paths_present_absent() {
        let s = ok(HostConfig::default());
        let masked = linux(&s).masked_paths().clone().unwrap();
        assert_eq!(masked, strs(DEFAULT_MASKED_PATHS));
        let with_thermal = Host {
            thermal_masks: strs(&["/sys/devices/system/cpu/cpu0/thermal_throttle"]),
            ..host()
        };
        let s = build_full(
            &fixture(),
            &cfg(),
            &HostConfig::default(),
            &[],
            NetNs::New,
            &with_thermal,
        )
        .unwrap();
        assert_eq!(linux(&s).masked_paths().clone().unwrap().len(), 13);
        let s = ok(HostConfig {
            masked_paths: Some(strs(&["/proc/x"])),
            readonly_paths: Some(vec![]),
            ..Default::default()
        });
        assert_eq!(
            linux(&s).masked_paths().clone().unwrap(),
            strs(&["/proc/x"])
        );
        assert!(linux(&s).readonly_paths().clone().unwrap().is_empty());
        let s = ok(HostConfig {
            security_opt: Some(strs(&["systempaths=unconfined"])),
            ..Default::default()
        });
        assert!(linux(&s).masked_paths().clone().unwrap().is_empty());
    }

    #[test]
    fn security_opts_and_seccomp() {
        let sec = |o: &[&str]| {
            build(&HostConfig {
                security_opt: Some(strs(o)),
                ..Default::default()
            })
        };
        let s = sec(&["seccomp=unconfined", "label=disable", "apparmor=unconfined"]).unwrap();
        assert!(linux(&s).seccomp().is_none());
        let s = sec(&["seccomp=builtin", "no-new-privileges"]).unwrap();
        assert!(linux(&s).seccomp().is_some());
        assert_eq!(process(&s).no_new_privileges(), Some(true));
        let s = sec(&["no-new-privileges:true"]).unwrap();
        assert_eq!(process(&s).no_new_privileges(), Some(true));
        let s = sec(&["no-new-privileges=false"]).unwrap();
        assert_eq!(process(&s).no_new_privileges(), None);
        let inline = r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        let s = sec(&[inline]).unwrap();
        let sc = linux(&s).seccomp().clone().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), r#"{"defaultAction":"SCMP_ACT_LOG"}"#).unwrap();
        let s = sec(&[&format!("seccomp={}", file.path().display())]).unwrap();
        let sc = linux(&s).seccomp().clone().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActLog);
        let e = sec(&["seccomp=/nonexistent/profile.json"]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("opening seccomp profile (/nonexistent/profile.json) failed"));
        let e = sec(&["seccomp={oops"]).unwrap_err();
        assert!(e.to_string().starts_with("Decoding seccomp profile failed"));
        assert_eq!(
            sec(&["foo=bar"]).unwrap_err().to_string(),
            "invalid --security-opt 2: \"foo=bar\""
        );
        assert_eq!(
            sec(&["foo"]).unwrap_err().to_string(),
            "invalid --security-opt 1: \"foo\""
        );
        assert!(sec(&["no-new-privileges=maybe"]).is_err());
        // Privileged: no seccomp unless a profile is named.
        let s = build(&HostConfig {
            privileged: Some(true),
            security_opt: Some(strs(&[inline])),
            ..Default::default()
        })
        .unwrap();
        assert!(linux(&s).seccomp().is_some());
        let s = sec(&["writable-cgroups=true"]).unwrap();
        assert!(!opts(&s, "/sys/fs/cgroup").contains(&"ro".to_string()));
    }

    #[test]
    fn namespaces_by_mode() {
        let f = fixture();
        let kinds = |s: &Spec| -> Vec<LinuxNamespaceType> {
            linux(s)
                .namespaces()
                .clone()
                .unwrap()
                .iter()
                .map(|n| n.typ())
                .collect()
        };
        use LinuxNamespaceType::*;
        let hc = HostConfig::default();
        let s = build_full(&f, &cfg(), &hc, &[], NetNs::Host, &host()).unwrap();
        assert_eq!(kinds(&s), vec![Mount, Uts, Pid, Ipc]);
        assert!(linux(&s).sysctl().clone().unwrap().is_empty());
        let p = PathBuf::from("/proc/42/ns/net");
        let s = build_full(&f, &cfg(), &hc, &[], NetNs::Path(p.clone()), &host()).unwrap();
        let net = linux(&s).namespaces().clone().unwrap()[1].clone();
        assert_eq!((net.typ(), net.path().clone()), (Network, Some(p)));
        // Joined the same way, but the container's own: the defaults for a new one.
        let m = PathBuf::from("/proc/42/fd/7");
        let s = build_full(&f, &cfg(), &hc, &[], NetNs::Made(m.clone()), &host()).unwrap();
        let net = linux(&s).namespaces().clone().unwrap()[1].clone();
        assert_eq!((net.typ(), net.path().clone()), (Network, Some(m)));
        let sysctl = linux(&s).sysctl().clone().unwrap();
        assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");
        let hc = HostConfig {
            pid_mode: Some("host".into()),
            uts_mode: Some("host".into()),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
            ..Default::default()
        };
        let s = build_full(&f, &cfg(), &hc, &[], NetNs::New, &host()).unwrap();
        assert_eq!(kinds(&s), vec![Mount, Network, Ipc, Cgroup]);
        assert_eq!(s.hostname(), &None);
        let v2 = Host {
            cgroup_v2: true,
            ..host()
        };
        let s = build_full(&f, &cfg(), &HostConfig::default(), &[], NetNs::New, &v2).unwrap();
        assert_eq!(kinds(&s).last(), Some(&Cgroup));
    }

    #[test]
    fn sysctls_and_domainname() {
        let f = fixture();
        let c = ContainerCreateBody {
            domainname: Some("example.org".into()),
            ..cfg()
        };
        let hc = HostConfig {
            sysctls: Some(HashMap::from([(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "1024".to_string(),
            )])),
            ..Default::default()
        };
        let s = build_full(&f, &c, &hc, &[], NetNs::New, &host()).unwrap();
        let sysctl = linux(&s).sysctl().clone().unwrap();
        assert_eq!(sysctl["kernel.domainname"], "example.org");
        assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "1024");
    }

    #[test]
    fn devices_and_rules() {
        let s = ok(HostConfig {
            devices: Some(vec![DeviceMapping {
                path_on_host: Some("/dev/null".into()),
                path_in_container: Some("/dev/mynull".into()),
                cgroup_permissions: Some("rw".into()),
            }]),
            device_cgroup_rules: Some(strs(&["c 10:200 rwm", "b *:* m"])),
            ..Default::default()
        });
        let l = linux(&s);
        let d = &l.devices().clone().unwrap()[0];
        assert_eq!(d.path(), Path::new("/dev/mynull"));
        assert_eq!((d.typ(), d.major(), d.minor()), (LinuxDeviceType::C, 1, 3));
        let rules: Vec<String> = l
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap()
            .iter()
            .skip(8)
            .map(|r| r.to_string())
            .collect();
        assert_eq!(rules, strs(&["c 1:3 rw", "c 10:200 rwm", "b *:* m"]));
        let e = err(HostConfig {
            devices: Some(vec![DeviceMapping {
                path_on_host: Some("/dev/nonexistent-berth".into()),
                path_in_container: None,
                cgroup_permissions: None,
            }]),
            ..Default::default()
        });
        assert!(e.starts_with(
            "error gathering device information while adding custom device \"/dev/nonexistent-berth\""
        ));
        assert_eq!(
            err(HostConfig {
                device_cgroup_rules: Some(strs(&["c 10 rwm"])),
                ..Default::default()
            }),
            "invalid device cgroup rule format: 'c 10 rwm'"
        );
    }

    #[test]
    fn unsupported_and_invalid_options() {
        assert_eq!(
            err(HostConfig {
                oom_score_adj: Some(1001),
                ..Default::default()
            }),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]"
        );
        let s = ok(HostConfig {
            oom_score_adj: Some(-500),
            ..Default::default()
        });
        assert_eq!(process(&s).oom_score_adj(), Some(-500));
        assert_eq!(
            err(HostConfig {
                runtime: Some("kata".into()),
                ..Default::default()
            }),
            "unknown or invalid runtime name: kata"
        );
    }

    fn rootfs_with(passwd: Option<&str>, group: Option<&str>) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("etc")).unwrap();
        if let Some(p) = passwd {
            fs::write(d.path().join("etc/passwd"), p).unwrap();
        }
        if let Some(g) = group {
            fs::write(d.path().join("etc/group"), g).unwrap();
        }
        d
    }

    #[test]
    fn user_resolution() {
        let f = fixture();
        let r = f.rootfs.path();
        assert_eq!(resolve_user(r, "", &[]).unwrap(), (0, 0, vec![0]));
        assert_eq!(
            resolve_user(r, "app", &[]).unwrap(),
            (1000, 1000, vec![1000, 2000])
        );
        assert_eq!(
            resolve_user(r, "app:docker", &[]).unwrap(),
            (1000, 999, vec![999])
        );
        assert_eq!(resolve_user(r, "1000:0", &[]).unwrap(), (1000, 0, vec![0]));
        // Numeric ids need no entry.
        assert_eq!(resolve_user(r, "1234", &[]).unwrap(), (1234, 0, vec![0]));
        assert_eq!(
            resolve_user(r, "1234:5678", &[]).unwrap(),
            (1234, 5678, vec![5678])
        );
        assert_eq!(
            resolve_user(r, "root", &strs(&["docker", "3000", "0"])).unwrap(),
            (0, 0, vec![0, 999, 3000, 0])
        );
        assert_eq!(
            resolve_user(r, "nobody", &[]).unwrap_err().to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        assert_eq!(
            resolve_user(r, "app:nogroup", &[]).unwrap_err().to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
        assert_eq!(
            resolve_user(r, "", &strs(&["nogroup"]))
                .unwrap_err()
                .to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
        assert!(resolve_user(r, "99999999999", &[]).is_err());

        // No passwd/group at all: ids only.
        let bare = rootfs_with(None, None);
        assert_eq!(resolve_user(bare.path(), "", &[]).unwrap(), (0, 0, vec![0]));
        assert_eq!(
            resolve_user(bare.path(), "42:43", &strs(&["44"])).unwrap(),
            (42, 43, vec![43, 44])
        );
        assert!(resolve_user(bare.path(), "app", &[]).is_err());
    }

    #[test]
    fn passwd_symlink_resolves_inside_rootfs() {
        // /etc/passwd -> /etc/os-release: absolute, and a path the host also has. It must
        // be read from the rootfs, never from the host.
        let d = rootfs_with(None, Some("grp:x:500:inside\n"));
        let r = d.path();
        fs::write(r.join("etc/os-release"), "inside:x:500:500::/:/bin/sh\n").unwrap();
        symlink("/etc/os-release", r.join("etc/passwd")).unwrap();
        assert_eq!(
            resolve_user(r, "inside", &[]).unwrap(),
            (500, 500, vec![500, 500])
        );
        // A relative link climbing past / stays in the rootfs too.
        fs::remove_file(r.join("etc/passwd")).unwrap();
        symlink("../../../../etc/os-release", r.join("etc/passwd")).unwrap();
        assert_eq!(resolve_user(r, "inside", &[]).unwrap().0, 500);
        // A link to something the rootfs lacks is "no passwd file", not the host's.
        fs::remove_file(r.join("etc/passwd")).unwrap();
        symlink("/etc/hostname", r.join("etc/passwd")).unwrap();
        assert!(resolve_user(r, "root", &[]).is_err());
        assert_eq!(resolve_user(r, "0", &[]).unwrap().0, 0);
    }

    #[test]
    fn build_spec_probes_this_host() {
        let f = fixture();
        let c = cfg();
        let hc = HostConfig::default();
        let (hostname, hosts, resolv) = (
            f.etc.path().join("hostname"),
            f.etc.path().join("hosts"),
            f.etc.path().join("resolv.conf"),
        );
        let s = build_spec(&SpecInput {
            id: "x",
            config: &c,
            host_config: &hc,
            rootfs: f.rootfs.path(),
            etc: EtcFiles {
                hostname: &hostname,
                hosts: &hosts,
                resolv_conf: &resolv,
            },
            mounts: &[],
            cgroups_path: "/berth/x",
            netns: NetNs::New,
            nofile_hard_limit: 20000,
        })
        .unwrap();
        assert!(linux(&s).seccomp().is_some());
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain\\"), "/plain\\");
    }
}
