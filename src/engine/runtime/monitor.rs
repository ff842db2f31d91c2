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
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::snapshot;
use crate::engine::network;
use crate::engine::runtime::cgroups::{container_path, Cgroups};
use crate::engine::runtime::container::{ContainerRecord, Containers, State};
use crate::engine::runtime::logs::{LogOptions, LogWriter};
use crate::engine::runtime::relay::{self, ContainerIo, Hub};
use crate::engine::runtime::{attach, lookup, paths, spec};
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

/// The fd on which a spawned monitor finds its first attach client (see attach.rs).
pub const ATTACH_FD: RawFd = 4;

/// Spawns the monitor for `id` and waits until the container runs or failed to start.
/// `attach` (one end of an attach socket pair) is attached before the container starts,
/// so that client sees all of its output and is told its exit code.
pub fn spawn(store: &Store, id: &str, attach: Option<OwnedFd>) -> Result<Ready> {
    let args = ["__monitor", id];
    spawn_helper(store, id, &args, attach)
}

/// Starts a detaching helper (`__monitor`, `__exec`) for container `id` with `args`,
/// its stderr in the container's monitor.log, and waits for its first report.
pub fn spawn_helper(
    store: &Store,
    id: &str,
    args: &[&str],
    attach: Option<OwnedFd>,
) -> Result<Ready> {
    crate::engine::runtime::cgroups::prewarm_attach();
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("creating the monitor pipe", e.into()))?;
    // Moved above the fixed numbers; the originals close here (the pipe's reader must
    // see its end when the helper dies without a word).
    let wr = {
        let original = wr;
        above_fixed_fds(&original)?
    };
    let attach = attach.map(|a| above_fixed_fds(&a)).transpose()?;
    let mut all: Vec<&str> = args.to_vec();
    if attach.is_some() {
        all.push("--attach-fd");
    }
    let wr_fd = wr.as_raw_fd();
    let attach_fd = attach.as_ref().map(|f| f.as_raw_fd());
    let mut child = spawn_process(store, id, &all, move || {
        dup_to(wr_fd, READY_FD)?;
        if let Some(fd) = attach_fd {
            dup_to(fd, ATTACH_FD)?;
        }
        Ok(())
    })?;
    drop(wr);
    drop(attach);
    let ready = read_ready(rd);
    // The first fork exits at once after handing over to the detached grandchild.
    let _ = child.wait();
    Ok(ready.unwrap_or_else(|| Ready::decode("")))
}

/// Starts `id` through its standby monitor (see standby.rs) and waits for its report.
/// None when the standby did not take the start: spawn a new monitor instead.
pub fn start_standby(standby: &super::standby::Standby, attach: Option<&OwnedFd>) -> Option<Ready> {
    crate::engine::runtime::cgroups::prewarm_attach();
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    if !standby.hand_over(&wr, attach) {
        return None;
    }
    drop(wr);
    // Taken: a monitor that dies before its report failed this start (no second one).
    Some(read_ready(rd).unwrap_or_else(|| Ready::decode("")))
}

/// Execs `berth [--root R] ARGS` with stderr in the container's monitor.log; `fds` runs
/// between fork and exec to place inherited descriptors (async-signal-safe calls only).
pub(super) fn spawn_process(
    store: &Store,
    id: &str,
    args: &[&str],
    fds: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().ctx(|| "finding the berth executable".to_string())?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths::container_dir(store, id).join("monitor.log"))
        .ctx(|| format!("opening the monitor log of {id}"))?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(root) = &store.paths.root {
        cmd.arg("--root").arg(root);
    }
    // BERTH_ROOT would otherwise override the system defaults the spawner used.
    cmd.env_remove("BERTH_ROOT")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log);
    // SAFETY: `fds` only calls async-signal-safe functions (dup2), as its contract says.
    unsafe {
        cmd.pre_exec(fds);
    }
    cmd.spawn()
        .ctx(|| format!("starting berth {}", args.first().unwrap_or(&"")))
}

