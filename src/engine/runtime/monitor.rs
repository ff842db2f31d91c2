//! `berth __monitor <id>`: one small process per running container (conmon's role).
//!
//! The CLI (or console, or API server) never clones a container itself: libcontainer
//! clones the calling process, and the code after the clone is only safe in a
//! single-threaded process. So `start` spawns this monitor, which detaches (double
//! fork + setsid, so the container outlives whoever started it), becomes a subreaper,
//! mounts the rootfs, builds the OCI spec, starts the container, reports readiness over
//! a pipe, relays the container's output into the json-file log, records the exit
//! (code, signal, OOM, time), applies the restart policy and `--rm`, and cleans up.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::snapshot;
use crate::engine::runtime::cgroups::{container_path, Cgroups};
use crate::engine::runtime::container::{ContainerRecord, Containers, State};
use crate::engine::runtime::logs::{LogOptions, LogWriter, Stream};
use crate::engine::runtime::{lookup, paths, spec};
use crate::engine::store::Store;

/// The fd on which a freshly spawned monitor reports readiness to its spawner.
pub const READY_FD: RawFd = 3;

/// What the monitor tells its spawner: started, or why not (with Docker's exit code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    Started,
    Failed { code: i32, message: String },
}

impl Ready {
    fn encode(&self) -> String {
        match self {
            Ready::Started => "ok\n".into(),
            Ready::Failed { code, message } => {
                format!("err {code} {}\n", message.replace('\n', " "))
            }
        }
    }
    pub fn decode(s: &str) -> Ready {
        let s = s.trim();
        if s == "ok" {
            return Ready::Started;
        }
        if let Some(rest) = s.strip_prefix("err ") {
            let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
            return Ready::Failed {
                code: code.parse().unwrap_or(125),
                message: msg.to_string(),
            };
        }
        Ready::Failed {
            code: 125,
            message: if s.is_empty() {
                "the container monitor exited before starting the container (see its log in the container's directory)".into()
            } else {
                s.to_string()
            },
        }
    }
}

/// The spawner's end of the monitor's pipe: after `Started`, the monitor writes the
/// exit code when the container stops, then waits until this end is closed, so an
/// attached `run --rm` reads all output before the container is removed.
pub struct ExitWatch {
    pipe: fs::File,
    buf: Vec<u8>,
}

impl ExitWatch {
    /// Non-blocking: Some(code) once the container has exited (or the monitor died: 255).
    pub fn poll_exit(&mut self) -> Option<i32> {
        let mut chunk = [0u8; 64];
        loop {
            match self.pipe.read(&mut chunk) {
                Ok(0) => return Some(self.parse().unwrap_or(255)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return self.parse(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Some(255),
            }
        }
    }
    fn parse(&self) -> Option<i32> {
        let text = String::from_utf8_lossy(&self.buf);
        let line = text.lines().find(|l| l.starts_with("exit "))?;
        line[5..].trim().parse().ok()
    }
}

/// Spawns the monitor for `id` and waits until the container runs or failed to start.
/// With `attach_stdin`, the caller's own stdin becomes the container's (first run).
pub fn spawn(store: &Store, id: &str, attach_stdin: bool) -> Result<(Ready, Option<ExitWatch>)> {
    use std::os::unix::process::CommandExt;
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("creating the monitor pipe", e.into()))?;
    let exe = std::env::current_exe().ctx(|| "finding the berth executable".to_string())?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths::container_dir(store, id).join("monitor.log"))
        .ctx(|| format!("opening the monitor log of {id}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--root")
        .arg(&store.paths.data)
        .arg("__monitor")
        .arg(id)
        .args(attach_stdin.then_some("--attach-stdin"))
        .stdin(if attach_stdin {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::null())
        .stderr(log);
    let wr_fd = wr.as_raw_fd();
    // SAFETY: between fork and exec only dup2 runs, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wr_fd, READY_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .ctx(|| "starting the container monitor".to_string())?;
    drop(wr);
    let mut f = fs::File::from(rd);
    // Read the first line only; the pipe stays open for the exit report.
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match f.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    }
    // The first fork exits at once after handing over to the detached grandchild.
    let _ = child.wait();
    let ready = Ready::decode(&String::from_utf8_lossy(&line));
    let watch = match ready {
        Ready::Started => {
            let fd = f.as_raw_fd();
            // SAFETY: fcntl on an fd we own.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
            Some(ExitWatch {
                pipe: f,
                buf: Vec::new(),
            })
        }
        Ready::Failed { .. } => None,
    };
    Ok((ready, watch))
}

fn report(ready: &mut Option<fs::File>, r: &Ready) {
    match r {
        // Keep the pipe: the exit code follows when the container stops.
        Ready::Started => {
            if let Some(f) = ready.as_mut() {
                let _ = f.write_all(r.encode().as_bytes());
            }
        }
        Ready::Failed { .. } => {
            if let Some(mut f) = ready.take() {
                let _ = f.write_all(r.encode().as_bytes());
            }
        }
    }
}

/// Tells the spawner the exit code, then waits until it closed its end (it may still
/// be reading the log), so `--rm` never removes output an attached client is reading.
fn report_exit(ready: &mut Option<fs::File>, code: i32) {
    let Some(mut f) = ready.take() else { return };
    if f.write_all(format!("exit {code}\n").as_bytes()).is_err() {
        return;
    }
    // With no events asked for, poll still reports POLLERR once the reader is gone.
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&f),
        PollFlags::empty(),
    )];
    while let Err(nix::errno::Errno::EINTR) = poll(&mut fds, PollTimeout::NONE) {}
}

