//! Container commands: create, run, start, stop, restart, kill, rm, ps, wait, logs,
//! rename.

use std::io::{self, Write};
use std::time::Duration;

use clap::Args;
use serde_json::{json, Value};

use crate::cli::attach::{self, Ended, SessionOptions};
use crate::cli::output::{finish_batch, render_rows, write_out as out};
use crate::cli::runflags::{to_create_request, ImageAndCommand, RunFlags};
use crate::cli::units::{human_duration, parse_time, since};
use crate::cli::{CliError, CliResult};
use crate::engine::runtime::attach::AttachClient;
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::runtime::exec::ExecConfig;
use crate::engine::runtime::logs::{self, ReadOptions, Stream};
use crate::engine::store::ids::short_id;
use crate::engine::{Engine, Error as EngineError};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    flags: RunFlags,
    /// IMAGE [COMMAND] [ARG...]: flags after the image belong to the command, as in docker.
    #[command(flatten)]
    args: ImageAndCommand,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true)]
    sig_proxy: bool,
    container: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long, value_name = "list")]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, value_name = "list")]
    env_file: Vec<std::path::PathBuf>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    workdir: Option<String>,
    container: String,
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short, long)]
    signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(short, long, allow_hyphen_values = true)]
    time: Option<i64>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided (status=, name=, id=, label=, ancestor=, exited=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, default_value_t = -1, allow_hyphen_values = true)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")
    #[arg(long)]
    since: Option<String>,
    /// Number of lines to show from the end of the logs ("all" for every line)
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")
    #[arg(long)]
    until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

#[derive(Debug, Args)]
pub struct NamesArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    container: String,
    /// Options for the host's `ps` (default: `-ef`, read from /proc)
    #[arg(
        value_name = "ps OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    container: String,
    /// PRIVATE_PORT[/PROTO]
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    port: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long)]
    cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long)]
    cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short, long)]
    memory: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    restart: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    #[arg(value_name = "CONTAINER")]
    container: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    container: String,
    #[arg(value_name = "NEW_NAME")]
    new_name: String,
}