/// A close-on-exec copy of `fd` numbered above the fds a helper inherits at fixed
/// numbers (READY_FD, ATTACH_FD), so that placing one never overwrites another.
pub(super) fn above_fixed_fds(fd: &impl AsRawFd) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an fd we hold; the new fd is ours alone.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, ATTACH_FD + 1) };
    if copy < 0 {
        return Err(Error::io(
            "duplicating a descriptor for a helper",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fcntl just made this fd for us.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Makes `fd` available as `to` across the exec. When they are the same number, dup2
/// does nothing and the fd would keep its close-on-exec flag: clear it instead.
pub(super) fn dup_to(fd: RawFd, to: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 and fcntl are async-signal-safe; this runs between fork and exec.
    let rc = if fd == to {
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }
    } else {
        unsafe { libc::dup2(fd, to) }
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The helper's first report line; None when it closed the pipe without one.
fn read_ready(rd: OwnedFd) -> Option<Ready> {
    let mut f = fs::File::from(rd);
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
    (!line.is_empty()).then(|| Ready::decode(&String::from_utf8_lossy(&line)))
}

/// Tells the spawner the outcome of the first start; later restarts report nothing.
pub fn report(ready: &mut Option<fs::File>, r: &Ready) {
    if let Some(mut f) = ready.take() {
        let _ = f.write_all(r.encode().as_bytes());
    }
}

/// What a helper spawned by [`spawn_helper`] starts with after detaching.
pub struct Detached {
    pub ready: Option<fs::File>,
    pub first_client: Option<UnixStream>,
}

/// The start of every helper: fork (the spawner's child exits at once), setsid, ignore
/// SIGPIPE, pick up the ready pipe and the first attach client. None in the exiting
/// parent. Must run while the process is single-threaded.
pub fn detach(attach_fd: bool) -> Option<Detached> {
    // SAFETY: fork in a process that is still single-threaded (nothing started yet).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return None,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("berth helper: fork: {e}");
            return None;
        }
    }
    let _ = nix::unistd::setsid();
    // A spawner that stopped listening must not kill us with SIGPIPE.
    // SAFETY: setting a signal disposition to ignore.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // SAFETY: READY_FD was dup2'd for us by the spawner and is ours alone.
    let ready = Some(unsafe { fs::File::from_raw_fd(READY_FD) });
    let first_client = attach_fd.then(|| {
        // SAFETY: ATTACH_FD was dup2'd for us by the spawner and is ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(ATTACH_FD) };
        // Not inherited by the container.
        // SAFETY: fcntl on an fd we own.
        unsafe { libc::fcntl(ATTACH_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
        UnixStream::from(fd)
    });
    Some(Detached {
        ready,
        first_client,
    })
}

/// Entry point of `__monitor`. With `standby`, READY_FD is a control socket on which
/// the start comes later (see standby.rs). Returns the process exit code.
pub fn main(root: Option<&Path>, id: &str, attach_fd: bool, standby: bool) -> i32 {
    // The first child returns to the spawner at once; the grandchild, in its own
    // session, owns the container. Done before opening anything (SQLite, files).
    let Some(Detached {
        mut ready,
        mut first_client,
    }) = detach(attach_fd && !standby)
    else {
        return 0;
    };
    let store = Store::open(root);
    if standby {
        let Some(control) = ready.take().map(|f| UnixStream::from(OwnedFd::from(f))) else {
            return 1;
        };
        // The first query of a connection reads the schema: done while we wait.
        if let Ok(s) = &store {
            let _ = Containers::new(s).get(id);
        }
        let Some((pipe, client)) = super::standby::wait_for_start(&control) else {
            return 0;
        };
        ready = Some(fs::File::from(pipe));
        first_client = client.map(UnixStream::from);
    }
    let store = match store {
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
    // Relative socket paths (the console socket) are bound in the container's dir, and
    // the spawner's cwd may vanish while we run.
    let _ = std::env::set_current_dir(paths::container_dir(&store, id));
    match run(&store, id, &mut ready, first_client) {
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
    first_client: Option<UnixStream>,
) -> Result<()> {
    // Reparented container processes come to us, so we can wait for the init.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let containers = Containers::new(store);
    let mut hub = Hub::new(attach::listen(id).ok());
    if let Some(c) = first_client {
        hub.add(c);
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        let rec = containers.get(id)?;
        let started = Instant::now();
        let outcome = run_once(store, &rec, ready, &mut hub);
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
                hub.finish(code);
                return Ok(());
            }
        };
        let rec = containers.get(id)?;
        let auto_remove = rec.config.host_config.auto_remove == Some(true);
        // Attached clients learn the exit once it is recorded (and, with --rm, once the
        // container is gone), so whatever they run next sees the final state.
        if !auto_remove || should_restart(&rec, code) {
            hub.finish(code);
        }
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
        if auto_remove {
            // The files go after the clients are told: the record is gone by then, so
            // nothing can see the dir any more.
            let removed = super::lifecycle::set_files_aside(store, id).and_then(|aside| {
                containers.delete(id)?;
                super::container::emit(store, &rec, "destroy", &[]);
                super::lifecycle::remove_anonymous_volumes(store, &rec)?;
                Ok(aside)
            });
            hub.finish(code);
            drop(removed?);
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
    hub: &mut Hub,
) -> Result<i32, Failure> {
    let id = rec.id.as_str();
    let containers = Containers::new(store);
    let dir = paths::container_dir(store, id);
    let rootfs = dir.join("rootfs");
    // Networking: addresses, links and the /etc files first; interfaces once the
    // container's namespace exists. The lease returns the addresses however we leave.
    let mode = network::mode_of(rec.config.host_config.network_mode.as_deref());
    let (netns, etc_dir) = match &mode {
        network::Mode::Host => (spec::NetNs::Host, dir.clone()),
        network::Mode::Container(target) => {
            let t = containers.get(target).map_err(|_| Failure::BeforeStart {
                code: 125,
                message: format!("cannot join network of container {target}: it no longer exists"),
            })?;
            if !t.state.running || t.state.pid <= 0 {
                return Err(Failure::BeforeStart {
                    code: 125,
                    message: format!(
                        "cannot join network namespace of a non running container: {}",
                        t.name
                    ),
                });
            }
            (
                spec::NetNs::Path(PathBuf::from(format!("/proc/{}/ns/net", t.state.pid))),
                paths::container_dir(store, &t.id),
            )
        }
        network::Mode::None | network::Mode::Bridge => (spec::NetNs::New, dir.clone()),
    };
    // The container's own namespace is made here, not by the runtime, so that its
    // interfaces are wired while the rootfs is mounted and the bundle written (see
    // Wiring). The init joins it through our fd.
    let made_netns = match netns {
        spec::NetNs::New => Some(network::setup::new_namespace()?),
        _ => None,
    };
    let netns = match &made_netns {
        Some(ns) => spec::NetNs::Made(PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            ns.as_raw_fd()
        ))),
        None => netns,
    };
    let mut lease = NetLease {
        store,
        id,
        publishes: false,
    };
    let mut prepared = network::setup::prepare(store, rec, &dir)?;
    let link_env = std::mem::take(&mut prepared.link_env);
    let wiring = match &made_netns {
        Some(ns) => Some(Wiring::spawn(rec.clone(), prepared, ns)?),
        None => None,
    };
    // A `cp` into the stopped container mounts this upper dir too: wait until it is done.
    let fs_lock = super::copy::lock_fs(store, id)?;
    let _ = snapshot::unmount(&rootfs);
    let lowers = super::fsops::container_lowers(store, rec)?;
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    // A --rm container's changes are thrown away: skip the sync its unmount would do.
    let mounted = if rec.config.host_config.auto_remove == Some(true) {
        snapshot::mount_overlay_volatile(&lowers, &upper, &work, &rootfs)
            .or_else(|_| snapshot::mount_overlay(&lowers, Some((&upper, &work)), &rootfs))
    } else {
        snapshot::mount_overlay(&lowers, Some((&upper, &work)), &rootfs)
    };
    mounted.map_err(|e| Error::Other(format!("mounting the container's root filesystem: {e}")))?;
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
    let _volumes = ActiveVolumes::mount(store, id, &cfg.mounts)?;
    super::mounts::copy_up(store, id, &rootfs, &cfg.mounts)?;
    let mut oci_mounts = super::mounts::to_oci(&cfg.mounts);
    let mut argv: Vec<String> = std::iter::once(cfg.path.clone())
        .chain(cfg.args.iter().cloned())
        .collect();
    if cfg.host_config.init == Some(true) {
        // Docker's --init: a tiny init as PID 1 that reaps zombies and forwards signals.
        let init = lookup::host_init_binary()
            .map_err(|message| Failure::BeforeStart { code: 125, message })?;
        oci_mounts.push(spec::ResolvedMount {
            source: init,
            destination: lookup::INIT_PATH_IN_CONTAINER.into(),
            read_only: true,
            kind: spec::MountKind::Bind { propagation: None },
        });
        argv.splice(
            0..0,
            [lookup::INIT_PATH_IN_CONTAINER.to_string(), "--".into()],
        );
    }
    let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
    let cg_path = container_path(id);
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, hard)| hard)
        .unwrap_or(1024);
    let mut body = cfg.config.clone();
    body.entrypoint = None;
    body.cmd = Some(argv);
    if !link_env.is_empty() {
        body.env.get_or_insert_with(Vec::new).extend(link_env);
    }
    let etc = spec::EtcFiles {
        hostname: &etc_dir.join("hostname"),
        hosts: &etc_dir.join("hosts"),
        resolv_conf: &etc_dir.join("resolv.conf"),
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
    let tty = cfg.config.tty == Some(true);
    let open_stdin = cfg.config.open_stdin == Some(true);
    // Without a terminal: pipes for the three streams (stdin only with -i: else
    // /dev/null). With one, the pty's slave is all three and its master comes back to
    // us over the console socket once the container's init made it.
    let mut pipes = None;
    let mut console = None;
    if tty {
        let sock = dir.join("console.sock");
        let _ = fs::remove_file(&sock);
        // Bound by its relative name (our cwd is the container's dir): socket paths are
        // limited to 108 bytes, the absolute one may be longer.
        let listener = std::os::unix::net::UnixListener::bind("console.sock")
            .ctx(|| format!("creating the console socket {}", sock.display()))?;
        console = Some((listener, sock));
    } else {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (in_r, in_w) = if open_stdin {
            let (r, w) = pipe()?;
            (r, Some(w))
        } else {
            let null = fs::File::open("/dev/null").ctx(|| "opening /dev/null".to_string())?;
            (OwnedFd::from(null), None)
        };
        pipes = Some(((in_r, out_w, err_w), (out_r, err_r, in_w)));
    }
    let lc_root = paths::libcontainer_root(store);
    fs::create_dir_all(&lc_root).ctx(|| format!("creating {}", lc_root.display()))?;
    // A previous run's state (crash, restart) would make the id "already exist".
    if let Ok(mut old) = libcontainer::container::Container::load(lc_root.join(id)) {
        let _ = old.delete(true);
    }
    let mut builder = libcontainer::container::builder::ContainerBuilder::new(
        id.to_string(),
        libcontainer::syscall::syscall::SyscallType::default(),
    )
    .with_root_path(&lc_root)
    .map_err(|e| Error::Other(format!("runtime: {e}")))?
    .with_console_socket(console.as_ref().map(|(_, p)| p.clone()));
    let mut ours = None;
    if let Some(((stdin, stdout, stderr), keep)) = pipes {
        builder = builder
            .with_stdin(stdin)
            .with_stdout(stdout)
            .with_stderr(stderr);
        ours = Some(keep);
    }
    let mut wired = match wiring.map(Wiring::join) {
        Some(Ok(w)) => Some(w),
        Some(Err(e)) => {
            return Err(Failure::BeforeStart {
                code: 125,
                message: e.to_string(),
            })
        }
        None => None,
    };
    let built = builder
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
    let io = match (ours, console) {
        (Some((out_r, err_r, in_w)), _) => ContainerIo {
            stdout: out_r,
            stderr: Some(err_r),
            stdin: in_w,
            tty: false,
            stdin_once: cfg.config.stdin_once == Some(true),
        },
        (None, Some((listener, sock))) => {
            let master = receive_pty_master(&listener);
            let _ = fs::remove_file(&sock);
            let master = match master {
                Ok(m) => m,
                Err(e) => {
                    let _ = container.delete(true);
                    return Err(Failure::BeforeStart {
                        code: 125,
                        message: format!("failed to set up the container's terminal: {e}"),
                    });
                }
            };
            if let Some(&[h, w]) = cfg.host_config.console_size.as_deref() {
                if let (Ok(h @ 1..), Ok(w @ 1..)) = (u16::try_from(h), u16::try_from(w)) {
                    relay::set_winsize(&master, h, w);
                }
            }
            let stdin = if open_stdin {
                Some(
                    master
                        .try_clone()
                        .ctx(|| "duplicating the terminal".to_string())?,
                )
            } else {
                None
            };
            ContainerIo {
                stdout: master,
                stderr: None,
                stdin,
                tty: true,
                stdin_once: false,
            }
        }
        (None, None) => {
            let _ = container.delete(true);
            return Err(Failure::BeforeStart {
                code: 125,
                message: "the container's stdio was not set up".into(),
            });
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
        s.network = wired
            .as_ref()
            .map(|w| w.runtime.clone())
            .unwrap_or_default();
    })?;
    if let Some(w) = wired.as_ref().filter(|w| w.publishes()) {
        // The DNAT rules exist before anyone is told the container runs.
        lease.publishes = true;
        if let Err(e) = network::setup::publish_ports(store, &w.runtime) {
            eprintln!("monitor: publishing ports: {e}");
        }
    }
    if let Ok(r) = containers.get(id) {
        super::container::emit(store, &r, "start", &[]);
    }
    report(ready, &Ready::Started);

    let mut dns = wired
        .as_mut()
        .and_then(|w| w.dns.take())
        .map(|server| DnsService {
            server,
            records: network::setup::StoreRecords {
                store,
                container_id: id.to_string(),
            },
            pidfd: pidfd_open(pid),
            exited: false,
        });
    relay::run(
        Some(&mut log),
        io,
        hub,
        dns.as_mut().map(|d| d as &mut dyn relay::Service),
    );
    drop(dns);
    drop(wired);
    let code = wait_for(pid);
    let oom = cg.oom_killed(&cg_path).unwrap_or(false);
    // What libcontainer's delete would still do for a stopped container (remove the
    // cgroup and its state dir), without its mountinfo parsing per controller. Killing
    // what is left in the cgroup matters with `--pid host`, as runc does it too.
    let _ = cg.remove_with(&cg_path, true);
    let _ = crate::engine::store::tmp::remove_tree(&lc_root.join(id));
    drop(container);
    drop(mounted);
    // The events go first: whoever waits for the state change (`stop`, `restart`)
    // records its own event after ours, in Docker's order (die, then stop).
    if let Ok(r) = containers.get(id) {
        if oom {
            super::container::emit(store, &r, "oom", &[]);
        }
        super::container::emit(store, &r, "die", &[("exitCode", &code.to_string())]);
    }
    containers.update_state(id, |s: &mut State| {
        s.status = "exited".into();
        s.running = false;
        s.paused = false;
        s.pid = 0;
        s.exit_code = code as i64;
        s.oom_killed = oom;
        s.finished_at = now();
        s.network = Default::default();
    })?;
    drop(lease);
    Ok(code)
}

/// A starting container's network wiring (interfaces, addresses, routes, published
/// ports, the DNS socket), on a thread while the monitor mounts the rootfs and writes
/// the bundle. It is joined before libcontainer forks the init: a fork copies the locks
/// other threads hold as held, and the init applies sysctls that may name eth0. Dropped
/// unjoined (an early return), it joins then, so no later fork meets it running.
struct Wiring(Option<std::thread::JoinHandle<Result<network::setup::Wired>>>);

impl Wiring {
    fn spawn(
        rec: ContainerRecord,
        prepared: network::setup::Prepared,
        ns: &fs::File,
    ) -> Result<Wiring> {
        let ns = ns
            .try_clone()
            .ctx(|| "duplicating the network namespace".to_string())?;
        let handle = std::thread::Builder::new()
            .name("wiring".into())
            .spawn(move || network::setup::wire(&rec, &prepared, &ns))
            .ctx(|| "starting the network setup".to_string())?;
        Ok(Wiring(Some(handle)))
    }

    fn join(mut self) -> Result<network::setup::Wired> {
        match self.0.take().map(|h| h.join()) {
            Some(Ok(wired)) => wired,
            _ => Err(Error::Other(
                "setting up the container's network failed".into(),
            )),
        }
    }
}

impl Drop for Wiring {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// Returns a run's addresses (and, when it published ports, its DNAT rules) however
/// the run ends.
struct NetLease<'a> {
    store: &'a Store,
    id: &'a str,
    publishes: bool,
}

impl Drop for NetLease<'_> {
    fn drop(&mut self) {
        network::setup::release(self.store, self.id, self.publishes);
    }
}

/// The embedded DNS server inside the monitor's loop; it keeps the loop going until
/// the container's init exits even if the container closed its output early.
struct DnsService<'a> {
    server: network::dns::Server,
    records: network::setup::StoreRecords<'a>,
    pidfd: Option<OwnedFd>,
    exited: bool,
}

impl relay::Service for DnsService<'_> {
    fn fds(&self) -> Vec<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        let mut v = vec![self.server.listen.as_fd(), self.server.upstream.as_fd()];
        if let Some(p) = &self.pidfd {
            v.push(p.as_fd());
        }
        v
    }

    fn on_ready(&mut self, ready: &[bool]) {
        if ready.first() == Some(&true) {
            self.server.on_query(&self.records);
        }
        if ready.get(1) == Some(&true) {
            self.server.on_answer();
        }
        if ready.get(2) == Some(&true) {
            self.exited = true;
        }
    }

    fn keep_alive(&self) -> bool {
        self.pidfd.is_some() && !self.exited
    }
}

