//! `docker run` / `docker create` flags, parsed and validated into the Docker API
//! create request (bollard models), with docker 28's error messages.
//!
//! Mirrors docker/cli `cli/command/container/opts.go` (client side) plus the pure,
//! host-independent checks the daemon performs on create (moby `daemon/container.go`,
//! `daemon/daemon_unix.go`, `volume/mounts`), so a bad flag fails before the engine
//! is touched. Checks that depend on the host (bind source exists, CPU count, kernel
//! support, networks, images) are left to the engine.
//!
//! Error text: flags that docker validates while parsing the command line come back as
//! pflag's `invalid argument "V" for "-m, --memory" flag: ...`; the rest come back as
//! docker prints them (without the "Error response from daemon: " prefix).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Display;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig, Mount,
    MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions, MountVolumeOptionsDriverConfig, NetworkingConfig, PortBinding, PortMap,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use clap::ArgAction;

/// A flag value docker would reject; the message is docker's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, FlagError> {
    Err(FlagError(msg.into()))
}

/// pflag's wrapper for errors raised while a flag value is being set.
fn flag_err(flag: &str, value: &str, e: impl Display) -> FlagError {
    FlagError(format!(
        "invalid argument {} for \"{flag}\" flag: {e}",
        go_quote(value)
    ))
}

/// Every `docker run` / `docker create` flag berth supports. Fields hold the raw
/// strings; [`to_create_request`] validates them so errors carry docker's wording.
///
/// Flatten it with `#[command(flatten)]` and follow it with [`ImageAndCommand`] (or an
/// equivalent single trailing positional): docker stops parsing flags at IMAGE, and
/// clap only does that when IMAGE is the first value of a `trailing_var_arg`.
///
/// Bool flags accept pflag's `--rm=false` form; `-h` is `--hostname` as in docker, so
/// the generated help flag is replaced by a long-only `--help`.
#[derive(Debug, Clone, clap::Args, Default)]
#[command(disable_help_flag = true, about = None, long_about = None)]
pub struct RunFlags {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub add_host: Vec<String>,

    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long, value_name = "list", allow_hyphen_values = true)]
    pub attach: Vec<String>,

    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long, value_name = "uint16", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,

    /// Add Linux capabilities
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub cap_add: Vec<String>,

    /// Drop Linux capabilities
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub cap_drop: Vec<String>,

    /// Optional parent cgroup for the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cgroup_parent: Option<String>,

    /// Cgroup namespace to use (host|private)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cgroupns: Option<String>,

    /// Write the container ID to the file
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cidfile: Option<PathBuf>,

    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,

    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,

    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,

    /// Number of CPUs
    #[arg(long, value_name = "decimal", allow_hyphen_values = true)]
    pub cpus: Option<String>,

    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,

    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,

    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub detach: Option<bool>,

    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,

    /// Add a host device to the container
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub device: Vec<String>,

    /// Add a rule to the cgroup allowed devices list
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub device_cgroup_rule: Vec<String>,

    /// Set custom DNS servers
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub dns: Vec<String>,

    /// Set DNS options
    #[arg(
        long,
        alias = "dns-opt",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub dns_option: Vec<String>,

    /// Set custom DNS search domains
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub dns_search: Vec<String>,

    /// Container NIS domain name
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub domainname: Option<String>,

    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,

    /// Set environment variables
    #[arg(short = 'e', long, value_name = "list", allow_hyphen_values = true)]
    pub env: Vec<String>,

    /// Read in a file of environment variables
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub env_file: Vec<PathBuf>,

    /// Expose a port or a range of ports
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub expose: Vec<String>,

    /// Add additional groups to join
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub group_add: Vec<String>,

    /// Command to run to check health
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub health_cmd: Option<String>,

    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_interval: Option<String>,

    /// Consecutive failures needed to report unhealthy
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub health_retries: Option<String>,

    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,

    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,

    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,

    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Container host name
    #[arg(short = 'h', long, value_name = "string", allow_hyphen_values = true)]
    pub hostname: Option<String>,

    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long = "init", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub init: Option<bool>,

    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub interactive: Option<bool>,

    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub ip: Option<String>,

    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub ip6: Option<String>,

    /// IPC mode to use
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub ipc: Option<String>,

    /// Set meta data on a container
    #[arg(short = 'l', long, value_name = "list", allow_hyphen_values = true)]
    pub label: Vec<String>,

    /// Read in a line delimited file of labels
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub label_file: Vec<PathBuf>,

    /// Add link to another container
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub link: Vec<String>,

    /// Logging driver for the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub log_driver: Option<String>,

    /// Log driver options
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub log_opt: Vec<String>,

    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub mac_address: Option<String>,

    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory: Option<String>,

    /// Memory soft limit
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,

    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,

    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub memory_swappiness: Option<String>,

    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount", allow_hyphen_values = true)]
    pub mount: Vec<String>,

    /// Assign a name to the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub name: Option<String>,

    /// Connect a container to a network
    #[arg(
        long,
        alias = "net",
        value_name = "network",
        allow_hyphen_values = true
    )]
    pub network: Option<String>,

    /// Add network-scoped alias for the container
    #[arg(
        long,
        alias = "net-alias",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub network_alias: Vec<String>,

    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub no_healthcheck: Option<bool>,

    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub oom_kill_disable: Option<bool>,

    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,

    /// PID namespace to use
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub pid: Option<String>,

    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,

    /// Set platform if server is multi-platform capable
    #[arg(
        long,
        env = "DOCKER_DEFAULT_PLATFORM",
        value_name = "string",
        allow_hyphen_values = true
    )]
    pub platform: Option<String>,

    /// Give extended privileges to this container
    #[arg(long = "privileged", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub privileged: Option<bool>,

    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long, value_name = "list", allow_hyphen_values = true)]
    pub publish: Vec<String>,

    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub publish_all: Option<bool>,

    /// Pull image before running ("always", "missing", "never") (default "missing")
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub pull: Option<String>,

    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub read_only: Option<bool>,

    /// Restart policy to apply when a container exits (default "no")
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub restart: Option<String>,

    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long = "rm", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub rm: Option<bool>,

    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub sig_proxy: Option<bool>,

    /// Security Options
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub security_opt: Vec<String>,

    /// Size of /dev/shm
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub shm_size: Option<String>,

    /// Signal to stop the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub stop_signal: Option<String>,

    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,

    /// Sysctl options
    #[arg(long, value_name = "map", allow_hyphen_values = true)]
    pub sysctl: Vec<String>,

    /// Mount a tmpfs directory
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub tmpfs: Vec<String>,

    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool, value_name = "bool")]
    pub tty: Option<bool>,

    /// Ulimit options
    #[arg(long, value_name = "ulimit", allow_hyphen_values = true)]
    pub ulimit: Vec<String>,

    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long, value_name = "string", allow_hyphen_values = true)]
    pub user: Option<String>,

    /// User namespace to use
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub userns: Option<String>,

    /// UTS namespace to use
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub uts: Option<String>,

    /// Bind mount a volume
    #[arg(short = 'v', long, value_name = "list", allow_hyphen_values = true)]
    pub volume: Vec<String>,

    /// Mount volumes from the specified container(s)
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub volumes_from: Vec<String>,

    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string", allow_hyphen_values = true)]
    pub workdir: Option<String>,
}

/// `IMAGE [COMMAND] [ARG...]` as one trailing positional. Keeping IMAGE in the same
/// `trailing_var_arg` is what makes clap treat everything after it as the command's
/// (`berth run busybox ls -la`, `berth run alpine -d` passes `-d` to the container),
/// exactly like docker's `SetInterspersed(false)`. Flatten it after [`RunFlags`].
#[derive(Debug, Clone, clap::Args, Default)]
#[command(about = None, long_about = None)]
pub struct ImageAndCommand {
    #[arg(
        value_names = ["IMAGE", "COMMAND"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub args: Vec<String>,
}

impl ImageAndCommand {
    pub fn image(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }
    pub fn command(&self) -> &[String] {
        self.args.get(1..).unwrap_or(&[])
    }
}

/// Everything `run`/`create` needs to call the engine.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    /// The create body, `host_config` always set.
    pub body: ContainerCreateBody,
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
    pub cidfile: Option<PathBuf>,
    pub detach_keys: Option<String>,
    /// `--pull always|missing|never`; `None` when not given (docker's default: missing).
    pub pull: Option<String>,
    /// `--platform` (or `DOCKER_DEFAULT_PLATFORM`), passed to the image lookup/pull.
    pub platform: Option<String>,
}

/// pflag's bool syntax (strconv.ParseBool), so `--rm=false`, `--privileged=true` work.
fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        )),
    }
}