/// Entry point of `__monitor`. Returns the process exit code.
pub fn main(root: Option<&Path>, id: &str, attach_stdin: bool) -> i32 {
    // Detach: the first child returns to the spawner at once; the grandchild, in its own
    // session, owns the container. Done before opening anything (SQLite, files).
    // SAFETY: fork in a process that is still single-threaded (nothing started yet).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("monitor: fork: {e}");
            return 1;
        }
    }
    let _ = nix::unistd::setsid();
    // A spawner that stopped listening must not kill us with SIGPIPE.
    // SAFETY: setting a signal disposition to ignore.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // SAFETY: READY_FD was dup2'd for us by the spawner and is ours alone.
    let mut ready = Some(unsafe { fs::File::from_raw_fd(READY_FD) });
    let store = match Store::open(root) {
        Ok(s) => s,
        Err(e) => {
            report(
                &mut ready,
                &Ready::Failed {
                    code: 125,
                    message: e.to_string(),
                },
            );
            return 1;
        }
    };
    // The spawner's stdin (fd 0), handed to the container on its first run.
    // Moved off fd 0 first: libcontainer dup2()s it onto 0 and then closes the original,
    // which would close 0 itself.
    let mut stdin = if attach_stdin {
        // SAFETY: fcntl on fd 0, which the spawner gave us.
        let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
        // SAFETY: fd was just returned by fcntl and is ours alone.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    } else {
        None
    };
    match run(&store, id, &mut ready, &mut stdin) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("monitor {id}: {e}");
            report(
                &mut ready,
                &Ready::Failed {
                    code: 125,
                    message: e.to_string(),
                },
            );
            1
        }
    }
}

fn now() -> String {
    crate::engine::image::config::now_rfc3339()
}

fn run(
    store: &Store,
    id: &str,
    ready: &mut Option<fs::File>,
    stdin: &mut Option<OwnedFd>,
) -> Result<()> {
    // Reparented container processes come to us, so we can wait for the init.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let containers = Containers::new(store);
    let mut backoff = Duration::from_millis(100);
    loop {
        let rec = containers.get(id)?;
        let started = Instant::now();
        let outcome = run_once(store, &rec, ready, stdin.take());
        let code = match outcome {
            Ok(code) => code,
            Err(Failure::BeforeStart { code, message }) => {
                containers.update_state(id, |s| {
                    s.status = if s.restart_count > 0 {
                        "exited".into()
                    } else {
                        "created".into()
                    };
                    s.exit_code = code as i64;
                    s.error = message.clone();
                    s.running = false;
                    s.restarting = false;
                    s.pid = 0;
                    s.monitor_pid = 0;
                })?;
                report(ready, &Ready::Failed { code, message });
                return Ok(());
            }
        };
        report_exit(ready, code);
        let rec = containers.get(id)?;
        if should_restart(&rec, code) {
            // Docker's back-off: doubles from 100 ms, reset after a run of 10 s or more.
            if started.elapsed() >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            containers.update_state(id, |s| {
                s.restarting = true;
                s.status = "restarting".into();
            })?;
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(60));
            let rec = containers.get(id)?;
            if rec.state.manually_stopped {
                containers.update_state(id, |s| {
                    s.restarting = false;
                    s.status = "exited".into();
                    s.monitor_pid = 0;
                })?;
                break;
            }
            containers.update_state(id, |s| s.restart_count += 1)?;
            continue;
        }
        containers.update_state(id, |s| s.monitor_pid = 0)?;
        if rec.config.host_config.auto_remove == Some(true) {
            super::lifecycle::remove_files(store, id)?;
            containers.delete(id)?;
            super::container::emit(store, &rec, "destroy", &[]);
            super::lifecycle::remove_anonymous_volumes(store, &rec)?;
        }
        break;
    }
    Ok(())
}