/// A pidfd for `pid` (readable once it exits).
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this fd.
    Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
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

/// Receives the pty master the container's init sends over the console socket.
fn receive_pty_master(listener: &std::os::unix::net::UnixListener) -> Result<OwnedFd> {
    let (conn, _) = listener
        .accept()
        .ctx(|| "accepting on the console socket".to_string())?;
    super::relay::receive_fd(&conn)
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

/// Volumes made with `type`/`device` options, mounted for this run and unmounted when
/// it ends (unless another running container still uses them).
struct ActiveVolumes<'a> {
    store: &'a Store,
    id: String,
    names: Vec<String>,
}

impl<'a> ActiveVolumes<'a> {
    fn mount(
        store: &'a Store,
        id: &str,
        mounts: &[super::mounts::MountPoint],
    ) -> Result<ActiveVolumes<'a>> {
        let mut active = ActiveVolumes {
            store,
            id: id.to_string(),
            names: Vec::new(),
        };
        let vols = crate::engine::volume::Volumes::new(store);
        for m in mounts.iter().filter(|m| m.kind == "volume") {
            vols.activate(&m.name)?;
            active.names.push(m.name.clone());
        }
        Ok(active)
    }
}

impl Drop for ActiveVolumes<'_> {
    fn drop(&mut self) {
        let vols = crate::engine::volume::Volumes::new(self.store);
        for n in &self.names {
            if let Err(e) = vols.deactivate(n, &self.id) {
                eprintln!("monitor {}: {e}", self.id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_fds_are_moved_above_the_fixed_numbers() {
        let (rd, _wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let copy = above_fixed_fds(&rd).expect("copy");
        assert!(copy.as_raw_fd() > ATTACH_FD, "{}", copy.as_raw_fd());
        // SAFETY: F_GETFD on an fd we own.
        let flags = unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(
            flags & libc::FD_CLOEXEC,
            libc::FD_CLOEXEC,
            "not inherited by others"
        );
    }

    #[test]
    fn an_fd_already_at_its_number_loses_close_on_exec() {
        let (rd, _wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        dup_to(rd.as_raw_fd(), rd.as_raw_fd()).expect("dup_to");
        // SAFETY: F_GETFD on an fd we own.
        let flags = unsafe { libc::fcntl(rd.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, 0, "kept across the exec");
    }
}