/// Turn parsed flags plus the IMAGE / COMMAND positionals into a create request.
/// `lookup_env` resolves `-e FOO` and `KEY`-only env-file lines.
pub fn to_create_request(
    flags: &RunFlags,
    image: &str,
    command: &[String],
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<CreateRequest, FlagError> {
    let f = flags;

    // ---- values docker validates while parsing flags (pflag-wrapped errors) ----
    let attach = f
        .attach
        .iter()
        .map(|a| validate_attach(a).map_err(|e| flag_err("-a, --attach", a, e)))
        .collect::<Result<Vec<_>, _>>()?;
    for r in &f.device_cgroup_rule {
        if !valid_device_cgroup_rule(r) {
            return Err(flag_err(
                "--device-cgroup-rule",
                r,
                format!("invalid device cgroup format '{r}'"),
            ));
        }
    }
    let dns = f
        .dns
        .iter()
        .map(|d| validate_ip_address(d).map_err(|e| flag_err("--dns", d, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let dns_search = f
        .dns_search
        .iter()
        .map(|d| validate_dns_search(d).map_err(|e| flag_err("--dns-search", d, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let extra_hosts = f
        .add_host
        .iter()
        .map(|h| validate_extra_host(h).map_err(|e| flag_err("--add-host", h, e)))
        .collect::<Result<Vec<_>, _>>()?;
    for l in &f.label {
        validate_label(l).map_err(|e| flag_err("-l, --label", l, e))?;
    }
    for l in &f.link {
        parse_link(l).map_err(|e| flag_err("--link", l, e))?;
    }
    let mut sysctls = HashMap::new();
    for s in &f.sysctl {
        validate_sysctl(s).map_err(|e| flag_err("--sysctl", s, e))?;
        let (k, v, _) = cut(s, "=");
        sysctls.insert(k.to_string(), v.to_string());
    }
    let mut ulimits: BTreeMap<String, ResourcesUlimits> = BTreeMap::new();
    for u in &f.ulimit {
        let ul = parse_ulimit(u).map_err(|e| flag_err("--ulimit", u, e))?;
        ulimits.insert(ul.name.clone().unwrap_or_default(), ul);
    }
    let mounts = f
        .mount
        .iter()
        .map(String::as_str)
        .map(parse_mount)
        .collect::<Result<Vec<_>, _>>()?;

    let bytes_flag = |name: &str, v: &Option<String>| -> Result<Option<i64>, FlagError> {
        v.as_deref()
            .map(|s| parse_bytes(s).map_err(|e| flag_err(name, s, e)))
            .transpose()
    };
    let memory = bytes_flag("-m, --memory", &f.memory)?;
    let memory_reservation = bytes_flag("--memory-reservation", &f.memory_reservation)?;
    let memory_swap = match f.memory_swap.as_deref() {
        Some("-1") => Some(-1),
        _ => bytes_flag("--memory-swap", &f.memory_swap)?,
    };
    let shm_size = bytes_flag("--shm-size", &f.shm_size)?;
    let nano_cpus = f
        .cpus
        .as_deref()
        .map(|s| parse_cpus(s).map_err(|e| flag_err("--cpus", s, e)))
        .transpose()?;

    let int_flag = |name: &str, v: &Option<String>| -> Result<Option<i64>, FlagError> {
        v.as_deref()
            .map(|s| go_parse_int(s, true, 64).map_err(|e| flag_err(name, s, e)))
            .transpose()
    };
    let cpu_shares = int_flag("-c, --cpu-shares", &f.cpu_shares)?;
    let cpu_period = int_flag("--cpu-period", &f.cpu_period)?;
    let cpu_quota = int_flag("--cpu-quota", &f.cpu_quota)?;
    let swappiness = int_flag("--memory-swappiness", &f.memory_swappiness)?;
    let oom_score_adj = int_flag("--oom-score-adj", &f.oom_score_adj)?;
    let pids_limit = int_flag("--pids-limit", &f.pids_limit)?;
    let stop_timeout = int_flag("--stop-timeout", &f.stop_timeout)?;
    let health_retries = int_flag("--health-retries", &f.health_retries)?;
    let blkio_weight = f
        .blkio_weight
        .as_deref()
        .map(|s| {
            go_parse_uint(s, true, 16)
                .map(|v| v as u16)
                .map_err(|e| flag_err("--blkio-weight", s, e))
        })
        .transpose()?;

    let dur_flag = |name: &str, v: &Option<String>| -> Result<Option<i64>, FlagError> {
        v.as_deref()
            .map(|s| parse_go_duration(s).map_err(|e| flag_err(name, s, e)))
            .transpose()
    };
    let health_interval = dur_flag("--health-interval", &f.health_interval)?;
    let health_timeout = dur_flag("--health-timeout", &f.health_timeout)?;
    let health_start_period = dur_flag("--health-start-period", &f.health_start_period)?;
    let health_start_interval = dur_flag("--health-start-interval", &f.health_start_interval)?;

    // ---- docker/cli parse() ----
    if let Some(mac) = non_empty(&f.mac_address) {
        if !valid_mac(mac.trim()) {
            return fail(format!("{mac} is not a valid mac address"));
        }
    }
    let interactive = f.interactive.unwrap_or(false);
    let tty = f.tty.unwrap_or(false);
    let detach = f.detach.unwrap_or(false);
    let mut attach_stdin = attach.iter().any(|a| a == "stdin") || interactive;
    let mut attach_stdout = attach.is_empty() || attach.iter().any(|a| a == "stdout");
    let mut attach_stderr = attach.is_empty() || attach.iter().any(|a| a == "stderr");

    if let Some(s) = swappiness {
        if s != -1 && !(0..=100).contains(&s) {
            return fail(format!(
                "invalid value: {s}. Valid memory swappiness range is 0-100"
            ));
        }
    }

    let (binds, anon_volumes) = parse_volumes(&f.volume)?;

    let mut tmpfs = HashMap::new();
    for t in &f.tmpfs {
        let (dst, opts, _) = cut(t, ":");
        validate_not_root_abs(dst)?;
        tmpfs.insert(dst.to_string(), opts.to_string());
    }

    let entrypoint = f.entrypoint.as_ref().map(|e| vec![e.clone()]);

    let (exposed, port_bindings) = parse_ports(&f.publish, &f.expose)?;

    let mut devices = Vec::new();
    let mut cdi_devices = Vec::new();
    for d in &f.device {
        if is_cdi_name(d) {
            cdi_devices.push(d.clone());
            continue;
        }
        devices.push(parse_linux_device(&validate_linux_device_path(d)?)?);
    }

    let env = env_list(&f.env, &f.env_file, lookup_env)?;

    let mut label_kvs = Vec::new();
    for file in &f.label_file {
        // Label files use the env-file parser without lookups: bare keys are dropped.
        label_kvs.extend(parse_kv_file(file, None)?);
    }
    label_kvs.extend(f.label.iter().cloned());
    let labels: HashMap<String, String> = label_kvs
        .iter()
        .map(|kv| {
            let (k, v, _) = cut(kv, "=");
            (k.to_string(), v.to_string())
        })
        .collect();

    let pid = non_empty(&f.pid);
    if let Some(p) = pid {
        if !(p == "host" || container_ref(p).is_some_and(|c| !c.is_empty())) {
            return fail("--pid: invalid PID mode");
        }
    }
    let uts = non_empty(&f.uts);
    if uts.is_some_and(|u| u != "host") {
        return fail("--uts: invalid UTS mode");
    }
    let userns = non_empty(&f.userns);
    if userns.is_some_and(|u| u != "host") {
        return fail("--userns: invalid USER mode");
    }
    let cgroupns = match non_empty(&f.cgroupns) {
        None => None,
        Some("host") => Some(HostConfigCgroupnsModeEnum::HOST),
        Some("private") => Some(HostConfigCgroupnsModeEnum::PRIVATE),
        Some(_) => return fail("--cgroupns: invalid CGROUP mode"),
    };

    let restart_policy = f.restart.as_deref().map(parse_restart_policy).transpose()?;

    let log_config = if f.log_driver.is_some() || !f.log_opt.is_empty() {
        let driver = f.log_driver.clone().unwrap_or_default();
        if driver == "none" && !f.log_opt.is_empty() {
            return fail(format!("invalid logging opts for driver {driver}"));
        }
        let config: HashMap<String, String> = f
            .log_opt
            .iter()
            .map(|o| {
                let (k, v, _) = cut(o, "=");
                (k.to_string(), v.to_string())
            })
            .collect();
        Some(HostConfigLogConfig {
            typ: Some(driver),
            config: Some(config),
        })
    } else {
        None
    };

    let security_opts = parse_security_opts(&f.security_opt)?;
    // `systempaths=unconfined` is a client-side option: it clears the masked and
    // read-only path lists instead of being sent to the daemon.
    let unconfined_paths = security_opts.iter().any(|o| o == "systempaths=unconfined");
    let security_opts: Vec<String> = security_opts
        .into_iter()
        .filter(|o| o != "systempaths=unconfined")
        .collect();

    let no_healthcheck = f.no_healthcheck.unwrap_or(false);
    let health_cmd = non_empty(&f.health_cmd);
    let have_health = health_cmd.is_some()
        || health_interval.unwrap_or(0) != 0
        || health_timeout.unwrap_or(0) != 0
        || health_start_period.unwrap_or(0) != 0
        || health_retries.unwrap_or(0) != 0
        || health_start_interval.unwrap_or(0) != 0;
    let healthcheck = if no_healthcheck {
        if have_health {
            return fail("--no-healthcheck conflicts with --health-* options");
        }
        Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        })
    } else if have_health {
        for (name, v) in [
            ("--health-interval", health_interval),
            ("--health-timeout", health_timeout),
            ("--health-retries", health_retries),
            ("--health-start-period", health_start_period),
            ("--health-start-interval", health_start_interval),
        ] {
            if v.unwrap_or(0) < 0 {
                return fail(format!("{name} cannot be negative"));
            }
        }
        // The daemon's floor for every non-zero health duration.
        const MIN: i64 = 1_000_000;
        for (name, v) in [
            ("Interval", health_interval),
            ("Timeout", health_timeout),
            ("StartPeriod", health_start_period),
            ("StartInterval", health_start_interval),
        ] {
            let v = v.unwrap_or(0);
            if v != 0 && v < MIN {
                return fail(format!("{name} in Healthcheck cannot be less than 1ms"));
            }
        }
        Some(HealthConfig {
            test: health_cmd.map(|c| vec!["CMD-SHELL".into(), c.to_string()]),
            interval: Some(health_interval.unwrap_or(0)),
            timeout: Some(health_timeout.unwrap_or(0)),
            retries: Some(health_retries.unwrap_or(0)),
            start_period: Some(health_start_period.unwrap_or(0)),
            start_interval: Some(health_start_interval.unwrap_or(0)),
        })
    } else {
        None
    };

    if f.rm.unwrap_or(false) {
        let is_none = restart_policy.as_ref().is_none_or(|p| {
            matches!(
                p.name,
                None | Some(RestartPolicyNameEnum::NO) | Some(RestartPolicyNameEnum::EMPTY)
            )
        });
        if !is_none {
            return fail("conflicting options: cannot specify both --restart and --rm");
        }
    }

    let mut stdin_once = interactive && attach_stdin;
    if detach {
        // `run -d` never attaches; `-a` with `-d` is a usage error.
        if !attach.is_empty() {
            return fail("conflicting options: cannot specify both --attach and --detach");
        }
        attach_stdin = false;
        attach_stdout = false;
        attach_stderr = false;
        stdin_once = false;
    }

    let network = non_empty(&f.network);
    let networking_config = endpoint_config(f, network)?;

    let pull = match non_empty(&f.pull) {
        None => None,
        Some(p @ ("always" | "missing" | "never")) => Some(p.to_string()),
        Some(p) => {
            return fail(format!(
                "invalid pull option: '{p}': must be one of \"always\", \"missing\" or \"never\""
            ))
        }
    };

    // ---- daemon-side checks that need nothing but the request ----
    let name = non_empty(&f.name);
    if let Some(n) = name {
        if !restricted_name(n.strip_prefix('/').unwrap_or(n)) {
            return fail(format!(
                "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            ));
        }
    }
    let workdir = non_empty(&f.workdir);
    if let Some(w) = workdir {
        if !w.starts_with('/') {
            return fail(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            ));
        }
    }
    let stop_signal = non_empty(&f.stop_signal);
    if let Some(s) = stop_signal {
        parse_signal(s)?;
    }
    validate_caps("CapAdd", &f.cap_add)?;
    validate_caps("CapDrop", &f.cap_drop)?;
    let ipc = non_empty(&f.ipc);
    if let Some(i) = ipc {
        let ok =
            matches!(i, "none" | "private" | "host" | "shareable") || container_ref(i).is_some();
        if !ok {
            return fail(format!("invalid IPC mode: {i}"));
        }
    }
    if let Some(o) = oom_score_adj {
        if !(-1000..=1000).contains(&o) {
            return fail(format!(
                "Invalid value {o}, range for oom score adj is [-1000, 1000]"
            ));
        }
    }
    validate_resources(&Resources {
        memory: memory.unwrap_or(0),
        memory_swap: memory_swap.unwrap_or(0),
        memory_reservation: memory_reservation.unwrap_or(0),
        nano_cpus: nano_cpus.unwrap_or(0),
        cpu_period: cpu_period.unwrap_or(0),
        cpu_quota: cpu_quota.unwrap_or(0),
        cpu_shares: cpu_shares.unwrap_or(0),
        blkio_weight: blkio_weight.unwrap_or(0),
    })?;

    let device_requests = (!cdi_devices.is_empty()).then(|| {
        vec![DeviceRequest {
            driver: Some("cdi".into()),
            device_ids: Some(cdi_devices),
            ..Default::default()
        }]
    });

    let host_config = HostConfig {
        binds: some_vec(binds),
        container_id_file: f.cidfile.as_ref().map(|p| p.to_string_lossy().into_owned()),
        oom_score_adj,
        auto_remove: f.rm,
        privileged: f.privileged,
        port_bindings,
        links: some_vec(f.link.clone()),
        publish_all_ports: f.publish_all,
        dns: some_vec(dns),
        dns_search: some_vec(dns_search),
        dns_options: some_vec(f.dns_option.clone()),
        extra_hosts: some_vec(extra_hosts),
        volumes_from: some_vec(validate_volumes_from(&f.volumes_from)?),
        ipc_mode: ipc.map(str::to_string),
        network_mode: network.map(str::to_string),
        pid_mode: pid.map(str::to_string),
        uts_mode: uts.map(str::to_string),
        userns_mode: userns.map(str::to_string),
        cgroupns_mode: cgroupns,
        cap_add: some_vec(f.cap_add.clone()),
        cap_drop: some_vec(f.cap_drop.clone()),
        group_add: some_vec(f.group_add.clone()),
        restart_policy,
        security_opt: some_vec(security_opts),
        readonly_rootfs: f.read_only,
        log_config,
        shm_size,
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        sysctls: (!sysctls.is_empty()).then_some(sysctls),
        mounts: some_vec(mounts),
        masked_paths: unconfined_paths.then(Vec::new),
        readonly_paths: unconfined_paths.then(Vec::new),
        init: f.init,
        cgroup_parent: non_empty(&f.cgroup_parent).map(str::to_string),
        memory,
        memory_reservation,
        memory_swap,
        memory_swappiness: swappiness,
        oom_kill_disable: f.oom_kill_disable,
        nano_cpus,
        cpu_shares,
        cpu_period,
        cpu_quota,
        cpuset_cpus: non_empty(&f.cpuset_cpus).map(str::to_string),
        cpuset_mems: non_empty(&f.cpuset_mems).map(str::to_string),
        pids_limit,
        blkio_weight,
        ulimits: some_vec(ulimits.into_values().collect()),
        device_cgroup_rules: some_vec(f.device_cgroup_rule.clone()),
        devices: some_vec(devices),
        device_requests,
        ..Default::default()
    };

    let body = ContainerCreateBody {
        hostname: non_empty(&f.hostname).map(str::to_string),
        domainname: non_empty(&f.domainname).map(str::to_string),
        user: non_empty(&f.user).map(str::to_string),
        attach_stdin: Some(attach_stdin),
        attach_stdout: Some(attach_stdout),
        attach_stderr: Some(attach_stderr),
        exposed_ports: some_vec(exposed),
        tty: Some(tty),
        open_stdin: Some(interactive),
        stdin_once: Some(stdin_once),
        env: some_vec(env),
        cmd: some_vec(command.to_vec()),
        healthcheck,
        image: Some(image.to_string()),
        volumes: some_vec(anon_volumes),
        working_dir: workdir.map(str::to_string),
        entrypoint,
        labels: (!labels.is_empty()).then_some(labels),
        stop_signal: stop_signal.map(str::to_string),
        stop_timeout,
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    };

    Ok(CreateRequest {
        name: name.map(str::to_string),
        body,
        detach,
        interactive,
        tty,
        cidfile: f.cidfile.clone(),
        detach_keys: f.detach_keys.clone(),
        pull,
        platform: non_empty(&f.platform).map(str::to_string),
    })
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn some_vec<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Go's strings.Cut.
fn cut<'a>(s: &'a str, sep: &str) -> (&'a str, &'a str, bool) {
    match s.split_once(sep) {
        Some((a, b)) => (a, b, true),
        None => (s, "", false),
    }
}

/// `container:<name>` → `Some(name)`.
fn container_ref(mode: &str) -> Option<&str> {
    mode.strip_prefix("container:")
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`: container and local volume names.
fn restricted_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

// ---------------------------------------------------------------------------
// Go-compatible scalar parsing
// ---------------------------------------------------------------------------

/// Go's strconv.Quote, used wherever docker formats with %q.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

enum NumErr {
    Syntax,
    Range,
}

/// Go's underscoreOK: `_` only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut saw = b'^';
    let b = match b.first() {
        Some(b'+') | Some(b'-') => &b[1..],
        _ => b,
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Unsigned magnitude as Go's ParseUint reads it; `base0` is pflag's base 0
/// (0x, 0o, 0b, leading-0 octal, underscores).
fn go_uint_digits(s: &str, base0: bool, limit: u128) -> Result<u128, NumErr> {
    if s.is_empty() {
        return Err(NumErr::Syntax);
    }
    let b = s.as_bytes();
    let (base, digits): (u32, &[u8]) = if base0 && b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        }
    } else {
        (10, b)
    };
    let mut n: u128 = 0;
    let mut underscores = false;
    for &c in digits {
        if c == b'_' && base0 {
            underscores = true;
            continue;
        }
        let d = (c as char).to_digit(36).ok_or(NumErr::Syntax)?;
        if d >= base {
            return Err(NumErr::Syntax);
        }
        n = n * base as u128 + d as u128;
        if n > limit {
            return Err(NumErr::Range);
        }
    }
    if underscores && !underscore_ok(s) {
        return Err(NumErr::Syntax);
    }
    Ok(n)
}

/// strconv.ParseInt(s, base0 ? 0 : 10, bits) with Go's error text.
fn go_parse_int(s: &str, base0: bool, bits: u32) -> Result<i64, String> {
    let err = |e: NumErr| {
        let why = match e {
            NumErr::Syntax => "invalid syntax",
            NumErr::Range => "value out of range",
        };
        format!("strconv.ParseInt: parsing {}: {why}", go_quote(s))
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let max = 1u128 << (bits - 1);
    let mag = go_uint_digits(body, base0, u64::MAX as u128).map_err(err)?;
    if (!neg && mag >= max) || (neg && mag > max) {
        return Err(err(NumErr::Range));
    }
    let v = mag as i128;
    Ok((if neg { -v } else { v }) as i64)
}

/// strconv.ParseUint(s, base0 ? 0 : 10, bits) with Go's error text.
fn go_parse_uint(s: &str, base0: bool, bits: u32) -> Result<u64, String> {
    let limit = (1u128 << bits) - 1;
    go_uint_digits(s, base0, limit)
        .map(|v| v as u64)
        .map_err(|e| {
            let why = match e {
                NumErr::Syntax => "invalid syntax",
                NumErr::Range => "value out of range",
            };
            format!("strconv.ParseUint: parsing {}: {why}", go_quote(s))
        })
}

/// Go's time.ParseDuration, in nanoseconds.
fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // leading integer
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..int_len] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((c - b'0') as u64))
                .filter(|v| *v <= LIMIT)
                .ok_or_else(invalid)?;
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        // optional fraction; digits past u64 precision are consumed and ignored
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.starts_with('.') {
            s = &s[1..];
            let fb = s.as_bytes();
            let n = fb.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &fb[..n] {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add((c - b'0') as u64))
                    .filter(|f| *f <= LIMIT)
                {
                    Some(f) => {
                        frac = f;
                        scale *= 10.0;
                    }
                    None => overflow = true,
                }
            }
            s = &s[n..];
            post = n > 0;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|c| !(*c == b'.' || c.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let (u, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(orig)
                ))
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d = d
            .checked_add(v)
            .filter(|d| *d <= LIMIT)
            .ok_or_else(invalid)?;
    }
    if neg {
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// docker's RAMInBytes (go-units): "512m", "1g", "1.5g", "100k", "1024", "2KiB";
/// units b/k/m/g/t/p are binary (1k = 1024), case-insensitive, optional "b"/"ib".
pub fn parse_bytes(s: &str) -> Result<i64, FlagError> {
    let invalid = || FlagError(format!("invalid size: '{s}'"));
    let sep = s
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(invalid)?;
    let (num, sfx) = if s.as_bytes()[sep] != b' ' {
        (&s[..=sep], &s[sep + 1..])
    } else {
        (&s[..sep], &s[sep + 1..])
    };
    let size = parse_go_float(num).ok_or_else(|| {
        FlagError(format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(num)
        ))
    })?;
    if size < 0.0 {
        return Err(invalid());
    }
    let bad_suffix = || FlagError(format!("invalid suffix: '{sfx}'"));
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    if sfx.len() > 3 {
        return Err(bad_suffix());
    }
    let lower = sfx.to_ascii_lowercase();
    let l = lower.as_bytes();
    if l[0] == b'b' {
        return if l.len() > 1 {
            Err(FlagError(format!("invalid suffix: '{lower}'")))
        } else {
            Ok(size as i64)
        };
    }
    let mul: i64 = match l[0] {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        b't' => 1 << 40,
        b'p' => 1 << 50,
        _ => return Err(FlagError(format!("invalid suffix: '{lower}'"))),
    };
    if (l.len() == 2 && l[1] != b'b') || (l.len() == 3 && &l[1..] != b"ib") {
        return Err(FlagError(format!("invalid suffix: '{lower}'")));
    }
    Ok((size * mul as f64) as i64)
}

/// strconv.ParseFloat for the decimal forms sizes use (Rust alone would also take
/// "inf"/"nan", which cannot reach here, and rejects Go's hex floats, which nobody
/// writes as a memory size).
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// docker's ParseCPUs: a decimal or a/b rational, times 1e9, which must be exact.
fn parse_cpus(value: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {value} as a rational number");
    const NANO: i128 = 1_000_000_000;
    let nano: i128 = if let Some((a, b)) = value.split_once('/') {
        let a: i128 = parse_signed_decimal_int(a).ok_or_else(bad)?;
        let b: i128 = if b.bytes().all(|c| c.is_ascii_digit()) && !b.is_empty() {
            b.parse().map_err(|_| bad())?
        } else {
            return Err(bad());
        };
        if b == 0 {
            return Err(bad());
        }
        let n = a.checked_mul(NANO).ok_or_else(bad)?;
        if n % b != 0 {
            return Err("value is too precise".into());
        }
        n / b
    } else {
        let (neg, rest) = match value.as_bytes().first() {
            Some(b'-') => (true, &value[1..]),
            Some(b'+') => (false, &value[1..]),
            _ => (false, value),
        };
        let (mant, exp) = match rest.find(['e', 'E']) {
            Some(i) => (
                &rest[..i],
                parse_signed_decimal_int(&rest[i + 1..]).ok_or_else(bad)?,
            ),
            None => (rest, 0),
        };
        let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|c| c.is_ascii_digit())
            || !frac_part.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let mut m: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        // value = m * 10^(exp - frac_len); nano = value * 10^9
        let shift = exp + 9 - frac_part.len() as i128;
        // m == 0 ends both loops early so "0e999999999" can't spin.
        if shift >= 0 {
            for _ in 0..shift {
                if m == 0 {
                    break;
                }
                m = m.checked_mul(10).ok_or_else(bad)?;
            }
        } else {
            for _ in 0..(-shift) {
                if m == 0 {
                    break;
                }
                if m % 10 != 0 {
                    return Err("value is too precise".into());
                }
                m /= 10;
            }
        }
        if neg {
            -m
        } else {
            m
        }
    };
    i64::try_from(nano).map_err(|_| bad())
}

fn parse_signed_decimal_int(s: &str) -> Option<i128> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's path.Clean.
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// docker resolves `./x` style host paths against the working directory (filepath.Abs).
fn abs_if_dot_relative(p: &str) -> String {
    if !p.starts_with('/') && p.starts_with('.') {
        if let Ok(cwd) = std::env::current_dir() {
            return clean_path(&format!("{}/{p}", cwd.to_string_lossy()));
        }
    }
    p.to_string()
}

/// Go's os error text ("open x: no such file or directory").
fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let why = match e.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ if e.raw_os_error() == Some(21) => "is a directory".to_string(),
        _ => {
            let s = e.to_string();
            // Rust appends " (os error N)"; Go doesn't, and lower-cases the text.
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    };
    format!("{op} {path}: {why}")
}

// ---------------------------------------------------------------------------
// Per-flag validators (docker/cli opts, go-units, go-connections)
// ---------------------------------------------------------------------------

fn validate_attach(v: &str) -> Result<String, &'static str> {
    let s = v.to_ascii_lowercase();
    if matches!(s.as_str(), "stdin" | "stdout" | "stderr") {
        Ok(s)
    } else {
        Err("valid streams are STDIN, STDOUT and STDERR")
    }
}

/// `^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$`
fn valid_device_cgroup_rule(r: &str) -> bool {
    let num = |s: &str| s == "*" || (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()));
    let parts: Vec<&str> = r.split(' ').collect();
    let [t, mm, mode] = parts.as_slice() else {
        return false;
    };
    let Some((maj, min)) = mm.split_once(':') else {
        return false;
    };
    matches!(*t, "a" | "b" | "c")
        && num(maj)
        && num(min)
        && (1..=3).contains(&mode.len())
        && mode.bytes().all(|c| matches!(c, b'r' | b'w' | b'm'))
}

/// Go's net.ParseIP + String(): IPv4-mapped addresses print as IPv4.
fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    let ip: std::net::IpAddr = s.parse().ok()?;
    Some(match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    })
}

fn validate_ip_address(v: &str) -> Result<String, String> {
    parse_ip(v.trim())
        .map(|ip| ip.to_string())
        .ok_or_else(|| format!("IP address is not correctly formatted: {v}"))
}

fn validate_dns_search(v: &str) -> Result<String, String> {
    let v = v.trim_matches(' ');
    if v == "." {
        return Ok(v.into());
    }
    let bad = || format!("{v} is not a valid domain");
    if !v.bytes().any(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let d = v.trim_end_matches([' ', '\t', '\n', '\r', '\u{c}']);
    let d = d.strip_suffix('.').unwrap_or(d);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if d.len() < 255 && d.split('.').all(label_ok) {
        Ok(d.to_string())
    } else {
        Err(bad())
    }
}

fn validate_extra_host(val: &str) -> Result<String, String> {
    let (mut k, mut v, mut ok) = cut(val, "=");
    if !ok {
        (k, v, ok) = cut(val, ":");
    }
    if !ok || k.is_empty() || k.contains(':') {
        return Err(format!("bad format for add-host: {}", go_quote(val)));
    }
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        if parse_ip(v.trim()).is_none() {
            return Err(format!("invalid IP address in add-host: {}", go_quote(v)));
        }
    }
    Ok(format!("{k}:{v}"))
}

fn validate_label(value: &str) -> Result<(), String> {
    let (key, _, _) = cut(value, "=");
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{value}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(())
}

fn parse_link(val: &str) -> Result<(), String> {
    if val.is_empty() {
        return Err("empty string specified for links".into());
    }
    if val.splitn(3, ':').count() > 2 {
        return Err(format!("bad format for links: {val}"));
    }
    Ok(())
}

fn validate_sysctl(val: &str) -> Result<(), String> {
    const NAMES: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let (k, _, ok) = cut(val, "=");
    if ok
        && !k.is_empty()
        && (NAMES.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue."))
    {
        Ok(())
    } else {
        Err(format!("sysctl '{val}' is not allowed"))
    }
}

/// go-units ParseUlimit: `name=soft[:hard]`, name a known rlimit.
fn parse_ulimit(val: &str) -> Result<ResourcesUlimits, String> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let Some((name, limits)) = val.split_once('=') else {
        return Err(format!("invalid ulimit argument: {val}"));
    };
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let vals: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match vals.as_slice() {
        [s] => {
            let s = go_parse_int(s, false, 64)?;
            (s, s)
        }
        [s, h] => {
            let h = go_parse_int(h, false, 64)?;
            (go_parse_int(s, false, 64)?, h)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if hard != -1 {
        if soft == -1 {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"
            ));
        }
        if soft > hard {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
    }
    Ok(ResourcesUlimits {
        name: Some(name.to_string()),
        soft: Some(soft),
        hard: Some(hard),
    })
}

/// Go's net.ParseMAC: 6, 8 or 20 octets as `xx:..`, `xx-..` or `xxxx.xxxx...`.
fn valid_mac(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |g: &[u8]| g.iter().all(u8::is_ascii_hexdigit);
    if b.len() < 14 {
        return false;
    }
    let (group, sep) = if b[2] == b':' || b[2] == b'-' {
        (2, b[2])
    } else if b[4] == b'.' {
        (4, b'.')
    } else {
        return false;
    };
    if (b.len() + 1) % (group + 1) != 0 {
        return false;
    }
    let groups = (b.len() + 1) / (group + 1);
    let octets = groups * group / 2;
    if !matches!(octets, 6 | 8 | 20) {
        return false;
    }
    b.split(|c| *c == sep).all(|g| g.len() == group && hex(g))
}

// ---------------------------------------------------------------------------
// env-file / label-file
// ---------------------------------------------------------------------------

type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `--env-file` entries, then `-e` ones, as docker sends them (used by run and exec).
pub fn env_list(
    env: &[String],
    env_files: &[PathBuf],
    lookup_env: EnvLookup<'_>,
) -> Result<Vec<String>, FlagError> {
    let mut cli_env = Vec::with_capacity(env.len());
    for e in env {
        let (k, _, has_value) = cut(e, "=");
        if k.is_empty() {
            return Err(flag_err(
                "-e, --env",
                e,
                format!("invalid environment variable: {e}"),
            ));
        }
        // docker sends a bare `FOO` when it is unset; the daemon then leaves it unset.
        cli_env.push(match (has_value, lookup_env(k)) {
            (false, Some(v)) => format!("{k}={v}"),
            _ => e.clone(),
        });
    }
    let mut out = Vec::new();
    for file in env_files {
        out.extend(parse_kv_file(file, Some(lookup_env))?);
    }
    out.extend(cli_env);
    Ok(out)
}

/// docker's kvfile.Parse: `KEY=VAL` lines kept verbatim, `KEY` alone resolved with
/// `lookup` (dropped when unset or when there is no lookup, as for label files),
/// `#` comments and blank lines skipped, leading whitespace trimmed.
fn parse_kv_file(
    path: &std::path::Path,
    lookup: Option<EnvLookup<'_>>,
) -> Result<Vec<String>, FlagError> {
    let shown = path.to_string_lossy();
    let bytes = std::fs::read(path).map_err(|e| FlagError(go_io_error("open", &shown, &e)))?;
    let wrap = |e: String| FlagError(format!("invalid env file ({shown}): {e}"));
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        // bufio.Scanner drops a trailing \r and yields no token after a final newline.
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(mut line) = std::str::from_utf8(raw) else {
            return Err(wrap(format!(
                "invalid utf8 bytes at line {line_no}: {raw:?}"
            )));
        };
        if line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, _, has_value) = cut(line, "=");
        if key.is_empty() {
            return Err(wrap(format!("no variable name on line '{line}'")));
        }
        if key.contains([' ', '\t']) {
            return Err(wrap(format!("variable '{key}' contains whitespaces")));
        }
        if has_value {
            out.push(line.to_string());
        } else if let Some(v) = lookup.and_then(|f| f(line)) {
            out.push(format!("{key}={v}"));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// -v / --volume, --tmpfs, --volumes-from
// ---------------------------------------------------------------------------

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "slave", "rslave", "shared", "rshared",
];

/// moby's linuxValidMountMode: each option class at most once.
fn valid_mount_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let class = match o {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            o if PROPAGATIONS.contains(&o) => 2,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ => return false,
        };
        counts[class] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

fn mount_config_err(typ: &str, e: impl Display) -> String {
    format!("invalid mount config for type \"{typ}\": {e}")
}

/// moby's linuxValidateNotRoot + linuxValidateAbsolute.
fn check_target(p: &str) -> Result<(), String> {
    let p = p.replace('\\', "/");
    if clean_path(&p) == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    if !p.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{p}' mount path must be absolute"
        ));
    }
    Ok(())
}

fn validate_not_root_abs(p: &str) -> Result<(), FlagError> {
    check_target(p).map_err(FlagError)
}

fn local_volume_name(name: &str) -> Result<(), String> {
    if restricted_name(name) {
        Ok(())
    } else {
        Err(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        ))
    }
}

/// docker/cli volumespec.Parse, reduced to what decides bind vs anonymous volume.
fn volumespec_source(spec: &str) -> Result<Option<String>, FlagError> {
    if spec.is_empty() {
        return fail("invalid empty volume spec");
    }
    if spec.len() <= 2 {
        return Ok(None);
    }
    let wrap = |e: &str| FlagError(format!("invalid spec: {spec}: {e}"));
    let mut source: Option<String> = None;
    let mut target: Option<String> = None;
    let mut buf = String::new();
    let chars: Vec<Option<char>> = spec.chars().map(Some).chain([None]).collect();
    for c in chars {
        let windows_drive =
            c == Some(':') && buf.chars().count() == 1 && buf.chars().all(char::is_alphabetic);
        if windows_drive {
            buf.push(':');
        } else if c == Some(':') || c.is_none() {
            if buf.is_empty() {
                return Err(wrap("empty section between colons"));
            }
            if source.is_none() && c.is_none() {
                target = Some(std::mem::take(&mut buf));
            } else if source.is_none() {
                source = Some(std::mem::take(&mut buf));
            } else if target.is_none() {
                target = Some(std::mem::take(&mut buf));
            } else if c == Some(':') {
                return Err(wrap("too many colons"));
            } else {
                buf.clear(); // mode: validated below as the daemon does
            }
        } else if let Some(c) = c {
            buf.push(c);
        }
    }
    Ok(source)
}

/// `-v`: binds (with a source) go to HostConfig.Binds verbatim — except `./rel`
/// host paths, made absolute as docker does — and anonymous volumes to Config.Volumes.
fn parse_volumes(specs: &[String]) -> Result<(Vec<String>, Vec<String>), FlagError> {
    let mut binds: Vec<String> = Vec::new();
    let mut anon: BTreeSet<String> = BTreeSet::new();
    for spec in specs {
        match volumespec_source(spec)? {
            None => {
                check_target(spec).map_err(|e| {
                    FlagError(format!(
                        "{}: {}",
                        invalid_spec(spec),
                        mount_config_err("volume", e)
                    ))
                })?;
                anon.insert(spec.clone());
            }
            Some(src) => {
                let bind = match spec.split_once(':') {
                    Some((host, rest)) if is_file_path(&src) => {
                        format!("{}:{rest}", abs_if_dot_relative(host))
                    }
                    _ => spec.clone(),
                };
                validate_bind(&bind)?;
                if !binds.contains(&bind) {
                    binds.push(bind);
                }
            }
        }
    }
    Ok((binds, anon.into_iter().collect()))
}

/// volumespec's isFilePath: what docker/cli treats as a host path.
fn is_file_path(src: &str) -> bool {
    src.starts_with(['.', '/', '~'])
        || src.starts_with("\\\\")
        || (src.chars().count() > 1 && {
            let mut c = src.chars();
            c.next().is_some_and(char::is_alphabetic) && c.next() == Some(':')
        })
}

/// moby's linuxParser.ParseMountRaw without the host filesystem checks.
fn validate_bind(raw: &str) -> Result<(), FlagError> {
    let arr: Vec<&str> = raw.splitn(4, ':').collect();
    if arr[0].is_empty() {
        return fail(invalid_spec(raw));
    }
    let (source, target, mode) = match arr.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => {
            if valid_mount_mode(t) {
                return fail(invalid_spec(raw));
            }
            (*s, *t, "")
        }
        [s, t, m] => (*s, *t, *m),
        _ => return fail(invalid_spec(raw)),
    };
    if !valid_mount_mode(mode) {
        return fail(format!("invalid mode: {mode}"));
    }
    let is_bind = source.starts_with('/');
    let typ = if is_bind { "bind" } else { "volume" };
    let opts: Vec<&str> = mode.split(',').collect();
    let spec_err = |e: String| {
        FlagError(format!(
            "{}: {}",
            invalid_spec(raw),
            mount_config_err(typ, e)
        ))
    };
    if target.is_empty() {
        return Err(spec_err("field Target must not be empty".into()));
    }
    check_target(target).map_err(spec_err)?;
    if is_bind {
        if opts.contains(&"nocopy") {
            return Err(spec_err("field VolumeOptions must not be specified".into()));
        }
    } else {
        if opts.iter().any(|o| PROPAGATIONS.contains(o)) {
            return Err(spec_err("field BindOptions must not be specified".into()));
        }
        if !source.is_empty() {
            local_volume_name(source).map_err(FlagError)?;
        }
    }
    Ok(())
}

fn validate_volumes_from(specs: &[String]) -> Result<Vec<String>, FlagError> {
    for spec in specs {
        if spec.is_empty() {
            return fail("volumes-from specification cannot be an empty string");
        }
        let (_, mode, _) = cut(spec, ":");
        if mode.is_empty() {
            continue;
        }
        let has_prop = mode.split(',').any(|o| PROPAGATIONS.contains(&o));
        let has_copy = mode.split(',').any(|o| o == "nocopy");
        if !valid_mount_mode(mode) || has_prop || has_copy {
            return fail(format!("invalid mode: {mode}"));
        }
    }
    Ok(specs.to_vec())
}

// ---------------------------------------------------------------------------
// --mount
// ---------------------------------------------------------------------------

/// One record of Go's encoding/csv (default settings), for `--mount` values.
fn read_csv_record(s: &str) -> Result<Vec<String>, String> {
    let line = s.strip_suffix('\n').unwrap_or(s);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err("EOF".into());
    }
    let err = |col: usize, e: &str| format!("parse error on line 1, column {col}: {e}");
    let b = line.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut field = Vec::new();
            i += 1;
            loop {
                match b[i..].iter().position(|c| *c == b'"') {
                    Some(q) => {
                        field.extend_from_slice(&b[i..i + q]);
                        i += q + 1;
                        match b.get(i) {
                            Some(b'"') => {
                                field.push(b'"');
                                i += 1;
                            }
                            Some(b',') => {
                                i += 1;
                                fields.push(String::from_utf8_lossy(&field).into_owned());
                                break;
                            }
                            None => {
                                fields.push(String::from_utf8_lossy(&field).into_owned());
                                return Ok(fields);
                            }
                            Some(_) => {
                                return Err(err(i + 1, "extraneous or missing \" in quoted-field"))
                            }
                        }
                    }
                    // Go reads past the implicit final newline, then reports EOF there.
                    None => {
                        return Err(err(b.len() + 2, "extraneous or missing \" in quoted-field"))
                    }
                }
            }
        } else {
            let end = b[i..]
                .iter()
                .position(|c| *c == b',')
                .map_or(b.len(), |p| i + p);
            if let Some(q) = b[i..end].iter().position(|c| *c == b'"') {
                return Err(err(i + q + 1, "bare \" in non-quoted field"));
            }
            fields.push(String::from_utf8_lossy(&b[i..end]).into_owned());
            if end == b.len() {
                return Ok(fields);
            }
            i = end + 1;
        }
    }
}