fn should_restart(rec: &ContainerRecord, code: i32) -> bool {
    if rec.state.manually_stopped {
        return false;
    }
    let Some(policy) = &rec.config.host_config.restart_policy else {
        return false;
    };
    use bollard::models::RestartPolicyNameEnum as N;
    match policy.name {
        Some(N::ALWAYS) | Some(N::UNLESS_STOPPED) => true,
        Some(N::ON_FAILURE) => {
            let max = policy.maximum_retry_count.unwrap_or(0);
            code != 0 && (max == 0 || rec.state.restart_count < max)
        }
        _ => false,
    }
}

enum Failure {
    BeforeStart { code: i32, message: String },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::BeforeStart {
            code: 125,
            message: e.to_string(),
        }
    }
}

/// Mounts, starts, relays output until exit, cleans up. Returns the exit code.
fn run_once(
    store: &Store,
    rec: &ContainerRecord,
    ready: &mut Option<fs::File>,
    attached_stdin: Option<OwnedFd>,
) -> Result<i32, Failure> {
    let id = rec.id.as_str();
    let containers = Containers::new(store);
    let dir = paths::container_dir(store, id);
    let rootfs = dir.join("rootfs");
    // A `cp` into the stopped container mounts this upper dir too: wait until it is done.
    let fs_lock = super::copy::lock_fs(store, id)?;
    let _ = snapshot::unmount(&rootfs);
    let lowers = crate::engine::image::records::Images::new(store)
        .get(&rec.config.image)?
        .layers
        .iter()
        .rev()
        .map(|c| {
            Ok(store
                .paths
                .layer_diff(crate::engine::image::digest::parse_digest(c)?))
        })
        .collect::<Result<Vec<PathBuf>>>()?;
    snapshot::mount_overlay(
        &lowers,
        Some((&dir.join("upper"), &dir.join("work"))),
        &rootfs,
    )
    .map_err(|e| Error::Other(format!("mounting the container's root filesystem: {e}")))?;
    let mounted = MountGuard(rootfs.clone());
    drop(fs_lock);

    let cfg = &rec.config;
    let env_path = cfg
        .config
        .env
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .map(str::to_string);
    let cwd = cfg.config.working_dir.clone().unwrap_or_else(|| "/".into());
    if let Err(e) = lookup::lookup_executable(&rootfs, &cfg.path, env_path.as_deref(), &cwd) {
        return Err(Failure::BeforeStart {
            code: e.exit_code(),
            message: e.to_string(),
        });
    }
    super::mounts::copy_up(store, id, &rootfs, &cfg.mounts)?;
    let oci_mounts = super::mounts::to_oci(&cfg.mounts);
    let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
    let cg_path = container_path(id);
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, hard)| hard)
        .unwrap_or(1024);
    let mut body = cfg.config.clone();
    body.entrypoint = None;
    body.cmd = Some(
        std::iter::once(cfg.path.clone())
            .chain(cfg.args.iter().cloned())
            .collect(),
    );
    let etc = spec::EtcFiles {
        hostname: &dir.join("hostname"),
        hosts: &dir.join("hosts"),
        resolv_conf: &dir.join("resolv.conf"),
    };
    let netns = match cfg.host_config.network_mode.as_deref() {
        Some("host") => spec::NetNs::Host,
        _ => spec::NetNs::New,
    };
    let oci = spec::build_spec(&spec::SpecInput {
        id,
        config: &body,
        host_config: &cfg.host_config,
        rootfs: &rootfs,
        etc,
        mounts: &oci_mounts,
        cgroups_path: &cg_path,
        netns,
        nofile_hard_limit: nofile,
    })
    .map_err(|e| Error::invalid(e.to_string()))?;
    let bundle = paths::bundle_dir(store, id);
    let _ = crate::engine::store::tmp::remove_tree(&bundle);
    fs::create_dir_all(&bundle).ctx(|| format!("creating {}", bundle.display()))?;
    oci.save(bundle.join("config.json"))
        .map_err(|e| Error::Other(format!("writing the OCI spec: {e}")))?;

    let log_opts = log_options(&cfg.host_config)?;
    let mut log = LogWriter::open(&paths::log_path(store, id), log_opts)
        .map_err(|e| Error::Other(format!("opening the container log: {e}")))?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // Attached: the caller's stdin. `-i` without an attached client: a pipe we hold
    // open, so the program waits for input as under Docker. Otherwise /dev/null.
    let mut _stdin_writer: Option<OwnedFd> = None;
    let container_stdin: OwnedFd = match attached_stdin {
        Some(fd) => fd,
        None if cfg.config.open_stdin == Some(true) => {
            let (r, w) = pipe()?;
            _stdin_writer = Some(w);
            r
        }
        None => OwnedFd::from(fs::File::open("/dev/null").ctx(|| "opening /dev/null".to_string())?),
    };
    let lc_root = paths::libcontainer_root(store);
    fs::create_dir_all(&lc_root).ctx(|| format!("creating {}", lc_root.display()))?;
    // A previous run's state (crash, restart) would make the id "already exist".
    if let Ok(mut old) = libcontainer::container::Container::load(lc_root.join(id)) {
        let _ = old.delete(true);
    }
    let built = libcontainer::container::builder::ContainerBuilder::new(
        id.to_string(),
        libcontainer::syscall::syscall::SyscallType::default(),
    )
    .with_root_path(&lc_root)
    .map_err(|e| Error::Other(format!("runtime: {e}")))?
    .with_stdin(container_stdin)
    .with_stdout(out_w)
    .with_stderr(err_w)
    .as_init(&bundle)
    .with_systemd(false)
    .with_detach(true)
    .build();
    let mut container = match built {
        Ok(c) => c,
        Err(e) => {
            return Err(Failure::BeforeStart {
                code: 125,
                message: format!("failed to create the container: {e}"),
            })
        }
    };
    if let Err(e) = container.start() {
        let _ = container.delete(true);
        return Err(Failure::BeforeStart {
            code: 125,
            message: format!("failed to start the container: {e}"),
        });
    }
    let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);
    containers.update_state(id, |s| {
        s.status = "running".into();
        s.running = true;
        s.paused = false;
        s.restarting = false;
        s.oom_killed = false;
        s.dead = false;
        s.pid = pid as i64;
        s.exit_code = 0;
        s.error.clear();
        s.started_at = now();
        s.monitor_pid = std::process::id() as i64;
    })?;
    if let Ok(r) = containers.get(id) {
        super::container::emit(store, &r, "start", &[]);
    }
    report(ready, &Ready::Started);

    relay(&mut log, out_r, err_r);
    let code = wait_for(pid);
    let oom = cg.oom_killed(&cg_path).unwrap_or(false);
    let _ = container.delete(true);
    let _ = cg.remove(&cg_path);
    drop(mounted);
    containers.update_state(id, |s: &mut State| {
        s.status = "exited".into();
        s.running = false;
        s.paused = false;
        s.pid = 0;
        s.exit_code = code as i64;
        s.oom_killed = oom;
        s.finished_at = now();
    })?;
    if let Ok(r) = containers.get(id) {
        if oom {
            super::container::emit(store, &r, "oom", &[]);
        }
        super::container::emit(store, &r, "die", &[("exitCode", &code.to_string())]);
    }
    Ok(code)
}