/// Docker runs the rest of a batch when one name fails, then exits 1.
fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), EngineError>) -> CliResult {
    let mut errors = Vec::new();
    for n in names {
        match f(n) {
            Ok(()) => out(&format!("{n}\n"))?,
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_batch(errors)
}

/// `create` and the first half of `run`. Errors exit 125 like docker's.
fn to_create_request_checked(a: &RunArgs) -> CliResult<crate::cli::runflags::CreateRequest> {
    to_create_request(&a.flags, a.args.image(), a.args.command(), &|k| {
        std::env::var(k).ok()
    })
    .map_err(|e| CliError::usage(e.to_string()))
}

fn create_from(
    engine: &Engine,
    req: crate::cli::runflags::CreateRequest,
) -> CliResult<(String, crate::cli::runflags::CreateRequest)> {
    if let Some(p) = &req.cidfile {
        if p.exists() {
            return Err(CliError::usage(format!(
                "Container ID file found, make sure the other container isn't running or delete {}",
                p.display()
            )));
        }
    }
    let image = req.body.image.clone().unwrap_or_default();
    let pull_opts = crate::engine::image::registry::PullOptions {
        platform: req.platform.clone(),
        ..Default::default()
    };
    let pull = |name: &str| {
        crate::cli::registry::pull_with_progress(engine, name, &pull_opts, false, true)
            .map_err(|e| CliError::usage(e.message))
    };
    if req.pull.as_deref() == Some("always") {
        pull(&image)?;
    }
    let id = match engine.container_create(req.name.clone(), req.body.clone()) {
        Ok(id) => id,
        Err(EngineError::NotFound(msg))
            if msg.starts_with("No such image") && req.pull.as_deref() != Some("never") =>
        {
            let name = msg.trim_start_matches("No such image: ");
            eprintln!("Unable to find image '{name}' locally");
            pull(&image)?;
            engine
                .container_create(req.name.clone(), req.body.clone())
                .map_err(|e| CliError::usage(e.to_string()))?
        }
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    if let Some(p) = &req.cidfile {
        std::fs::write(p, &id).map_err(|e| {
            CliError::usage(format!(
                "writing the container ID file {}: {e}",
                p.display()
            ))
        })?;
    }
    Ok((id, req))
}

pub fn create(engine: &Engine, a: RunArgs) -> CliResult {
    let req = to_create_request_checked(&a)?;
    let (id, _) = create_from(engine, req)?;
    out(&format!("{id}\n"))
}

pub fn run(engine: &Engine, a: RunArgs) -> CliResult {
    let detach_keys = detach_keys_of(a.flags.detach_keys.as_deref())?;
    let mut req = to_create_request_checked(&a)?;
    if req.tty && req.interactive && !req.detach && !attach::is_terminal(0) {
        return Err(CliError::failed(
            "the input device is not a TTY. If you are using mintty, try prefixing the command with 'winpty'",
        ));
    }
    if req.tty {
        // The first screen of output is laid out for the real size.
        if let Some((rows, cols)) = attach::window_size(libc::STDOUT_FILENO) {
            if let Some(hc) = req.body.host_config.as_mut() {
                hc.console_size = Some(vec![usize::from(rows), usize::from(cols)]);
            }
        }
    }
    let (id, req) = create_from(engine, req)?;
    let auto_remove = req.body.host_config.as_ref().and_then(|h| h.auto_remove) == Some(true);
    if req.detach {
        return match engine.container_start(&id, None)? {
            Ok(()) => out(&format!("{id}\n")),
            Err(e) => {
                if auto_remove {
                    let _ = engine.container_remove(&id, true, true);
                }
                Err(CliError {
                    message: e.message,
                    code: e.code,
                })
            }
        };
    }
    let (client, monitor_end) = AttachClient::pair()?;
    if let Err(e) = engine.container_start(&id, Some(monitor_end))? {
        if auto_remove {
            let _ = engine.container_remove(&id, true, true);
        }
        return Err(CliError {
            message: e.message,
            code: e.code,
        });
    }
    let proxy = (a.flags.sig_proxy.unwrap_or(true) && !req.tty).then(|| signal_proxy(engine, &id));
    let opts = SessionOptions {
        stdin: req.interactive,
        tty: req.tty,
        detach_keys,
        sig_proxy: proxy,
    };
    finish_session(engine, &id, client, opts)
}

/// Sends the signals berth receives to container `id` (through the engine, like
/// docker's CLI through the daemon).
fn signal_proxy(engine: &Engine, id: &str) -> attach::SignalProxy {
    let root = engine.store().paths.root.clone();
    let id = id.to_string();
    Box::new(move |sig| {
        if let Ok(e) = Engine::open(root.as_deref()) {
            let _ = e.container_kill(&id, &sig.to_string());
        }
    })
}

fn detach_keys_of(spec: Option<&str>) -> CliResult<Vec<u8>> {
    attach::parse_detach_keys(spec.unwrap_or(attach::DEFAULT_DETACH_KEYS)).map_err(CliError::usage)
}

/// Runs an attach session and turns its end into ours: the container's exit code, or
/// 0 after a detach.
fn finish_session(
    engine: &Engine,
    id: &str,
    client: AttachClient,
    opts: SessionOptions,
) -> CliResult {
    let ended = attach::session(client, opts)
        .map_err(|e| CliError::failed(format!("attaching to {id}: {e}")))?;
    match ended {
        Ended::Exited(code) => exit_with(code),
        Ended::Detached => Ok(()),
        // The monitor died: the record has what is known.
        Ended::Lost => exit_with(engine.container_wait(id).unwrap_or(255) as i32),
    }
}

/// The container's exit code becomes ours, silently.
fn exit_with(code: i32) -> CliResult {
    if code == 0 {
        Ok(())
    } else {
        Err(CliError {
            message: String::new(),
            code,
        })
    }
}

pub fn start(engine: &Engine, a: StartArgs) -> CliResult {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(CliError::usage(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let keys = detach_keys_of(a.detach_keys.as_deref())?;
        let rec = engine.container_get(&a.containers[0])?;
        let tty = rec.config.config.tty == Some(true);
        let stdin = a.interactive && rec.config.config.open_stdin == Some(true);
        let opts = SessionOptions {
            stdin,
            tty,
            detach_keys: keys,
            sig_proxy: (!tty).then(|| signal_proxy(engine, &rec.id)),
        };
        if rec.state.running {
            let client = AttachClient::connect(&rec.id)?;
            return finish_session(engine, &rec.id, client, opts);
        }
        let (client, monitor_end) = AttachClient::pair()?;
        if let Err(e) = engine.container_start(&rec.id, Some(monitor_end))? {
            return Err(CliError {
                message: e.message,
                code: e.code,
            });
        }
        return finish_session(engine, &rec.id, client, opts);
    }
    let mut errors = Vec::new();
    for n in &a.containers {
        match engine.container_start(n, None) {
            Ok(Ok(())) => out(&format!("{n}\n"))?,
            Ok(Err(e)) => errors.push(e.message),
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_batch(errors)
}

/// `exec`: runs a command in a running container; its exit code becomes ours.
pub fn exec(engine: &Engine, a: ExecArgs) -> CliResult {
    let keys = detach_keys_of(a.detach_keys.as_deref())?;
    let env = crate::cli::runflags::env_list(&a.env, &a.env_file, &|k| std::env::var(k).ok())
        .map_err(|e| CliError::usage(e.0))?;
    if a.tty && a.interactive && !a.detach && !attach::is_terminal(0) {
        return Err(CliError::failed("the input device is not a TTY"));
    }
    let cfg = ExecConfig {
        cmd: a.command,
        env,
        user: a.user,
        working_dir: a.workdir,
        tty: a.tty,
        stdin: a.interactive && !a.detach,
        privileged: a.privileged,
    };
    let rec = engine.container_get(&a.container)?;
    let started = if a.detach {
        engine.container_exec(&rec.id, &cfg, None)?.map(|()| None)
    } else {
        let (client, monitor_end) = AttachClient::pair()?;
        engine
            .container_exec(&rec.id, &cfg, Some(monitor_end))?
            .map(|()| Some(client))
    };
    match started {
        Err(e) => Err(CliError {
            message: e.message,
            code: e.code,
        }),
        Ok(None) => Ok(()),
        Ok(Some(client)) => {
            let ended = attach::session(
                client,
                SessionOptions {
                    stdin: cfg.stdin,
                    tty: cfg.tty,
                    detach_keys: keys,
                    // Docker does not proxy signals to exec'd processes.
                    sig_proxy: None,
                },
            )
            .map_err(|e| CliError::failed(format!("exec in {}: {e}", rec.id)))?;
            match ended {
                Ended::Exited(code) => exit_with(code),
                Ended::Detached => Ok(()),
                Ended::Lost => Err(CliError::failed("the exec session ended unexpectedly")),
            }
        }
    }
}

/// `port`: the container's published ports, from its network settings.
pub fn port(engine: &Engine, a: PortArgs) -> CliResult {
    let inspect = serde_json::to_value(engine.container_inspect(&a.container)?)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let ports = inspect["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let bindings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                let ip = b["HostIp"].as_str().unwrap_or("");
                let port = b["HostPort"].as_str().unwrap_or("");
                if ip.contains(':') {
                    format!("[{ip}]:{port}")
                } else {
                    format!("{}:{port}", if ip.is_empty() { "0.0.0.0" } else { ip })
                }
            })
            .collect()
    };
    let mut text = String::new();
    match &a.port {
        Some(p) => {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            let found = ports.get(&key).map(bindings).unwrap_or_default();
            if found.is_empty() {
                return Err(CliError::failed(format!(
                    "No public port '{key}' published for {}",
                    a.container
                )));
            }
            for b in found {
                text.push_str(&format!("{b}\n"));
            }
        }
        None => {
            for (k, v) in &ports {
                for b in bindings(v) {
                    text.push_str(&format!("{k} -> {b}\n"));
                }
            }
        }
    }
    out(&text)
}

/// `attach`: joins a running container's output (and stdin, when it was started with
/// -i) until it exits or the detach keys are pressed.
pub fn attach_cmd(engine: &Engine, a: AttachArgs) -> CliResult {
    let keys = detach_keys_of(a.detach_keys.as_deref())?;
    let rec = engine.container_get(&a.container)?;
    if !rec.state.running {
        return Err(CliError::failed(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if rec.state.paused {
        return Err(CliError::failed(
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    let tty = rec.config.config.tty == Some(true);
    let stdin = !a.no_stdin && rec.config.config.open_stdin == Some(true);
    if tty && stdin && !attach::is_terminal(0) {
        return Err(CliError::failed("the input device is not a TTY"));
    }
    let client = AttachClient::connect(&rec.id)?;
    finish_session(
        engine,
        &rec.id,
        client,
        SessionOptions {
            stdin,
            tty,
            detach_keys: keys,
            sig_proxy: (a.sig_proxy && !tty).then(|| signal_proxy(engine, &rec.id)),
        },
    )
}

pub fn stop(engine: &Engine, a: StopArgs) -> CliResult {
    each(&a.containers, |n| match &a.signal {
        Some(sig) => engine.container_kill(n, sig).and_then(|_| {
            let rec = engine.container_get(n)?;
            engine
                .container_wait_stopped(
                    &rec.id,
                    Some(Duration::from_secs(a.time.unwrap_or(10).max(0) as u64)),
                )
                .map(|_| ())
        }),
        None => engine.container_stop(n, a.time),
    })
}

pub fn restart(engine: &Engine, a: StopArgs) -> CliResult {
    each(&a.containers, |n| {
        match engine.container_restart(n, a.time)? {
            Ok(()) => Ok(()),
            Err(e) => Err(EngineError::Other(e.message)),
        }
    })
}

pub fn kill(engine: &Engine, a: KillArgs) -> CliResult {
    each(&a.containers, |n| engine.container_kill(n, &a.signal))
}

pub fn rm(engine: &Engine, a: RmArgs) -> CliResult {
    each(&a.containers, |n| {
        engine.container_remove(n, a.force, a.volumes).map(|_| ())
    })
}

pub fn wait(engine: &Engine, a: WaitArgs) -> CliResult {
    let mut errors = Vec::new();
    for n in &a.containers {
        match engine.container_wait(n) {
            Ok(code) => out(&format!("{code}\n"))?,
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_batch(errors)
}

pub fn pause(engine: &Engine, a: NamesArgs, paused: bool) -> CliResult {
    each(&a.containers, |n| engine.container_pause(n, paused))
}

/// docker top: `ps -ef` columns, or the host's `ps` with the options given.
pub fn top(engine: &Engine, a: TopArgs) -> CliResult {
    let ps_args = a.ps_args.join(" ");
    let table = if ps_args.trim().is_empty() || ps_args.trim() == "-ef" {
        crate::engine::runtime::top::top_table(&engine.container_top(&a.container)?)
    } else {
        engine.container_top_ps(&a.container, &ps_args)?
    };
    let mut tw = crate::cli::gotemplate::TabWriter::new();
    tw.write_line(&table.titles.unwrap_or_default().join("\t"));
    for p in table.processes.unwrap_or_default() {
        tw.write_line(&p.join("\t"));
    }
    out(&tw.finish())
}

fn stats_table(engine: &Engine, a: &StatsArgs) -> CliResult<String> {
    use crate::cli::units::{bytes_size, size3};
    let names: Vec<String> = if a.containers.is_empty() {
        engine
            .container_list()?
            .into_iter()
            .filter(|r| a.all || r.state.running)
            .map(|r| r.id)
            .collect()
    } else {
        a.containers.clone()
    };
    let mut rows = Vec::new();
    for n in &names {
        let s = engine.container_stats(n)?;
        rows.push(json!({
            "ID": if a.no_trunc { s.id.clone() } else { short_id(&s.id).to_string() },
            "Container": n,
            "Name": s.name,
            "CPUPerc": format!("{:.2}%", s.cpu_percent),
            "MemUsage": format!("{} / {}", bytes_size(s.mem_used), bytes_size(s.mem_limit)),
            "MemPerc": format!("{:.2}%", s.mem_percent),
            "NetIO": format!("{} / {}", size3(s.net_rx), size3(s.net_tx)),
            "BlockIO": format!("{} / {}", size3(s.block_read), size3(s.block_write)),
            "PIDs": s.pids.to_string(),
        }));
    }
    let headers = json!({
        "ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    });
    let default = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
    render_rows(a.format.as_deref(), default, &headers, &rows)
}

pub fn stats(engine: &Engine, a: StatsArgs) -> CliResult {
    if a.no_stream {
        return out(&stats_table(engine, &a)?);
    }
    // Redraw about once a second, like docker, until interrupted.
    loop {
        let table = stats_table(engine, &a)?;
        out(&format!("\x1b[2J\x1b[H{table}"))?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

pub fn update(engine: &Engine, a: UpdateArgs) -> CliResult {
    use crate::cli::runflags::{parse_bytes, parse_restart_policy};
    let bytes = |v: &Option<String>, flag: &str| -> CliResult<Option<i64>> {
        v.as_deref()
            .map(|s| {
                if s == "-1" {
                    return Ok(-1);
                }
                parse_bytes(s).map_err(|e| {
                    CliError::usage(format!("invalid argument {s:?} for \"--{flag}\" flag: {e}"))
                })
            })
            .transpose()
    };
    if a.cpus.is_some() && (a.cpu_period.is_some() || a.cpu_quota.is_some()) {
        return Err(CliError::usage(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    let resources = bollard::models::Resources {
        memory: bytes(&a.memory, "memory")?,
        memory_reservation: bytes(&a.memory_reservation, "memory-reservation")?,
        memory_swap: bytes(&a.memory_swap, "memory-swap")?,
        nano_cpus: a.cpus.map(|c| (c * 1e9).round() as i64),
        cpu_shares: a.cpu_shares,
        cpu_period: a.cpu_period,
        cpu_quota: a.cpu_quota,
        cpuset_cpus: a.cpuset_cpus.clone(),
        cpuset_mems: a.cpuset_mems.clone(),
        pids_limit: a.pids_limit,
        blkio_weight: a.blkio_weight,
        ..Default::default()
    };
    let restart = a
        .restart
        .as_deref()
        .map(parse_restart_policy)
        .transpose()
        .map_err(|e| CliError::usage(e.to_string()))?;
    each(&a.containers, |n| {
        engine.container_update(n, &resources, restart.clone())
    })
}

pub fn diff(engine: &Engine, a: TopArgs) -> CliResult {
    let changes = engine.container_diff(&a.container)?;
    let mut s = String::new();
    for c in changes {
        s.push_str(&format!("{} {}\n", c.kind.letter(), c.path));
    }
    out(&s)
}

pub fn export(engine: &Engine, a: ExportArgs) -> CliResult {
    crate::cli::output::write_archive(a.output.as_deref(), "export container", |w| {
        engine.container_export(&a.container, w)
    })
}

pub fn commit(engine: &Engine, a: CommitArgs) -> CliResult {
    let reference = a
        .reference
        .as_deref()
        .map(crate::engine::image::reference::Reference::parse)
        .transpose()
        .map_err(|e| CliError::failed(e.to_string()))?;
    let id = engine.container_commit(
        &a.container,
        &crate::engine::runtime::fsops::CommitOptions {
            reference,
            author: a.author,
            message: a.message,
            changes: a.change,
            pause: a.pause,
        },
    )?;
    out(&format!("{id}\n"))
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CliResult {
    if !a.force && !crate::cli::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(());
    }
    let (ids, bytes) = engine.container_prune()?;
    let mut report = crate::cli::output::PruneReport::default();
    report.section("Containers", ids, bytes);
    out(&report.finish())
}

pub fn rename(engine: &Engine, a: RenameArgs) -> CliResult {
    engine.container_rename(&a.container, &a.new_name)?;
    Ok(())
}

pub fn logs_cmd(engine: &Engine, a: LogsArgs) -> CliResult {
    let rec = engine.container_get(&a.container)?;
    let now = chrono::Utc::now();
    let time = |s: &Option<String>,
                flag: &str|
     -> CliResult<Option<chrono::DateTime<chrono::Utc>>> {
        s.as_deref()
            .map(|v| {
                logs::parse_time_arg(v, now)
                    .map_err(|e| CliError::usage(format!("invalid value for \"--{flag}\": {e}")))
            })
            .transpose()
    };
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            CliError::usage(format!("invalid value for \"tail\": {n:?} is not a number"))
        })?)
        .filter(|n| *n >= 0)
        .map(|n| n as usize),
    };
    let opts = ReadOptions {
        tail,
        since: time(&a.since, "since")?,
        until: time(&a.until, "until")?,
        stdout: true,
        stderr: true,
    };
    let path = engine.container_log_path(&rec.id);
    let id = rec.id.clone();
    let keep_following = || {
        engine
            .container_get(&id)
            .map(|r| r.state.running || r.state.restarting)
            .unwrap_or(false)
    };
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut o = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut e_out = io::BufWriter::with_capacity(1 << 16, stderr.lock());
    let ts = a.timestamps;
    let follow = a.follow;
    let mut sink = |e: &logs::LogEntry| -> io::Result<()> {
        let w: &mut dyn Write = match e.stream {
            Stream::Stdout => &mut o,
            Stream::Stderr => &mut e_out,
        };
        if ts {
            w.write_all(
                e.time
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    .as_bytes(),
            )?;
            w.write_all(b" ")?;
        }
        w.write_all(&e.line)?;
        if follow {
            w.flush()?;
        }
        Ok(())
    };
    if !path.exists() {
        return Ok(());
    }
    logs::stream(&path, &opts, a.follow, &keep_following, &mut sink)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let _ = o.flush();
    let _ = e_out.flush();
    Ok(())
}

/// Docker's STATUS column text.
pub fn status_text(rec: &ContainerRecord, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = &rec.state;
    let ago = |t: &str| parse_time(t).map(|t| human_duration(now - t));
    if s.restarting {
        return format!(
            "Restarting ({}) {} ago",
            s.exit_code,
            ago(&s.finished_at).unwrap_or_default()
        );
    }
    if s.running {
        let up = ago(&s.started_at).unwrap_or_default();
        return if s.paused {
            format!("Up {up} (Paused)")
        } else {
            format!("Up {up}")
        };
    }
    if s.status == "created" {
        return "Created".into();
    }
    match parse_time(&s.finished_at).filter(|t| t.timestamp() > 0) {
        Some(t) => format!("Exited ({}) {} ago", s.exit_code, human_duration(now - t)),
        None => format!("Exited ({})", s.exit_code),
    }
}

/// Docker's IMAGE column: the name the container was created with while that name still
/// leads to its image, else the image id (after `rmi -f` or a retag).
fn ps_image(engine: &Engine, rec: &ContainerRecord, trunc: bool) -> String {
    let name = rec.config.config.image.clone().unwrap_or_default();
    match engine.image_get(&name) {
        Ok(img) if img.id == rec.config.image => name,
        _ if trunc => short_id(&rec.config.image).to_string(),
        _ => rec.config.image.clone(),
    }
}

fn command_text(rec: &ContainerRecord, trunc: bool) -> String {
    let mut cmd = rec.config.path.clone();
    for a in &rec.config.args {
        cmd.push(' ');
        cmd.push_str(a);
    }
    if trunc && cmd.chars().count() > 20 {
        cmd = format!("{}…", cmd.chars().take(19).collect::<String>());
    }
    format!("{cmd:?}")
}

pub(crate) fn ps_matches(rec: &ContainerRecord, filters: &[(String, String)]) -> CliResult<bool> {
    for (k, v) in filters {
        let ok = match k.as_str() {
            "status" => {
                rec.state.status == *v || (v == "running" && rec.state.running && !rec.state.paused)
            }
            "name" => rec.name.contains(v.trim_start_matches('/')),
            "id" => rec.id.starts_with(v),
            "exited" => {
                !rec.state.running
                    && rec.state.status == "exited"
                    && v.parse::<i64>().ok() == Some(rec.state.exit_code)
            }
            "ancestor" => {
                rec.config.config.image.as_deref() == Some(v.as_str())
                    || rec.config.image.contains(v)
            }
            "label" => {
                let labels = rec.config.config.labels.clone().unwrap_or_default();
                match v.split_once('=') {
                    Some((lk, lv)) => labels.get(lk).map(String::as_str) == Some(lv),
                    None => labels.contains_key(v),
                }
            }
            _ => return Err(CliError::failed(format!("invalid filter '{k}'"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Docker's legacy link names for `ps`: a container linked as `--link db:alias` from
/// `web` is also listed as `web/alias`.
fn link_names(
    all: &[crate::engine::runtime::container::ContainerRecord],
) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for r in all {
        for link in r.config.host_config.links.iter().flatten() {
            let (name, alias) = link
                .split_once(':')
                .unwrap_or((link.as_str(), link.as_str()));
            if let Some(target) = all.iter().find(|t| t.name == name.trim_start_matches('/')) {
                out.entry(target.id.clone()).or_default().push(format!(
                    "{}/{}",
                    r.name,
                    alias.rsplit('/').next().unwrap_or(alias)
                ));
            }
        }
    }
    for names in out.values_mut() {
        names.sort();
    }
    out
}

pub fn ps(engine: &Engine, a: PsArgs) -> CliResult {
    let mut filters = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CliError::usage(format!("bad format of filter (expected name=value): {f}"))
        })?;
        filters.push((k.to_string(), v.to_string()));
    }
    let mut list = engine.container_list()?;
    let linked = link_names(&list);
    let limit = if a.latest { 1 } else { a.last };
    let all = a.all || limit > 0 || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    list.retain(|r| all || r.state.running);
    let mut kept = Vec::new();
    for r in list {
        if ps_matches(&r, &filters)? {
            kept.push(r);
        }
    }
    if limit > 0 {
        kept.truncate(limit as usize);
    }
    let now = chrono::Utc::now();
    let rows: Vec<Value> = kept
        .iter()
        .map(|r| {
            let labels = r.config.config.labels.clone().unwrap_or_default();
            let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            json!({
                "ID": if a.no_trunc { r.id.clone() } else { short_id(&r.id).to_string() },
                "Image": ps_image(engine, r, !a.no_trunc),
                "Command": command_text(r, !a.no_trunc),
                "CreatedAt": crate::cli::units::created_at(Some(&r.created)),
                "RunningFor": since(Some(&r.created), now),
                "Ports": if r.state.running || r.state.paused {
                    crate::engine::network::ports_summary(
                        &r.state.network,
                        r.config.config.exposed_ports.as_deref().unwrap_or_default(),
                    )
                } else {
                    String::new()
                },
                "State": r.state.status,
                "Status": status_text(r, now),
                "Size": "0B",
                "Names": std::iter::once(r.name.clone())
                    .chain(linked.get(&r.id).into_iter().flatten().cloned())
                    .collect::<Vec<_>>()
                    .join(","),
                "Labels": labels.join(","),
                "Mounts": "",
                "Networks": r.config.host_config.network_mode.clone().unwrap_or_default(),
            })
        })
        .collect();
    let headers = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    });
    let default = if a.quiet {
        "{{.ID}}"
    } else if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    let format = if a.quiet { None } else { a.format.as_deref() };
    out(&render_rows(format, default, &headers, &rows)?)
}