fn go_parse_bool_plain(s: &str) -> Option<bool> {
    parse_go_bool(s).ok()
}

/// `--mount`: docker/cli MountOpt.Set, then the daemon's checks (raw errors).
fn parse_mount(value: &str) -> Result<Mount, FlagError> {
    let draft = mount_opt_set(value).map_err(|e| flag_err("--mount", value, e))?;
    validate_mount(draft).map_err(FlagError)
}

/// What MountOpt.Set produced, before the daemon's checks.
struct MountDraft {
    m: Mount,
    typ: String,
    target: String,
    bind: Option<MountBindOptions>,
    vol: Option<MountVolumeOptions>,
    tmpfs: Option<MountTmpfsOptions>,
    propagation: Option<String>,
    read_only: bool,
}

/// docker/cli MountOpt.Set; its errors get pflag's wrapper.
fn mount_opt_set(value: &str) -> Result<MountDraft, String> {
    let fields = read_csv_record(value)?;
    let mut typ = "volume".to_string();
    let mut m = Mount::default();
    let mut bind: Option<MountBindOptions> = None;
    let mut vol: Option<MountVolumeOptions> = None;
    let mut tmpfs: Option<MountTmpfsOptions> = None;
    let mut propagation: Option<String> = None;
    let mut read_only = false;

    for field in &fields {
        let (key, val, ok) = cut(field, "=");
        let key = key.to_ascii_lowercase();
        if !ok {
            match key.as_str() {
                "readonly" | "ro" => read_only = true,
                "volume-nocopy" => vol.get_or_insert_with(Default::default).no_copy = Some(true),
                "bind-nonrecursive" => {
                    bind.get_or_insert_with(Default::default).non_recursive = Some(true)
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        }
        let invalid = || format!("invalid value for {key}: {val}");
        match key.as_str() {
            "type" => typ = val.to_ascii_lowercase(),
            "source" | "src" => m.source = Some(abs_if_dot_relative(val)),
            "target" | "dst" | "destination" => m.target = Some(val.to_string()),
            "readonly" | "ro" => read_only = go_parse_bool_plain(val).ok_or_else(invalid)?,
            "consistency" => m.consistency = Some(val.to_ascii_lowercase()),
            "bind-propagation" => {
                bind.get_or_insert_with(Default::default);
                propagation = Some(val.to_ascii_lowercase());
            }
            "bind-nonrecursive" => {
                bind.get_or_insert_with(Default::default).non_recursive =
                    Some(go_parse_bool_plain(val).ok_or_else(invalid)?)
            }
            "bind-recursive" => {
                let b = bind.get_or_insert_with(Default::default);
                match val {
                    "enabled" => {}
                    "disabled" => b.non_recursive = Some(true),
                    "writable" => b.read_only_non_recursive = Some(true),
                    "readonly" => b.read_only_force_recursive = Some(true),
                    _ => {
                        return Err(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        ))
                    }
                }
            }
            "volume-subpath" => {
                vol.get_or_insert_with(Default::default).subpath = Some(val.to_string())
            }
            "volume-nocopy" => {
                vol.get_or_insert_with(Default::default).no_copy = Some(
                    go_parse_bool_plain(val)
                        .ok_or_else(|| format!("invalid value for volume-nocopy: {val}"))?,
                )
            }
            "volume-label" => {
                let (k, v, _) = cut(val, "=");
                let labels = vol
                    .get_or_insert_with(Default::default)
                    .labels
                    .get_or_insert_with(HashMap::new);
                if !k.is_empty() {
                    labels.insert(k.to_string(), v.to_string());
                }
            }
            "volume-driver" => {
                vol.get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(MountVolumeOptionsDriverConfig::default)
                    .name = Some(val.to_string())
            }
            "volume-opt" => {
                let (k, v, _) = cut(val, "=");
                let opts = vol
                    .get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(MountVolumeOptionsDriverConfig::default)
                    .options
                    .get_or_insert_with(HashMap::new);
                if !k.is_empty() {
                    opts.insert(k.to_string(), v.to_string());
                }
            }
            "tmpfs-size" => {
                let size = parse_bytes(val).map_err(|_| invalid())?;
                tmpfs.get_or_insert_with(Default::default).size_bytes = Some(size);
            }
            "tmpfs-mode" => {
                let mode = go_uint_digits_radix8(val).ok_or_else(invalid)?;
                tmpfs.get_or_insert_with(Default::default).mode = Some(mode);
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }

    if typ.is_empty() {
        return Err("type is required".into());
    }
    let target = m.target.clone().filter(|t| !t.is_empty());
    let Some(target) = target else {
        return Err("target is required".into());
    };
    for (set, prefix, own) in [
        (vol.is_some(), "volume", "volume"),
        (bind.is_some(), "bind", "bind"),
        (tmpfs.is_some(), "tmpfs", "tmpfs"),
    ] {
        if set && typ != own {
            return Err(format!(
                "cannot mix '{prefix}-*' options with mount type '{typ}'"
            ));
        }
    }
    if let Some(b) = &bind {
        if b.read_only_non_recursive == Some(true) && !read_only {
            return Err(
                "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction"
                    .into(),
            );
        }
        if b.read_only_force_recursive == Some(true) {
            if !read_only {
                return Err("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into());
            }
            if propagation.as_deref() != Some("rprivate") {
                return Err("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction".into());
            }
        }
    }

    Ok(MountDraft {
        m,
        typ,
        target,
        bind,
        vol,
        tmpfs,
        propagation,
        read_only,
    })
}

/// The daemon's validateMountConfig, minus the bind-source-exists check (the
/// engine's filesystem view decides that).
fn validate_mount(d: MountDraft) -> Result<Mount, String> {
    let MountDraft {
        mut m,
        typ,
        target,
        mut bind,
        vol,
        tmpfs,
        propagation,
        read_only,
    } = d;
    let cfg_err = |e: String| mount_config_err(&typ, e);
    check_target(&target).map_err(cfg_err)?;
    let source = m.source.clone().filter(|s| !s.is_empty());
    m.typ = Some(match typ.as_str() {
        "bind" => {
            let Some(src) = &source else {
                return Err(cfg_err("field Source must not be empty".into()));
            };
            if let Some(p) = &propagation {
                let e = propagation_enum(p)
                    .ok_or_else(|| cfg_err(format!("invalid propagation mode: {p}")))?;
                if let Some(b) = bind.as_mut() {
                    b.propagation = Some(e);
                }
            }
            if !src.replace('\\', "/").starts_with('/') {
                return Err(cfg_err(format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            MountType::BIND
        }
        "volume" => {
            let anonymous = source.is_none();
            if let Some(sub) = vol
                .as_ref()
                .and_then(|v| v.subpath.as_deref())
                .filter(|s| !s.is_empty())
            {
                if anonymous {
                    return Err(cfg_err(
                        "must not set Subpath when using anonymous volumes".into(),
                    ));
                }
                if !is_local_path(sub) {
                    return Err(cfg_err(
                        "subpath must be a relative path within the volume".into(),
                    ));
                }
            }
            if read_only && anonymous {
                return Err(cfg_err(
                    "must not set ReadOnly mode when using anonymous volumes".into(),
                ));
            }
            if let Some(src) = &source {
                local_volume_name(src)?;
            }
            MountType::VOLUME
        }
        "tmpfs" => {
            if source.is_some() {
                return Err(cfg_err("field Source must not be specified".into()));
            }
            MountType::TMPFS
        }
        _ => return Err(cfg_err("mount type unknown".into())),
    });
    m.read_only = read_only.then_some(true);
    m.bind_options = bind;
    m.volume_options = vol;
    m.tmpfs_options = tmpfs;
    Ok(m)
}

fn propagation_enum(p: &str) -> Option<MountBindOptionsPropagationEnum> {
    Some(match p {
        "private" => MountBindOptionsPropagationEnum::PRIVATE,
        "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
        "shared" => MountBindOptionsPropagationEnum::SHARED,
        "rshared" => MountBindOptionsPropagationEnum::RSHARED,
        "slave" => MountBindOptionsPropagationEnum::SLAVE,
        "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
        _ => return None,
    })
}

/// strconv.ParseUint(s, 8, 32) for tmpfs-mode.
fn go_uint_digits_radix8(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().map(i64::from)
}

/// Go's filepath.IsLocal (unix).
fn is_local_path(p: &str) -> bool {
    if p.is_empty() || p.starts_with('/') {
        return false;
    }
    let c = clean_path(p);
    c != ".." && !c.starts_with("../")
}

// ---------------------------------------------------------------------------
// -p / --publish, --expose (go-connections/nat)
// ---------------------------------------------------------------------------

fn split_proto_port(raw: &str) -> (String, String) {
    let (port, proto, _) = cut(raw, "/");
    if port.is_empty() {
        return (String::new(), String::new());
    }
    let proto = if proto.is_empty() { "tcp" } else { proto };
    (proto.to_string(), port.to_string())
}

/// nat.ParsePortRange; errors are Go's strconv texts.
fn parse_port_range(ports: &str) -> Result<(u64, u64), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    if !ports.contains('-') {
        let p = go_parse_uint(ports, false, 16)?;
        return Ok((p, p));
    }
    let mut parts = ports.split('-');
    let start = go_parse_uint(parts.next().unwrap_or(""), false, 16)?;
    let end = go_parse_uint(parts.next().unwrap_or(""), false, 16)?;
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

/// docker's convertToStandardNotation: `published=8080,target=80,protocol=udp`.
fn convert_publish(p: &str) -> Result<String, FlagError> {
    if !p.contains('=') {
        return Ok(p.to_string());
    }
    let mut params: HashMap<&str, &str> = HashMap::from([("protocol", "tcp")]);
    for param in p.split(',') {
        let (k, v, ok) = cut(param, "=");
        if !ok || k.is_empty() {
            return fail(format!(
                "invalid publish opts format (should be name=value but got '{param}')"
            ));
        }
        params.insert(k, v);
    }
    let get = |k: &str| params.get(k).copied().unwrap_or("");
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]` with ranges.
fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>, FlagError> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host_port, container_port) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container_port) = split_proto_port(container_port);
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return fail(format!("invalid proto: {proto}"));
    }
    let mut ip = ip;
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(inner) if !inner.contains([']', '[']) => ip = inner.to_string(),
            _ => {
                return fail(format!(
                    "invalid IP address {ip}: address {ip}:: missing ']' in address"
                ))
            }
        }
    }
    if !ip.is_empty() && parse_ip(&ip).is_none() {
        return fail(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return fail(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(&container_port)
        .map_err(|_| FlagError(format!("invalid containerPort: {container_port}")))?;
    let (mut hstart, mut hend) = (0, 0);
    if !host_port.is_empty() {
        (hstart, hend) = parse_port_range(host_port)
            .map_err(|_| FlagError(format!("invalid hostPort: {host_port}")))?;
        if end - start != hend - hstart && end != start {
            return fail(format!(
                "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
            ));
        }
    }
    let count = end - start + 1;
    Ok((0..count)
        .map(|i| {
            let mut hp = String::new();
            if !host_port.is_empty() {
                hp = (hstart + i).to_string();
                // A single container port may take any free port of a host range.
                if count == 1 && hstart != hend {
                    hp = format!("{hp}-{hend}");
                }
            }
            (
                format!("{}/{proto}", start + i),
                PortBinding {
                    host_ip: Some(ip.clone()),
                    host_port: Some(hp),
                },
            )
        })
        .collect())
}

fn parse_ports(
    publish: &[String],
    expose: &[String],
) -> Result<(Vec<String>, Option<PortMap>), FlagError> {
    let mut exposed: BTreeSet<String> = BTreeSet::new();
    let mut bindings: PortMap = HashMap::new();
    for p in publish {
        for (port, binding) in parse_port_spec(&convert_publish(p)?)? {
            exposed.insert(port.clone());
            if let Some(list) = bindings.entry(port).or_insert_with(|| Some(Vec::new())) {
                list.push(binding);
            }
        }
    }
    for e in expose {
        if e.contains(':') {
            return fail(format!("invalid port format for --expose: {e}"));
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) = parse_port_range(&port).map_err(|err| {
            FlagError(format!(
                "invalid range format for --expose: {e}, error: {err}"
            ))
        })?;
        for p in start..=end {
            exposed.insert(format!("{p}/{proto}"));
        }
    }
    Ok((
        exposed.into_iter().collect(),
        (!bindings.is_empty()).then_some(bindings),
    ))
}

// ---------------------------------------------------------------------------
// --device
// ---------------------------------------------------------------------------

fn valid_device_mode(mode: &str) -> bool {
    let mut seen = [false; 3];
    !mode.is_empty()
        && mode.chars().all(|c| {
            let i = match c {
                'r' => 0,
                'w' => 1,
                'm' => 2,
                _ => return false,
            };
            !std::mem::replace(&mut seen[i], true)
        })
}

/// docker's validateLinuxPath for devices: `host[:container][:mode]`.
fn validate_linux_device_path(val: &str) -> Result<String, FlagError> {
    if val.matches(':').count() > 2 {
        return fail(format!("bad format for path: {val}"));
    }
    let split: Vec<&str> = val.splitn(3, ':').collect();
    if split[0].is_empty() {
        return fail(format!("bad format for path: {val}"));
    }
    let (container_path, out) = match split.as_slice() {
        [c] => (c.to_string(), clean_path(c)),
        [h, x] if valid_device_mode(x) => (h.to_string(), format!("{}:{x}", clean_path(h))),
        [h, c] => (c.to_string(), format!("{h}:{}", clean_path(c))),
        [h, c, m] => {
            if !valid_device_mode(m) {
                return fail(format!("bad mode specified: {m}"));
            }
            (c.to_string(), format!("{h}:{c}:{m}"))
        }
        _ => return fail(format!("bad format for path: {val}")),
    };
    if !container_path.starts_with('/') {
        return fail(format!("{container_path} is not an absolute path"));
    }
    Ok(out)
}

fn parse_linux_device(device: &str) -> Result<DeviceMapping, FlagError> {
    let arr: Vec<&str> = device.splitn(4, ':').collect();
    let (src, mut dst, perms) = match arr.as_slice() {
        [s] => (*s, "", "rwm"),
        [s, x] if valid_device_mode(x) => (*s, "", *x),
        [s, d] => (*s, *d, "rwm"),
        [s, d, p] => (*s, if valid_device_mode(d) { "" } else { *d }, *p),
        _ => return fail(format!("invalid device specification: {device}")),
    };
    if dst.is_empty() {
        dst = src;
    }
    Ok(DeviceMapping {
        path_on_host: Some(src.to_string()),
        path_in_container: Some(dst.to_string()),
        cgroup_permissions: Some(perms.to_string()),
    })
}

/// CDI's qualified device name `vendor.com/class=name`, which docker turns into a
/// DeviceRequest for the "cdi" driver instead of a device mapping.
fn is_cdi_name(d: &str) -> bool {
    let Some((kind, name)) = d.split_once('=') else {
        return false;
    };
    let Some((vendor, class)) = kind.split_once('/') else {
        return false;
    };
    let ok = |s: &str, extra: &[u8]| {
        s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    };
    ok(vendor, b"_.-")
        && ok(class, b"_-")
        && !name.is_empty()
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_.:-".contains(&c))
}

// ---------------------------------------------------------------------------
// restart, signals, security, caps, networking, resources
// ---------------------------------------------------------------------------

/// docker's ParseRestartPolicy + the daemon's ValidateRestartPolicy.
pub fn parse_restart_policy(policy: &str) -> Result<RestartPolicy, FlagError> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (k, v, ok) = cut(policy, ":");
    if ok && k.is_empty() {
        return fail("invalid restart policy format: no policy provided before colon");
    }
    let mut count: i64 = 0;
    if !v.is_empty() {
        count = go_parse_int(v, false, 64).map_err(|_| {
            FlagError(
                "invalid restart policy format: maximum retry count must be an integer".into(),
            )
        })?;
    }
    let name = match k {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => {
            return fail(format!(
                "invalid restart policy: unknown policy '{k}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            ))
        }
    };
    if name == RestartPolicyNameEnum::ON_FAILURE {
        if count < 0 {
            return fail("invalid restart policy: maximum retry count cannot be negative");
        }
    } else if count != 0 {
        let mut msg =
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                .to_string();
        if count < 0 {
            msg.push_str(" and cannot be negative");
        }
        return fail(msg);
    }
    Ok(RestartPolicy {
        name: Some(name),
        maximum_retry_count: (name == RestartPolicyNameEnum::ON_FAILURE).then_some(count),
    })
}

const SIGNALS: [(&str, i32); 34] = [
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
];

/// moby/sys/signal.ParseSignal (Linux table): a number, or a name with or without
/// "SIG", including RTMIN+n (n ≤ 15) and RTMAX-n (n ≤ 14).
pub fn parse_signal(raw: &str) -> Result<i32, FlagError> {
    let invalid = || FlagError(format!("invalid signal: {raw}"));
    if let Ok(n) = go_parse_int(raw, false, 64) {
        return match i32::try_from(n) {
            Ok(0) | Err(_) => Err(invalid()),
            Ok(n) => Ok(n),
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = SIGNALS.iter().find(|(s, _)| *s == name) {
        return Ok(*n);
    }
    const RTMIN: i32 = 34;
    const RTMAX: i32 = 64;
    let rt = |rest: &str, max: i32| -> Option<i32> {
        if rest.is_empty() {
            return Some(0);
        }
        let n: i32 = rest.parse().ok()?;
        (rest.bytes().all(|c| c.is_ascii_digit()) && (1..=max).contains(&n)).then_some(n)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let rest = if rest.is_empty() {
            Some("")
        } else {
            rest.strip_prefix('+')
        };
        if let Some(n) = rest.and_then(|r| rt(r, 15)) {
            return Ok(RTMIN + n);
        }
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let rest = if rest.is_empty() {
            Some("")
        } else {
            rest.strip_prefix('-')
        };
        if let Some(n) = rest.and_then(|r| rt(r, 14)) {
            return Ok(RTMAX - n);
        }
    }
    Err(invalid())
}

/// docker's parseSecurityOpts: `key=value` / `key:value`, `no-new-privileges`
/// alone; a seccomp profile path is read and inlined as compact JSON.
fn parse_security_opts(opts: &[String]) -> Result<Vec<String>, FlagError> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let (mut k, mut v, mut ok) = cut(opt, "=");
        if !ok && k != "no-new-privileges" {
            (k, v, ok) = cut(opt, ":");
        }
        if (!ok || v.is_empty()) && k != "no-new-privileges" {
            return fail(format!("Invalid --security-opt: {}", go_quote(opt)));
        }
        if k == "seccomp" && v != "builtin" && v != "unconfined" {
            let data = std::fs::read(v).map_err(|e| {
                FlagError(format!(
                    "opening seccomp profile ({v}) failed: {}",
                    go_io_error("open", v, &e)
                ))
            })?;
            let json: serde_json::Value = serde_json::from_slice(&data).map_err(|e| {
                FlagError(format!(
                    "compacting json for seccomp profile ({v}) failed: {e}"
                ))
            })?;
            out.push(format!("seccomp={json}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok(out)
}

/// The daemon's NormalizeLegacyCapabilities check; values are sent as given.
fn validate_caps(field: &str, caps: &[String]) -> Result<(), FlagError> {
    for c in caps {
        let u = c.to_ascii_uppercase();
        if u == "ALL" {
            continue;
        }
        let u = if u.starts_with("CAP_") {
            u
        } else {
            format!("CAP_{u}")
        };
        if !crate::engine::runtime::spec::ALL_CAPS.contains(&u.as_str()) {
            return fail(format!(
                "invalid {field}: unknown capability: {}",
                go_quote(&u)
            ));
        }
    }
    Ok(())
}

/// docker's IsUserDefined: anything but default/bridge/host/none/container:.
fn user_defined_network(n: &str) -> bool {
    !matches!(n, "default" | "bridge" | "host" | "none") && container_ref(n).is_none()
}

/// Per-network settings from `--network-alias`, `--link`, `--ip`, `--ip6`,
/// `--mac-address`, keyed by the network (or "default"). `None` when there are none.
fn endpoint_config(
    f: &RunFlags,
    network: Option<&str>,
) -> Result<Option<NetworkingConfig>, FlagError> {
    let target = network.unwrap_or("default");
    let user_defined = user_defined_network(target);
    if target.trim().is_empty() {
        return fail("no name set for network");
    }
    if !f.network_alias.is_empty() && !user_defined {
        return fail("network-scoped aliases are only supported for user-defined networks");
    }
    let ip4 = non_empty(&f.ip);
    let ip6 = non_empty(&f.ip6);
    if let Some(ip) = ip4 {
        if !parse_ip(ip).is_some_and(|a| a.is_ipv4() && !a.is_unspecified()) {
            return fail(format!("invalid IPv4 address: {ip}"));
        }
    }
    if let Some(ip) = ip6 {
        let ok = ip
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a.to_ipv4_mapped().is_none() && !a.is_unspecified());
        if !ok {
            return fail(format!("invalid IPv6 address: {ip}"));
        }
    }
    let ep = EndpointSettings {
        aliases: some_vec(f.network_alias.clone()),
        // On a user-defined network --link is an endpoint alias; on the default
        // bridge it is a legacy link (HostConfig.Links).
        links: if user_defined {
            some_vec(f.link.clone())
        } else {
            None
        },
        ipam_config: (ip4.is_some() || ip6.is_some()).then(|| EndpointIpamConfig {
            ipv4_address: ip4.map(str::to_string),
            ipv6_address: ip6.map(str::to_string),
            ..Default::default()
        }),
        mac_address: non_empty(&f.mac_address).map(str::to_string),
        ..Default::default()
    };
    if ep == EndpointSettings::default() {
        return Ok(None);
    }
    Ok(Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(target.to_string(), ep)])),
    }))
}

struct Resources {
    memory: i64,
    memory_swap: i64,
    memory_reservation: i64,
    nano_cpus: i64,
    cpu_period: i64,
    cpu_quota: i64,
    cpu_shares: i64,
    blkio_weight: u16,
}

/// The daemon's host-independent resource checks (verifyPlatformContainerResources).
fn validate_resources(r: &Resources) -> Result<(), FlagError> {
    const MIN_MEMORY: i64 = 6 * 1024 * 1024;
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return fail("Minimum memory limit allowed is 6MB");
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if r.memory == 0 && r.memory_swap > 0 {
        return fail(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return fail("Minimum memory reservation allowed is 6MB");
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return fail(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return fail(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return fail("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if r.cpu_shares < 0 {
        return fail(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            r.cpu_shares
        ));
    }
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return fail("Range of blkio weight is from 10 to 1000");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use std::io::Write;

    #[derive(Debug, Parser)]
    #[command(name = "run")]
    struct TestCli {
        #[command(flatten)]
        flags: RunFlags,
        #[command(flatten)]
        args: ImageAndCommand,
    }

    fn cli(args: &[&str]) -> TestCli {
        TestCli::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("clap rejected {args:?}: {e}"))
    }

    fn lookup(k: &str) -> Option<String> {
        match k {
            "A" => Some("from-env".into()),
            "HOME" => Some("/root".into()),
            _ => None,
        }
    }

    /// Flags (without IMAGE) → request for `busybox`.
    fn try_req(flags: &[&str]) -> Result<CreateRequest, FlagError> {
        let mut all = flags.to_vec();
        all.push("busybox");
        let c = cli(&all);
        to_create_request(&c.flags, c.args.image(), c.args.command(), &lookup)
    }

    fn req(flags: &[&str]) -> CreateRequest {
        try_req(flags).unwrap_or_else(|e| panic!("{flags:?} failed: {e}"))
    }

    fn err(flags: &[&str]) -> String {
        match try_req(flags) {
            Ok(r) => panic!("{flags:?} should fail, got {r:?}"),
            Err(e) => e.0,
        }
    }

    fn hc(r: &CreateRequest) -> &HostConfig {
        r.body
            .host_config
            .as_ref()
            .expect("host_config is always set")
    }

    #[test]
    fn clap_definition_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn full_command_line() {
        let c = cli(&[
            "-it",
            "--rm",
            "--name",
            "web",
            "-e",
            "A",
            "-e",
            "B=2",
            "-p",
            "8080:80",
            "-v",
            "/srv:/srv:ro",
            "-h",
            "box",
            "busybox",
            "ls",
            "-la",
        ]);
        assert_eq!(c.args.image(), "busybox");
        assert_eq!(c.args.command(), ["ls", "-la"]);
        let r =
            to_create_request(&c.flags, c.args.image(), c.args.command(), &lookup).expect("valid");
        assert!(r.interactive && r.tty && !r.detach);
        assert_eq!(r.name.as_deref(), Some("web"));
        let b = &r.body;
        assert_eq!(b.image.as_deref(), Some("busybox"));
        assert_eq!(b.cmd, Some(vec!["ls".into(), "-la".into()]));
        assert_eq!(b.hostname.as_deref(), Some("box"));
        assert_eq!(b.env, Some(vec!["A=from-env".into(), "B=2".into()]));
        assert_eq!(
            (b.attach_stdin, b.attach_stdout, b.attach_stderr),
            (Some(true), Some(true), Some(true))
        );
        assert_eq!(
            (b.open_stdin, b.stdin_once, b.tty),
            (Some(true), Some(true), Some(true))
        );
        assert_eq!(hc(&r).auto_remove, Some(true));
        assert_eq!(hc(&r).binds, Some(vec!["/srv:/srv:ro".into()]));
    }

    #[test]
    fn dit_detaches_without_attaching() {
        let c = cli(&["-dit", "alpine", "sh"]);
        assert_eq!(
            (c.args.image(), c.args.command()),
            ("alpine", &["sh".to_string()][..])
        );
        let r =
            to_create_request(&c.flags, c.args.image(), c.args.command(), &lookup).expect("valid");
        assert!(r.detach && r.interactive && r.tty);
        let b = &r.body;
        assert_eq!(
            (
                b.attach_stdin,
                b.attach_stdout,
                b.attach_stderr,
                b.stdin_once
            ),
            (Some(false), Some(false), Some(false), Some(false))
        );
        assert_eq!(b.open_stdin, Some(true));
    }

    #[test]
    fn flags_after_image_belong_to_the_command() {
        let c = cli(&["alpine", "-d", "--rm", "-e", "X"]);
        assert_eq!(c.args.image(), "alpine");
        assert_eq!(c.args.command(), ["-d", "--rm", "-e", "X"]);
        assert_eq!(c.flags.detach, None);
        assert!(c.flags.env.is_empty());

        let c = cli(&["-d", "alpine", "--", "x"]);
        assert_eq!(c.args.command(), ["--", "x"]);
    }

    #[test]
    fn clap_parsing_details() {
        // -h is --hostname; --help is long-only.
        assert_eq!(
            cli(&["-h", "h1", "img"]).flags.hostname.as_deref(),
            Some("h1")
        );
        let help = TestCli::try_parse_from(["run", "--help"]).expect_err("help exits");
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        // pflag bool syntax.
        let c = cli(&["--rm=false", "--privileged=true", "-t=0", "--init", "img"]);
        assert_eq!(
            (c.flags.rm, c.flags.privileged, c.flags.tty, c.flags.init),
            (Some(false), Some(true), Some(false), Some(true))
        );
        // Values may start with '-', as with pflag.
        let c = cli(&[
            "--pids-limit",
            "-1",
            "--oom-score-adj",
            "-500",
            "-e",
            "-x",
            "img",
        ]);
        assert_eq!(c.flags.pids_limit.as_deref(), Some("-1"));
        assert_eq!(c.flags.env, ["-x"]);
        // Aliases and attached short values.
        let c = cli(&[
            "--net",
            "host",
            "--dns-opt",
            "ndots:1",
            "-eFOO=1",
            "-p8080:80",
            "img",
        ]);
        assert_eq!(c.flags.network.as_deref(), Some("host"));
        assert_eq!(c.flags.dns_option, ["ndots:1"]);
        assert_eq!(c.flags.env, ["FOO=1"]);
        assert_eq!(c.flags.publish, ["8080:80"]);
        // IMAGE is required; unknown flags before it are errors.
        assert!(TestCli::try_parse_from(["run", "-d"]).is_err());
        assert!(TestCli::try_parse_from(["run", "--bogus", "img"]).is_err());
    }

    #[test]
    fn parse_bytes_table() {
        for (input, want) in [
            ("512m", 536_870_912),
            ("1g", 1_073_741_824),
            ("1024", 1024),
            ("1.5g", 1_610_612_736),
            ("100k", 102_400),
            ("1b", 1),
            ("2KiB", 2048),
            ("3MB", 3_145_728),
            ("1 g", 1_073_741_824),
            ("1t", 1 << 40),
            ("1p", 1 << 50),
            ("0", 0),
            ("1.9", 1),
        ] {
            assert_eq!(parse_bytes(input).map_err(|e| e.0), Ok(want), "{input}");
        }
        for (input, want) in [
            ("abc", "invalid size: 'abc'"),
            ("", "invalid size: ''"),
            ("-1", "invalid size: '-1'"),
            ("1x", "invalid suffix: 'x'"),
            ("1kk", "invalid suffix: 'kk'"),
            ("1mbb", "invalid suffix: 'mbb'"),
            ("1bytes", "invalid suffix: 'bytes'"),
            (
                "1..5m",
                "strconv.ParseFloat: parsing \"1..5\": invalid syntax",
            ),
        ] {
            assert_eq!(
                parse_bytes(input).map_err(|e| e.0),
                Err(want.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn memory_flags() {
        let r = req(&[
            "-m",
            "512m",
            "--memory-swap",
            "1g",
            "--memory-reservation",
            "256m",
            "--memory-swappiness",
            "10",
            "--shm-size",
            "64m",
        ]);
        let h = hc(&r);
        assert_eq!(h.memory, Some(536_870_912));
        assert_eq!(h.memory_swap, Some(1_073_741_824));
        assert_eq!(h.memory_reservation, Some(268_435_456));
        assert_eq!(h.memory_swappiness, Some(10));
        assert_eq!(h.shm_size, Some(67_108_864));
        assert_eq!(
            hc(&req(&["-m", "1g", "--memory-swap", "-1"])).memory_swap,
            Some(-1)
        );
        assert_eq!(hc(&req(&[])).memory, None);

        for (flags, want) in [
            (
                &["-m", "abc"][..],
                "invalid argument \"abc\" for \"-m, --memory\" flag: invalid size: 'abc'",
            ),
            (
                &["--memory-swap", "x"],
                "invalid argument \"x\" for \"--memory-swap\" flag: invalid size: 'x'",
            ),
            (
                &["--shm-size", "1q"],
                "invalid argument \"1q\" for \"--shm-size\" flag: invalid suffix: 'q'",
            ),
            (&["-m", "1m"], "Minimum memory limit allowed is 6MB"),
            (
                &["-m", "512m", "--memory-swap", "256m"],
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ),
            (
                &["--memory-swap", "1g"],
                "You should always set the Memory limit when using Memoryswap limit, see usage",
            ),
            (
                &["--memory-reservation", "1m"],
                "Minimum memory reservation allowed is 6MB",
            ),
            (
                &["-m", "64m", "--memory-reservation", "128m"],
                "Minimum memory limit can not be less than memory reservation limit, see usage",
            ),
            (
                &["--memory-swappiness", "101"],
                "invalid value: 101. Valid memory swappiness range is 0-100",
            ),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
    }

    #[test]
    fn cpu_flags() {
        for (cpus, nano) in [
            ("1.5", 1_500_000_000),
            ("2", 2_000_000_000),
            ("0.5", 500_000_000),
            (".25", 250_000_000),
            ("3/2", 1_500_000_000),
            ("1e-3", 1_000_000),
            ("0.000000001", 1),
            ("1.5000000000", 1_500_000_000),
            ("0e999999999", 0),
            ("+2.5e1", 25_000_000_000),
        ] {
            assert_eq!(hc(&req(&["--cpus", cpus])).nano_cpus, Some(nano), "{cpus}");
        }
        let r = req(&[
            "-c",
            "512",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--cpuset-cpus",
            "0-3",
            "--cpuset-mems",
            "0",
            "--blkio-weight",
            "300",
            "--pids-limit",
            "-1",
        ]);
        let h = hc(&r);
        assert_eq!(
            (
                h.cpu_shares,
                h.cpu_period,
                h.cpu_quota,
                h.pids_limit,
                h.blkio_weight
            ),
            (Some(512), Some(100_000), Some(50_000), Some(-1), Some(300))
        );
        assert_eq!(h.cpuset_cpus.as_deref(), Some("0-3"));
        assert_eq!(h.cpuset_mems.as_deref(), Some("0"));
        // pflag ints take Go base prefixes.
        assert_eq!(hc(&req(&["-c", "0x10"])).cpu_shares, Some(16));
        assert_eq!(hc(&req(&["-c", "1_024"])).cpu_shares, Some(1024));

        for (flags, want) in [
            (&["--cpus", "abc"][..], "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"),
            (&["--cpus", "0.0000000001"], "invalid argument \"0.0000000001\" for \"--cpus\" flag: value is too precise"),
            (&["--cpus", "1e-999999999"], "invalid argument \"1e-999999999\" for \"--cpus\" flag: value is too precise"),
            (&["--cpus", "1.5", "--cpu-period", "100000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
            (&["--cpus", "1.5", "--cpu-quota", "50000"], "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
            (&["-c", "abc"], "invalid argument \"abc\" for \"-c, --cpu-shares\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax"),
            (&["-c", "-2"], "invalid CPU shares (-2): value must be a positive integer"),
            (&["--cpu-period", "99999999999999999999"], "invalid argument \"99999999999999999999\" for \"--cpu-period\" flag: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"),
            (&["--cpu-period", "10"], "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
            (&["--cpu-quota", "10"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
            (&["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
            (&["--blkio-weight", "70000"], "invalid argument \"70000\" for \"--blkio-weight\" flag: strconv.ParseUint: parsing \"70000\": value out of range"),
            (&["--oom-score-adj", "2000"], "Invalid value 2000, range for oom score adj is [-1000, 1000]"),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
    }

    #[test]
    fn publish_table() {
        let pb = |ip: &str, port: &str| PortBinding {
            host_ip: Some(ip.into()),
            host_port: Some(port.into()),
        };
        type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, Vec<PortBinding>)>);
        let cases: Vec<Case> = vec![
            ("80", vec!["80/tcp"], vec![("80/tcp", vec![pb("", "")])]),
            (
                "8080:80",
                vec!["80/tcp"],
                vec![("80/tcp", vec![pb("", "8080")])],
            ),
            (
                "127.0.0.1:8080:80/udp",
                vec!["80/udp"],
                vec![("80/udp", vec![pb("127.0.0.1", "8080")])],
            ),
            (
                "127.0.0.1::80",
                vec!["80/tcp"],
                vec![("80/tcp", vec![pb("127.0.0.1", "")])],
            ),
            (
                "[::1]:8080:80",
                vec!["80/tcp"],
                vec![("80/tcp", vec![pb("::1", "8080")])],
            ),
            (
                "53:53/SCTP",
                vec!["53/sctp"],
                vec![("53/sctp", vec![pb("", "53")])],
            ),
            (
                "8000-8001:80-81",
                vec!["80/tcp", "81/tcp"],
                vec![
                    ("80/tcp", vec![pb("", "8000")]),
                    ("81/tcp", vec![pb("", "8001")]),
                ],
            ),
            (
                "8000-8010:80",
                vec!["80/tcp"],
                vec![("80/tcp", vec![pb("", "8000-8010")])],
            ),
            (
                "published=8080,target=80,protocol=udp",
                vec!["80/udp"],
                vec![("80/udp", vec![pb("", "8080")])],
            ),
        ];
        for (spec, exposed, bindings) in cases {
            let r = req(&["-p", spec]);
            let want_exposed: Vec<String> = exposed.iter().map(|s| s.to_string()).collect();
            assert_eq!(r.body.exposed_ports, Some(want_exposed), "{spec}");
            let want: PortMap = bindings
                .into_iter()
                .map(|(k, v)| (k.to_string(), Some(v)))
                .collect();
            assert_eq!(hc(&r).port_bindings, Some(want), "{spec}");
        }

        // Same container port twice: two bindings.
        let r = req(&["-p", "8080:80", "-p", "127.0.0.1:9090:80"]);
        let b = hc(&r).port_bindings.as_ref().expect("bindings");
        assert_eq!(b["80/tcp"].as_ref().map(Vec::len), Some(2));

        // --expose and -P
        let r = req(&["--expose", "3000-3002", "--expose", "53/udp", "-P"]);
        assert_eq!(
            r.body.exposed_ports,
            Some(vec![
                "3000/tcp".into(),
                "3001/tcp".into(),
                "3002/tcp".into(),
                "53/udp".into()
            ])
        );
        assert_eq!(hc(&r).port_bindings, None);
        assert_eq!(hc(&r).publish_all_ports, Some(true));

        for (spec, want) in [
            (
                "8000-8002:80-81",
                "invalid ranges specified for container and host Ports: 80-81 and 8000-8002",
            ),
            ("80/foo", "invalid proto: foo"),
            ("abc", "invalid containerPort: abc"),
            ("99999", "invalid containerPort: 99999"),
            ("x:80", "invalid hostPort: x"),
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
            // Go's SplitProtoPort("") yields an empty proto before the port check.
            ("8080:", "invalid proto: "),
            (
                "a=b,c",
                "invalid publish opts format (should be name=value but got 'c')",
            ),
        ] {
            assert_eq!(err(&["-p", spec]), want, "{spec}");
        }
        assert_eq!(
            err(&["--expose", "1:2"]),
            "invalid port format for --expose: 1:2"
        );
        assert_eq!(
            err(&["--expose", "abc"]),
            "invalid range format for --expose: abc, error: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn ports_serialize_as_docker_json() {
        let r = req(&["-p", "127.0.0.1:8080:80/udp"]);
        let body = serde_json::to_value(&r.body).expect("serializes");
        assert_eq!(body["ExposedPorts"], serde_json::json!({"80/udp": {}}));
        assert_eq!(
            body["HostConfig"]["PortBindings"],
            serde_json::json!({"80/udp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]})
        );
    }

    #[test]
    fn env_and_env_file() {
        let r = req(&["-e", "A", "-e", "B=2", "-e", "UNSET", "-e", "EMPTY="]);
        assert_eq!(
            r.body.env,
            Some(vec![
                "A=from-env".into(),
                "B=2".into(),
                "UNSET".into(),
                "EMPTY=".into()
            ])
        );
        assert_eq!(
            err(&["-e", "=x"]),
            "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
        );

        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        write!(
            f,
            "\u{feff}# comment\n\nFOO=bar baz\n  SPACED=1\nA\nMISSING\nEMPTY=\r\nQUOTED=\"q\"\n"
        )
        .expect("write");
        let path = f.path().to_string_lossy().into_owned();
        let r = req(&["--env-file", &path, "-e", "OVERRIDE=1"]);
        assert_eq!(
            r.body.env,
            Some(vec![
                "FOO=bar baz".into(),
                "SPACED=1".into(),
                "A=from-env".into(),
                "EMPTY=".into(),
                "QUOTED=\"q\"".into(),
                "OVERRIDE=1".into(),
            ])
        );

        for (content, want) in [
            (
                "OK=1\nBAD KEY=1\n",
                "variable 'BAD KEY' contains whitespaces",
            ),
            ("OK=1\n=x\n", "no variable name on line '=x'"),
        ] {
            let mut f = tempfile::NamedTempFile::new().expect("tempfile");
            f.write_all(content.as_bytes()).expect("write");
            let path = f.path().to_string_lossy().into_owned();
            assert_eq!(
                err(&["--env-file", &path]),
                format!("invalid env file ({path}): {want}")
            );
        }
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        f.write_all(b"OK=1\nX=\xff\n").expect("write");
        let path = f.path().to_string_lossy().into_owned();
        assert!(err(&["--env-file", &path]).contains("invalid utf8 bytes at line 2"));
        assert_eq!(
            err(&["--env-file", "/nonexistent/x.env"]),
            "open /nonexistent/x.env: no such file or directory"
        );
    }

    #[test]
    fn labels_and_label_file() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        f.write_all(b"a=b\nbare\n# c=d\n").expect("write");
        let path = f.path().to_string_lossy().into_owned();
        let r = req(&[
            "--label-file",
            &path,
            "-l",
            "x=y",
            "-l",
            "flag",
            "-l",
            "a=over",
        ]);
        let want: HashMap<String, String> = [("a", "over"), ("x", "y"), ("flag", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(r.body.labels, Some(want));
        assert_eq!(
            err(&["-l", "=x"]),
            "invalid argument \"=x\" for \"-l, --label\" flag: invalid label '=x': empty name"
        );
        assert_eq!(
            err(&["-l", "a b=c"]),
            "invalid argument \"a b=c\" for \"-l, --label\" flag: label 'a b' contains whitespaces"
        );
    }

    #[test]
    fn restart_policies() {
        let rp = |name, count| RestartPolicy {
            name: Some(name),
            maximum_retry_count: count,
        };
        for (v, want) in [
            ("no", rp(RestartPolicyNameEnum::NO, None)),
            ("always", rp(RestartPolicyNameEnum::ALWAYS, None)),
            (
                "unless-stopped",
                rp(RestartPolicyNameEnum::UNLESS_STOPPED, None),
            ),
            ("on-failure", rp(RestartPolicyNameEnum::ON_FAILURE, Some(0))),
            (
                "on-failure:3",
                rp(RestartPolicyNameEnum::ON_FAILURE, Some(3)),
            ),
        ] {
            assert_eq!(
                hc(&req(&["--restart", v])).restart_policy,
                Some(want),
                "{v}"
            );
        }
        assert_eq!(hc(&req(&[])).restart_policy, None);
        for (v, want) in [
            ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
            (":3", "invalid restart policy format: no policy provided before colon"),
            ("sometimes", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"),
            ("always:3", "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
            ("no:-1", "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"),
            ("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative"),
        ] {
            assert_eq!(err(&["--restart", v]), want, "{v}");
        }
        assert_eq!(
            err(&["--rm", "--restart", "always"]),
            "conflicting options: cannot specify both --restart and --rm"
        );
        // Compatible combinations in docker 28.
        req(&["--rm", "--restart", "no"]);
        req(&["--rm=false", "--restart", "always"]);
        assert!(req(&["--rm", "-d"]).detach);
    }

    #[test]
    fn mount_table() {
        let r = req(&["--mount", "type=bind,src=/a,dst=/b,readonly"]);
        assert_eq!(
            hc(&r).mounts,
            Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some("/a".into()),
                target: Some("/b".into()),
                read_only: Some(true),
                ..Default::default()
            }])
        );
        let one = |spec: &str| -> Mount {
            let r = req(&["--mount", spec]);
            hc(&r)
                .mounts
                .clone()
                .and_then(|m| m.into_iter().next())
                .expect("one mount")
        };
        let m = one("type=volume,source=data,target=/data,volume-nocopy");
        assert_eq!(m.typ, Some(MountType::VOLUME));
        assert_eq!(m.source.as_deref(), Some("data"));
        assert_eq!(m.volume_options.and_then(|v| v.no_copy), Some(true));

        let m = one("type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1770");
        assert_eq!(m.typ, Some(MountType::TMPFS));
        let t = m.tmpfs_options.expect("tmpfs options");
        assert_eq!((t.size_bytes, t.mode), (Some(67_108_864), Some(0o1770)));

        let m = one("type=bind,src=/a,dst=/b,bind-propagation=rshared");
        assert_eq!(
            m.bind_options.and_then(|b| b.propagation),
            Some(MountBindOptionsPropagationEnum::RSHARED)
        );
        // CSV quoting keeps the comma inside the field.
        assert_eq!(
            one("type=bind,\"src=/a,b\",dst=/c").source.as_deref(),
            Some("/a,b")
        );
        assert_eq!(one("type=bind,src=/a,dst=/b,ro=true").read_only, Some(true));
        let m = one("target=/data");
        assert_eq!((m.typ, m.source), (Some(MountType::VOLUME), None));

        let flag = |v: &str, e: &str| {
            format!("invalid argument {} for \"--mount\" flag: {e}", go_quote(v))
        };
        for (spec, want) in [
            ("type=bind,src=/a", flag("type=bind,src=/a", "target is required")),
            ("type=,dst=/a", flag("type=,dst=/a", "type is required")),
            ("type=bind,src=/a,dst=/b,foo=bar", flag("type=bind,src=/a,dst=/b,foo=bar", "unexpected key 'foo' in 'foo=bar'")),
            ("type=bind,src=/a,dst=/b,bogus", flag("type=bind,src=/a,dst=/b,bogus", "invalid field 'bogus' must be a key=value pair")),
            ("type=volume,dst=/x,tmpfs-size=1m", flag("type=volume,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'volume'")),
            ("type=tmpfs,dst=/x,tmpfs-size=lots", flag("type=tmpfs,dst=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots")),
            ("type=tmpfs,dst=/x,tmpfs-mode=999", flag("type=tmpfs,dst=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999")),
            ("type=bind,src=/a,dst=/b,ro=maybe", flag("type=bind,src=/a,dst=/b,ro=maybe", "invalid value for ro: maybe")),
            ("type=bind,src=/a\"b,dst=/c", flag("type=bind,src=/a\"b,dst=/c", "parse error on line 1, column 17: bare \" in non-quoted field")),
            ("\"src=/a\"x,dst=/c", flag("\"src=/a\"x,dst=/c", "parse error on line 1, column 9: extraneous or missing \" in quoted-field")),
            ("", flag("", "EOF")),
            ("type=bind,dst=/b", "invalid mount config for type \"bind\": field Source must not be empty".into()),
            ("type=bind,src=rel,dst=/b", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute".into()),
            ("type=foo,dst=/x", "invalid mount config for type \"foo\": mount type unknown".into()),
            ("type=bind,src=/a,dst=/b,bind-propagation=bogus", "invalid mount config for type \"bind\": invalid propagation mode: bogus".into()),
            ("type=bind,src=/a,dst=/", "invalid mount config for type \"bind\": invalid specification: destination can't be '/'".into()),
            ("type=bind,src=/a,dst=b", "invalid mount config for type \"bind\": invalid mount path: 'b' mount path must be absolute".into()),
            ("type=volume,dst=/x,ro", "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes".into()),
            ("type=tmpfs,src=/a,dst=/x", "invalid mount config for type \"tmpfs\": field Source must not be specified".into()),
        ] {
            assert_eq!(err(&["--mount", spec]), want, "{spec}");
        }
    }

    #[test]
    fn volume_table() {
        let binds = |flags: &[&str]| hc(&req(flags)).binds.clone();
        assert_eq!(
            binds(&["-v", "/host:/ctr"]),
            Some(vec!["/host:/ctr".into()])
        );
        assert_eq!(
            binds(&["-v", "/host:/ctr:ro,Z"]),
            Some(vec!["/host:/ctr:ro,Z".into()])
        );
        assert_eq!(
            binds(&["-v", "/h:/c:rshared"]),
            Some(vec!["/h:/c:rshared".into()])
        );
        assert_eq!(
            binds(&["-v", "data:/data"]),
            Some(vec!["data:/data".into()])
        );
        assert_eq!(
            binds(&["-v", "data:/data:nocopy"]),
            Some(vec!["data:/data:nocopy".into()])
        );
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            binds(&["-v", "./rel:/x"]),
            Some(vec![format!("{}/rel:/x", cwd.to_string_lossy())])
        );
        let r = req(&["-v", "/data", "-v", "/cache", "-v", "/data"]);
        assert_eq!(r.body.volumes, Some(vec!["/cache".into(), "/data".into()]));
        assert_eq!(hc(&r).binds, None);

        for (spec, want) in [
            ("/a:/b:bogus", "invalid mode: bogus".to_string()),
            ("/a:/b:ro,rw", "invalid mode: ro,rw".into()),
            ("/a:ro", "invalid volume specification: '/a:ro'".into()),
            ("/a:rel", "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute".into()),
            ("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'".into()),
            ("/a:/b:nocopy", "invalid volume specification: '/a:/b:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified".into()),
            ("data:/b:shared", "invalid volume specification: 'data:/b:shared': invalid mount config for type \"volume\": field BindOptions must not be specified".into()),
            // `c:d` reads as a Windows drive in volumespec; the daemon then rejects it.
            ("/a:/b:c:d", "invalid volume specification: '/a:/b:c:d'".into()),
            ("/a:/b:cc:d", "invalid spec: /a:/b:cc:d: too many colons".into()),
            ("/a::/b", "invalid spec: /a::/b: empty section between colons".into()),
            ("", "invalid empty volume spec".into()),
            ("rel", "invalid volume specification: 'rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute".into()),
            ("~/x:/y", "create ~/x: \"~/x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path".into()),
        ] {
            assert_eq!(err(&["-v", spec]), want, "{spec}");
        }
    }

    #[test]
    fn tmpfs_and_volumes_from() {
        let r = req(&["--tmpfs", "/run:rw,size=64m", "--tmpfs", "/tmp"]);
        let want: HashMap<String, String> = [("/run", "rw,size=64m"), ("/tmp", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(hc(&r).tmpfs, Some(want));
        assert_eq!(
            err(&["--tmpfs", "run"]),
            "invalid mount path: 'run' mount path must be absolute"
        );
        assert_eq!(
            err(&["--tmpfs", "/"]),
            "invalid specification: destination can't be '/'"
        );

        let r = req(&["--volumes-from", "web:ro", "--volumes-from", "db"]);
        assert_eq!(
            hc(&r).volumes_from,
            Some(vec!["web:ro".into(), "db".into()])
        );
        assert_eq!(err(&["--volumes-from", "web:bogus"]), "invalid mode: bogus");
        assert_eq!(
            err(&["--volumes-from", "web:shared"]),
            "invalid mode: shared"
        );
        assert_eq!(
            err(&["--volumes-from", ""]),
            "volumes-from specification cannot be an empty string"
        );
        assert!(
            req(&["--read-only"])
                .body
                .host_config
                .and_then(|h| h.readonly_rootfs)
                == Some(true)
        );
    }

    #[test]
    fn ulimits() {
        let r = req(&[
            "--ulimit",
            "nproc=100",
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit",
            "core=-1",
        ]);
        let u = |n: &str, s, h| ResourcesUlimits {
            name: Some(n.into()),
            soft: Some(s),
            hard: Some(h),
        };
        assert_eq!(
            hc(&r).ulimits,
            Some(vec![
                u("core", -1, -1),
                u("nofile", 1024, 2048),
                u("nproc", 100, 100)
            ])
        );
        // Last one for a name wins.
        let r = req(&["--ulimit", "nofile=1", "--ulimit", "nofile=2"]);
        assert_eq!(hc(&r).ulimits, Some(vec![u("nofile", 2, 2)]));
        for (v, want) in [
            ("bogus=1", "invalid ulimit type: bogus"),
            ("nofile", "invalid ulimit argument: nofile"),
            ("nofile=2048:1024", "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"),
            ("nofile=-1:1024", "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024"),
            ("nofile=a", "strconv.ParseInt: parsing \"a\": invalid syntax"),
            ("nofile=1:2:3", "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"),
        ] {
            assert_eq!(
                err(&["--ulimit", v]),
                format!("invalid argument {} for \"--ulimit\" flag: {want}", go_quote(v))
            );
        }
    }

    #[test]
    fn stop_signal_and_timeout() {
        for s in [
            "SIGTERM",
            "TERM",
            "15",
            "RTMIN+3",
            "sigkill",
            "SIGRTMAX-2",
            "RTMIN",
            "SIGUSR1",
        ] {
            assert_eq!(
                req(&["--stop-signal", s]).body.stop_signal.as_deref(),
                Some(s)
            );
        }
        assert_eq!(parse_signal("RTMIN+3").map_err(|e| e.0), Ok(37));
        assert_eq!(parse_signal("SIGRTMAX-2").map_err(|e| e.0), Ok(62));
        for s in ["FOO", "0", "RTMIN+16", "RTMAX-15", "SIG"] {
            assert_eq!(err(&["--stop-signal", s]), format!("invalid signal: {s}"));
        }
        assert_eq!(req(&["--stop-timeout", "10"]).body.stop_timeout, Some(10));
        assert_eq!(req(&[]).body.stop_timeout, None);
        assert_eq!(
            err(&["--stop-timeout", "1s"]),
            "invalid argument \"1s\" for \"--stop-timeout\" flag: strconv.ParseInt: parsing \"1s\": invalid syntax"
        );
    }

    #[test]
    fn devices() {
        let dm = |h: &str, c: &str, p: &str| DeviceMapping {
            path_on_host: Some(h.into()),
            path_in_container: Some(c.into()),
            cgroup_permissions: Some(p.into()),
        };
        for (spec, want) in [
            ("/dev/sda", dm("/dev/sda", "/dev/sda", "rwm")),
            ("/dev/sda:/dev/xvda", dm("/dev/sda", "/dev/xvda", "rwm")),
            ("/dev/sda:/dev/xvda:r", dm("/dev/sda", "/dev/xvda", "r")),
            ("/dev/sda:rw", dm("/dev/sda", "/dev/sda", "rw")),
            ("/dev/./sda/", dm("/dev/sda", "/dev/sda", "rwm")),
        ] {
            assert_eq!(
                hc(&req(&["--device", spec])).devices,
                Some(vec![want]),
                "{spec}"
            );
        }
        for (spec, want) in [
            ("/dev/sda:/dev/xvda:rwx", "bad mode specified: rwx"),
            ("/dev/sda:rel", "rel is not an absolute path"),
            ("a:b:c:d", "bad format for path: a:b:c:d"),
            (":/dev/x", "bad format for path: :/dev/x"),
        ] {
            assert_eq!(err(&["--device", spec]), want, "{spec}");
        }
        let r = req(&["--device", "nvidia.com/gpu=all"]);
        assert_eq!(hc(&r).devices, None);
        let dr = hc(&r).device_requests.clone().expect("cdi request");
        assert_eq!(dr[0].driver.as_deref(), Some("cdi"));
        assert_eq!(dr[0].device_ids, Some(vec!["nvidia.com/gpu=all".into()]));

        let r = req(&[
            "--device-cgroup-rule",
            "c 1:3 mr",
            "--device-cgroup-rule",
            "a *:* rwm",
        ]);
        assert_eq!(hc(&r).device_cgroup_rules.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            err(&["--device-cgroup-rule", "x 1:3 r"]),
            "invalid argument \"x 1:3 r\" for \"--device-cgroup-rule\" flag: invalid device cgroup format 'x 1:3 r'"
        );
    }

    #[test]
    fn hosts_dns_links_sysctls() {
        let r = req(&[
            "--add-host",
            "db:10.0.0.1",
            "--add-host",
            "cache=10.0.0.2",
            "--add-host",
            "gw:host-gateway",
            "--add-host",
            "v6=[::1]",
            "--dns",
            "8.8.8.8",
            "--dns",
            "::ffff:1.2.3.4",
            "--dns-search",
            "example.com.",
            "--dns-option",
            "ndots:2",
            "--sysctl",
            "net.ipv4.ip_forward=1",
        ]);
        let h = hc(&r);
        assert_eq!(
            h.extra_hosts,
            Some(vec![
                "db:10.0.0.1".into(),
                "cache:10.0.0.2".into(),
                "gw:host-gateway".into(),
                "v6:::1".into()
            ])
        );
        assert_eq!(h.dns, Some(vec!["8.8.8.8".into(), "1.2.3.4".into()]));
        assert_eq!(h.dns_search, Some(vec!["example.com".into()]));
        assert_eq!(h.dns_options, Some(vec!["ndots:2".into()]));
        assert_eq!(
            h.sysctls
                .as_ref()
                .and_then(|s| s.get("net.ipv4.ip_forward"))
                .map(String::as_str),
            Some("1")
        );
        for (flags, want) in [
            (&["--add-host", "nohost"][..], "invalid argument \"nohost\" for \"--add-host\" flag: bad format for add-host: \"nohost\""),
            (&["--add-host", "db:notanip"], "invalid argument \"db:notanip\" for \"--add-host\" flag: invalid IP address in add-host: \"notanip\""),
            (&["--dns", "x"], "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly formatted: x"),
            (&["--dns-search", "-bad-"], "invalid argument \"-bad-\" for \"--dns-search\" flag: -bad- is not a valid domain"),
            (&["--link", "a:b:c"], "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"),
            (&["--sysctl", "kernel.domainname=x"], "invalid argument \"kernel.domainname=x\" for \"--sysctl\" flag: sysctl 'kernel.domainname=x' is not allowed"),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
    }

    #[test]
    fn network_options() {
        let r = req(&[
            "--network",
            "mynet",
            "--network-alias",
            "web",
            "--ip",
            "10.0.0.5",
            "--link",
            "db:database",
        ]);
        assert_eq!(hc(&r).network_mode.as_deref(), Some("mynet"));
        assert_eq!(hc(&r).links, Some(vec!["db:database".into()]));
        let eps = r
            .body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoint config");
        let ep = &eps["mynet"];
        assert_eq!(ep.aliases, Some(vec!["web".into()]));
        assert_eq!(ep.links, Some(vec!["db:database".into()]));
        assert_eq!(
            ep.ipam_config
                .as_ref()
                .and_then(|i| i.ipv4_address.as_deref()),
            Some("10.0.0.5")
        );

        // Default network: --link is a legacy link only; no endpoint settings sent.
        let r = req(&["--link", "db"]);
        assert_eq!(hc(&r).links, Some(vec!["db".into()]));
        assert_eq!(r.body.networking_config, None);
        assert_eq!(hc(&r).network_mode, None);

        let r = req(&["--mac-address", "92:d0:c6:0a:29:33"]);
        let eps = r
            .body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("eps");
        assert_eq!(
            eps["default"].mac_address.as_deref(),
            Some("92:d0:c6:0a:29:33")
        );

        for (flags, want) in [
            (
                &["--network-alias", "web"][..],
                "network-scoped aliases are only supported for user-defined networks",
            ),
            (
                &["--network", "host", "--network-alias", "web"],
                "network-scoped aliases are only supported for user-defined networks",
            ),
            (
                &["--mac-address", "bogus"],
                "bogus is not a valid mac address",
            ),
            (
                &["--network", "n", "--ip", "300.1.1.1"],
                "invalid IPv4 address: 300.1.1.1",
            ),
            (
                &["--network", "n", "--ip", "::1"],
                "invalid IPv4 address: ::1",
            ),
            (
                &["--network", "n", "--ip6", "1.2.3.4"],
                "invalid IPv6 address: 1.2.3.4",
            ),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
        assert!(valid_mac("0000.5e00.5301"));
        assert!(valid_mac("00-00-5e-00-53-01"));
        assert!(!valid_mac("00:00:5e:00:53"));
    }

    #[test]
    fn healthcheck() {
        let r = req(&[
            "--health-cmd",
            "curl -f http://localhost/",
            "--health-interval",
            "30s",
            "--health-timeout",
            "1m30s",
            "--health-retries",
            "3",
            "--health-start-period",
            "5s",
        ]);
        assert_eq!(
            r.body.healthcheck,
            Some(HealthConfig {
                test: Some(vec!["CMD-SHELL".into(), "curl -f http://localhost/".into()]),
                interval: Some(30_000_000_000),
                timeout: Some(90_000_000_000),
                retries: Some(3),
                start_period: Some(5_000_000_000),
                start_interval: Some(0),
            })
        );
        assert_eq!(
            req(&["--no-healthcheck"])
                .body
                .healthcheck
                .and_then(|h| h.test),
            Some(vec!["NONE".into()])
        );
        assert_eq!(req(&[]).body.healthcheck, None);
        for (flags, want) in [
            (&["--no-healthcheck", "--health-cmd", "x"][..], "--no-healthcheck conflicts with --health-* options"),
            (&["--health-interval", "1x"], "invalid argument \"1x\" for \"--health-interval\" flag: time: unknown unit \"x\" in duration \"1x\""),
            (&["--health-interval", "10"], "invalid argument \"10\" for \"--health-interval\" flag: time: missing unit in duration \"10\""),
            (&["--health-timeout", "abc"], "invalid argument \"abc\" for \"--health-timeout\" flag: time: invalid duration \"abc\""),
            (&["--health-interval", "-1s"], "--health-interval cannot be negative"),
            (&["--health-retries", "-1"], "--health-retries cannot be negative"),
            (&["--health-interval", "500us"], "Interval in Healthcheck cannot be less than 1ms"),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
    }

    #[test]
    fn go_durations() {
        for (s, ns) in [
            ("0", 0),
            ("-0", 0),
            ("1.5h", 5_400_000_000_000),
            ("300ms", 300_000_000),
            ("1h2m3.5s", 3_723_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("10us", 10_000),
            ("10µs", 10_000),
            ("-1m", -60_000_000_000),
            ("1ns", 1),
        ] {
            assert_eq!(parse_go_duration(s), Ok(ns), "{s}");
        }
        for s in ["", "-", ".", "1", "1.2.3s", "s", "9999999999999999999h"] {
            assert!(parse_go_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn go_ints() {
        for (s, v) in [
            ("10", 10),
            ("-10", -10),
            ("+7", 7),
            ("0x1f", 31),
            ("0o17", 15),
            ("017", 15),
            ("0b101", 5),
            ("1_000", 1000),
            ("0", 0),
        ] {
            assert_eq!(go_parse_int(s, true, 64), Ok(v), "{s}");
        }
        assert_eq!(go_parse_int("-9223372036854775808", true, 64), Ok(i64::MIN));
        for s in [
            "",
            "x",
            "1_",
            "_1",
            "08",
            "0x",
            "9223372036854775808",
            "1.5",
        ] {
            assert!(go_parse_int(s, true, 64).is_err(), "{s}");
        }
        // Base 10 only where Go uses Atoi/ParseInt(s, 10, ..).
        assert!(go_parse_int("0x10", false, 64).is_err());
        assert_eq!(go_parse_uint("65535", false, 16), Ok(65535));
        assert!(go_parse_uint("-1", true, 16).is_err());
    }

    #[test]
    fn entrypoint_user_workdir_misc() {
        assert_eq!(
            req(&["--entrypoint", "/bin/sh"]).body.entrypoint,
            Some(vec!["/bin/sh".into()])
        );
        assert_eq!(
            req(&["--entrypoint="]).body.entrypoint,
            Some(vec!["".into()])
        );
        assert_eq!(req(&[]).body.entrypoint, None);
        let r = req(&[
            "-u",
            "1000:1000",
            "-w",
            "/app",
            "--domainname",
            "example.org",
            "--group-add",
            "audio",
            "--cgroup-parent",
            "/mygroup",
            "--pid",
            "host",
            "--ipc",
            "shareable",
            "--uts",
            "host",
            "--userns",
            "host",
            "--cgroupns",
            "private",
            "--init",
            "--privileged",
            "--oom-kill-disable",
            "--oom-score-adj",
            "-500",
            "--cidfile",
            "/tmp/cid",
            "--detach-keys",
            "ctrl-x",
            "--pull",
            "always",
            "--platform",
            "linux/arm64",
            "--cap-add",
            "NET_ADMIN",
            "--cap-add",
            "cap_sys_time",
            "--cap-drop",
            "ALL",
        ]);
        assert_eq!(r.body.user.as_deref(), Some("1000:1000"));
        assert_eq!(r.body.working_dir.as_deref(), Some("/app"));
        assert_eq!(r.body.domainname.as_deref(), Some("example.org"));
        let h = hc(&r);
        assert_eq!(h.group_add, Some(vec!["audio".into()]));
        assert_eq!(h.cgroup_parent.as_deref(), Some("/mygroup"));
        assert_eq!(h.pid_mode.as_deref(), Some("host"));
        assert_eq!(h.ipc_mode.as_deref(), Some("shareable"));
        assert_eq!(h.uts_mode.as_deref(), Some("host"));
        assert_eq!(h.userns_mode.as_deref(), Some("host"));
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        assert_eq!(
            (h.init, h.privileged, h.oom_kill_disable),
            (Some(true), Some(true), Some(true))
        );
        assert_eq!(h.oom_score_adj, Some(-500));
        assert_eq!(h.container_id_file.as_deref(), Some("/tmp/cid"));
        assert_eq!(
            h.cap_add,
            Some(vec!["NET_ADMIN".into(), "cap_sys_time".into()])
        );
        assert_eq!(h.cap_drop, Some(vec!["ALL".into()]));
        assert_eq!(r.cidfile, Some(PathBuf::from("/tmp/cid")));
        assert_eq!(r.detach_keys.as_deref(), Some("ctrl-x"));
        assert_eq!(r.pull.as_deref(), Some("always"));
        assert_eq!(r.platform.as_deref(), Some("linux/arm64"));
        assert_eq!(hc(&req(&[])).init, None);
        assert_eq!(
            hc(&req(&["--pid", "container:db"])).pid_mode.as_deref(),
            Some("container:db")
        );

        for (flags, want) in [
            (&["--pull", "sometimes"][..], "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""),
            (&["-w", "app"], "the working directory 'app' is invalid, it needs to be an absolute path"),
            (&["--name", "bad name"], "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
            (&["--name", "a"], "Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
            (&["--pid", "container:"], "--pid: invalid PID mode"),
            (&["--pid", "bogus"], "--pid: invalid PID mode"),
            (&["--uts", "bogus"], "--uts: invalid UTS mode"),
            (&["--userns", "bogus"], "--userns: invalid USER mode"),
            (&["--cgroupns", "bogus"], "--cgroupns: invalid CGROUP mode"),
            (&["--ipc", "bogus"], "invalid IPC mode: bogus"),
            (&["--cap-add", "foo"], "invalid CapAdd: unknown capability: \"CAP_FOO\""),
            (&["--cap-drop", "bar"], "invalid CapDrop: unknown capability: \"CAP_BAR\""),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
        assert_eq!(req(&["--name", "/web-1"]).name.as_deref(), Some("/web-1"));
    }

    #[test]
    fn attach_streams() {
        let b = req(&["-a", "stdout"]).body;
        assert_eq!(
            (
                b.attach_stdin,
                b.attach_stdout,
                b.attach_stderr,
                b.stdin_once
            ),
            (Some(false), Some(true), Some(false), Some(false))
        );
        let b = req(&["-a", "STDIN", "-i"]).body;
        assert_eq!(
            (b.attach_stdin, b.attach_stdout, b.stdin_once),
            (Some(true), Some(false), Some(true))
        );
        let b = req(&[]).body;
        assert_eq!(
            (
                b.attach_stdin,
                b.attach_stdout,
                b.attach_stderr,
                b.open_stdin,
                b.tty
            ),
            (
                Some(false),
                Some(true),
                Some(true),
                Some(false),
                Some(false)
            )
        );
        assert_eq!(
            err(&["-a", "bogus"]),
            "invalid argument \"bogus\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        );
        assert_eq!(
            err(&["-d", "-a", "stdout"]),
            "conflicting options: cannot specify both --attach and --detach"
        );
    }

    #[test]
    fn security_and_logging() {
        let r = req(&[
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "label=disable",
            "--security-opt",
            "apparmor:unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=10m",
            "--log-opt",
            "max-file=3",
        ]);
        let h = hc(&r);
        assert_eq!(
            h.security_opt,
            Some(vec![
                "no-new-privileges".into(),
                "label=disable".into(),
                "apparmor:unconfined".into()
            ])
        );
        assert_eq!(
            (h.masked_paths.clone(), h.readonly_paths.clone()),
            (Some(vec![]), Some(vec![]))
        );
        let log = h.log_config.clone().expect("log config");
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(log.config.as_ref().map(HashMap::len), Some(2));
        assert_eq!(hc(&req(&[])).log_config, None);

        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        f.write_all(b"{ \"defaultAction\" : \"SCMP_ACT_ALLOW\" }\n")
            .expect("write");
        let path = f.path().to_string_lossy().into_owned();
        let r = req(&["--security-opt", &format!("seccomp={path}")]);
        assert_eq!(
            hc(&r).security_opt,
            Some(vec!["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}".into()])
        );
        assert_eq!(
            hc(&req(&["--security-opt", "seccomp=unconfined"])).security_opt,
            Some(vec!["seccomp=unconfined".into()])
        );

        for (flags, want) in [
            (&["--security-opt", "bogus"][..], "Invalid --security-opt: \"bogus\"".to_string()),
            (&["--security-opt", "label="], "Invalid --security-opt: \"label=\"".into()),
            (&["--security-opt", "seccomp=/nonexistent.json"], "opening seccomp profile (/nonexistent.json) failed: open /nonexistent.json: no such file or directory".into()),
            (&["--log-driver", "none", "--log-opt", "a=b"], "invalid logging opts for driver none".into()),
        ] {
            assert_eq!(err(flags), want, "{flags:?}");
        }
    }

    #[test]
    fn defaults_are_unset() {
        let r = req(&[]);
        let h = hc(&r);
        assert_eq!(h.memory, None);
        assert_eq!(h.restart_policy, None);
        assert_eq!(h.auto_remove, None);
        assert_eq!(h.network_mode, None);
        assert_eq!(h.binds, None);
        assert_eq!(r.body.cmd, None);
        assert_eq!(r.body.env, None);
        assert_eq!(r.pull, None);
        assert!(!r.detach && !r.interactive && !r.tty);
    }
}