fn log_options(hc: &bollard::models::HostConfig) -> Result<LogOptions> {
    let cfg = hc.log_config.clone().unwrap_or_default();
    match cfg.typ.as_deref() {
        None | Some("") | Some("json-file") => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "logging driver {other:?} is not supported: berth writes json-file logs"
            )))
        }
    }
    let opts = cfg.config.unwrap_or_default();
    LogOptions::parse(&opts).map_err(|e| Error::invalid(e.to_string()))
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("creating a pipe", e.into()))
}

/// Copies stdout/stderr into the log until both are closed (the container exited).
fn relay(log: &mut LogWriter, out: OwnedFd, err: OwnedFd) {
    let mut open = [Some(fs::File::from(out)), Some(fs::File::from(err))];
    let mut buf = vec![0u8; 64 * 1024];
    while open.iter().any(Option::is_some) {
        let mut fds: Vec<(usize, PollFd)> = Vec::new();
        for (i, f) in open.iter().enumerate() {
            if let Some(f) = f {
                // SAFETY-free: PollFd borrows the fd for the duration of the poll call.
                fds.push((
                    i,
                    PollFd::new(std::os::fd::AsFd::as_fd(f), PollFlags::POLLIN),
                ));
            }
        }
        let mut pfds: Vec<PollFd> = fds.iter().map(|(_, p)| p.clone()).collect();
        if poll(&mut pfds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<(usize, bool)> = fds
            .iter()
            .zip(&pfds)
            .map(|((i, _), p)| (*i, p.revents().is_some_and(|r| !r.is_empty())))
            .collect();
        drop(pfds);
        for (i, is_ready) in ready {
            if !is_ready {
                continue;
            }
            let stream = if i == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            let n = match open[i].as_mut().map(|f| f.read(&mut buf)) {
                Some(Ok(n)) => n,
                Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => 0,
            };
            if n == 0 {
                open[i] = None;
                let _ = log.flush_stream(stream);
            } else if let Err(e) = log.write(stream, &buf[..n]) {
                eprintln!("monitor: writing the log: {e}");
            }
        }
    }
}

/// Waits for the container's init and returns Docker's exit code (128+signal when killed).
fn wait_for(pid: i32) -> i32 {
    if pid <= 0 {
        return 255;
    }
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            // Not our child (should not happen as subreaper): poll for its end.
            Err(_) => {
                while Path::new(&format!("/proc/{pid}")).exists() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return 255;
            }
        }
    }
}

struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = snapshot::unmount(&self.0);
    }
}
