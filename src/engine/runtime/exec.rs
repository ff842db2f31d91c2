//! `exec`: a new process in a running container, through `berth __exec` (a short-lived,
//! single-threaded helper spawned like the monitor).
//!
//! berth joins the container itself rather than through libcontainer's tenant builder,
//! which drops the container's seccomp profile for exec'd processes. The helper forks a
//! child that joins the container's cgroup and namespaces and forks the process (so it is
//! inside the pid namespace), which takes the container's user, capabilities, rlimits,
//! no-new-privileges and seccomp filter, and execs. The helper relays the process's
//! stdio (pipes, or a pty made inside the container) to attach clients with the same
//! protocol as the monitor, and reports the exit code.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxCapabilitiesBuilder, Spec};
use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, Result};
use crate::engine::runtime::cgroups::{container_path, Cgroups};
use crate::engine::runtime::container::{ContainerRecord, Containers};
use crate::engine::runtime::monitor::{self, Detached, Ready};
use crate::engine::runtime::relay::{self, ContainerIo, Hub};
use crate::engine::runtime::{lookup, paths, spec};
use crate::engine::store::Store;

/// What to run (Docker's ExecConfig, the parts that apply).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecConfig {
    pub cmd: Vec<String>,
    /// KEY=VALUE entries added to (or replacing those of) the container's environment.
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub privileged: bool,
}

/// Starts an exec session. With `attach`, that client gets the process's output and its
/// exit code; without, the process runs detached (`exec -d`).
pub fn start(
    store: &Store,
    rec: &ContainerRecord,
    cfg: &ExecConfig,
    attach: Option<OwnedFd>,
) -> Result<std::result::Result<(), super::lifecycle::StartError>> {
    check_running(rec)?;
    if cfg.cmd.is_empty() {
        return Err(Error::invalid("no command specified"));
    }
    let json = serde_json::to_string(cfg)
        .map_err(|e| Error::Other(format!("encoding the exec config: {e}")))?;
    let args = ["__exec", rec.id.as_str(), json.as_str()];
    match monitor::spawn_helper(store, &rec.id, &args, attach)? {
        Ready::Started => Ok(Ok(())),
        Ready::Failed { code, message } => Ok(Err(super::lifecycle::StartError { code, message })),
    }
}

fn check_running(rec: &ContainerRecord) -> Result<()> {
    if !rec.state.running || rec.state.restarting {
        return Err(Error::conflict(format!(
            "container {} is not running",
            rec.id
        )));
    }
    if rec.state.paused {
        return Err(Error::conflict(format!(
            "Container {} is paused, unpause the container before exec",
            rec.id
        )));
    }
    Ok(())
}

/// Everything the forked children need, computed before forking.
struct Plan {
    init_pid: i32,
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: String,
    path_env: Option<String>,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    caps: Option<LinuxCapabilities>,
    no_new_privileges: bool,
    seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    rlimits: Vec<oci_spec::runtime::PosixRlimit>,
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{s:?} contains a NUL byte")))
}

fn plan(store: &Store, rec: &ContainerRecord, cfg: &ExecConfig) -> Result<Plan> {
    let bundle = paths::bundle_dir(store, &rec.id);
    let spec = Spec::load(bundle.join("config.json"))
        .map_err(|e| Error::Other(format!("reading the container's spec: {e}")))?;
    let process = spec.process().clone().unwrap_or_default();
    // The container's environment, then the exec's: a repeated key takes the later value.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    // A bare KEY (unset in the caller's environment) leaves the variable alone.
    for e in process.env().iter().flatten().chain(cfg.env.iter()) {
        let Some((k, v)) = e.split_once('=') else {
            continue;
        };
        if env.insert(k.to_string(), v.to_string()).is_none() {
            order.push(k.to_string());
        }
    }
    if cfg.tty && !env.contains_key("TERM") {
        env.insert("TERM".into(), "xterm".into());
        order.push("TERM".into());
    }
    let path_env = env.get("PATH").cloned();
    let env = order
        .iter()
        .map(|k| cstring(&format!("{k}={}", env[k])))
        .collect::<Result<Vec<_>>>()?;
    let rootfs = paths::container_dir(store, &rec.id).join("rootfs");
    let user = cfg
        .user
        .clone()
        .or_else(|| rec.config.config.user.clone())
        .unwrap_or_default();
    let group_add = rec.config.host_config.group_add.clone().unwrap_or_default();
    let (uid, gid, groups) = spec::resolve_user(&rootfs, &user, &group_add)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let cwd = match cfg.working_dir.as_deref() {
        Some(w) if !w.is_empty() => {
            if !w.starts_with('/') {
                return Err(Error::invalid(format!(
                    "the working directory '{w}' is invalid, it needs to be an absolute path"
                )));
            }
            w.to_string()
        }
        _ => process.cwd().to_string_lossy().into_owned(),
    };
    let (caps, seccomp) = if cfg.privileged {
        (Some(all_capabilities()), None)
    } else {
        (
            process.capabilities().clone(),
            spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
        )
    };
    Ok(Plan {
        init_pid: rec.state.pid as i32,
        argv: cfg
            .cmd
            .iter()
            .map(|a| cstring(a))
            .collect::<Result<Vec<_>>>()?,
        env,
        cwd,
        path_env,
        uid,
        gid,
        groups,
        caps,
        no_new_privileges: process.no_new_privileges() == Some(true),
        seccomp,
        rlimits: process.rlimits().clone().unwrap_or_default(),
    })
}

fn all_capabilities() -> LinuxCapabilities {
    let all: std::collections::HashSet<Capability> = spec::ALL_CAPS
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    LinuxCapabilitiesBuilder::default()
        .bounding(all.clone())
        .effective(all.clone())
        .permitted(all.clone())
        .inheritable(all)
        .build()
        .unwrap_or_default()
}

/// Entry point of `__exec`. Returns the helper's exit code.
pub fn main(root: Option<&Path>, id: &str, cfg_json: &str, attach_fd: bool) -> i32 {
    let Some(Detached {
        mut ready,
        first_client,
    }) = monitor::detach(attach_fd)
    else {
        return 0;
    };
    let fail = |ready: &mut Option<File>, code: i32, message: String| {
        monitor::report(ready, &Ready::Failed { code, message });
        1
    };
    let store = match Store::open(root) {
        Ok(s) => s,
        Err(e) => return fail(&mut ready, 125, e.to_string()),
    };
    let cfg: ExecConfig = match serde_json::from_str(cfg_json) {
        Ok(c) => c,
        Err(e) => return fail(&mut ready, 125, format!("bad exec config: {e}")),
    };
    let rec = match Containers::new(&store).get(id) {
        Ok(r) => r,
        Err(e) => return fail(&mut ready, 125, e.to_string()),
    };
    let plan = match check_running(&rec).and_then(|()| plan(&store, &rec, &cfg)) {
        Ok(p) => p,
        Err(e) => return fail(&mut ready, 126, e.to_string()),
    };
    match run(&store, &rec, &cfg, plan, &mut ready, first_client) {
        Ok(()) => 0,
        Err(e) => fail(&mut ready, 126, e.to_string()),
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("creating a pipe", e.into()))
}

/// The process's stdio as the children see it, and the helper's ends.
struct Stdio {
    child: Option<[OwnedFd; 3]>,
    ours: Option<ContainerIo>,
    /// The pty master comes over this socket from the process's side.
    pty_socket: Option<(UnixStream, UnixStream)>,
}

fn stdio(cfg: &ExecConfig) -> Result<Stdio> {
    if cfg.tty {
        let pair = UnixStream::pair().map_err(|e| Error::io("creating a socket pair", e))?;
        return Ok(Stdio {
            child: None,
            ours: None,
            pty_socket: Some(pair),
        });
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (in_r, in_w) = if cfg.stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        let null = File::open("/dev/null").map_err(|e| Error::io("opening /dev/null", e))?;
        (OwnedFd::from(null), None)
    };
    Ok(Stdio {
        child: Some([in_r, out_w, err_w]),
        ours: Some(ContainerIo {
            stdout: out_r,
            stderr: Some(err_r),
            stdin: in_w,
            tty: false,
            // Docker closes an exec's stdin when the attached client's ends.
            stdin_once: true,
        }),
        pty_socket: None,
    })
}

fn run(
    store: &Store,
    rec: &ContainerRecord,
    cfg: &ExecConfig,
    plan: Plan,
    ready: &mut Option<File>,
    first_client: Option<UnixStream>,
) -> Result<()> {
    // Namespaces are opened before forking: the container's init must still be there.
    let mut ns = Vec::new();
    for name in ["ipc", "uts", "net", "pid", "cgroup", "mnt"] {
        let p = format!("/proc/{}/ns/{name}", plan.init_pid);
        match File::open(&p) {
            Ok(f) => ns.push(OwnedFd::from(f)),
            // Kernels without cgroup namespaces: nothing to join.
            Err(e) if name == "cgroup" && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("opening {p}"), e)),
        }
    }
    let io = stdio(cfg)?;
    let (go_r, go_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // SAFETY: this helper is single-threaded; the child only does setns/fork/exec work.
    let waiter = match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            // Only the process's ends stay open here: a stdin writer left in this
            // long-lived process would keep the process from ever seeing EOF.
            drop(go_w);
            drop(err_r);
            drop(io.ours);
            let pty_end = io.pty_socket.map(|(ours, theirs)| {
                drop(ours);
                OwnedFd::from(theirs)
            });
            let code = waiter_main(&plan, &ns, go_r, err_w, io.child, pty_end);
            // SAFETY: leaving the forked child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => return Err(Error::io("forking the exec process", e.into())),
    };
    drop(go_r);
    drop(err_w);
    drop(ns);
    let Stdio {
        child,
        ours,
        pty_socket,
    } = io;
    drop(child);
    let pty_socket = pty_socket.map(|(ours, theirs)| {
        drop(theirs);
        ours
    });
    // Into the container's cgroup before anything runs there.
    if let Ok(cg) = Cgroups::detect() {
        if let Err(e) = cg.add_process(&container_path(&rec.id), waiter.as_raw()) {
            let _ = nix::sys::signal::kill(waiter, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(waiter, None);
            return Err(Error::Other(format!("joining the container's cgroup: {e}")));
        }
    }
    let mut go = File::from(go_w);
    let _ = go.write_all(b"g");
    drop(go);
    let io = match (ours, pty_socket) {
        (Some(io), _) => io,
        (None, Some(sock)) => {
            let master = relay::receive_fd(&sock);
            let stdin = match (&master, cfg.stdin) {
                (Ok(m), true) => m.try_clone().ok(),
                _ => None,
            };
            match master {
                Ok(m) => ContainerIo {
                    stdout: m,
                    stderr: None,
                    stdin,
                    tty: true,
                    stdin_once: false,
                },
                // The process failed before making its terminal: its error explains.
                Err(_) => return report_failure(ready, err_r, waiter),
            }
        }
        (None, None) => return Err(Error::Other("exec: no stdio was set up".into())),
    };
    // The error pipe closes on a successful exec (close-on-exec); bytes mean failure.
    let mut err = String::new();
    let _ = File::from(err_r).read_to_string(&mut err);
    if !err.is_empty() {
        let code = wait_exit(waiter);
        let (c, msg) = err.split_once(' ').unwrap_or(("126", err.as_str()));
        let code = c.parse().unwrap_or(if code == 0 { 126 } else { code });
        monitor::report(
            ready,
            &Ready::Failed {
                code,
                message: msg.to_string(),
            },
        );
        return Ok(());
    }
    let cmd = cfg.cmd.join(" ");
    super::container::emit(store, rec, "exec_start", &[("execID", &cmd)]);
    monitor::report(ready, &Ready::Started);
    let mut hub = Hub::new(None);
    if let Some(c) = first_client {
        hub.add(c);
    }
    relay::run(None, io, &mut hub, None);
    let code = wait_exit(waiter);
    hub.finish(code);
    super::container::emit(store, rec, "exec_die", &[("exitCode", &code.to_string())]);
    Ok(())
}

fn report_failure(ready: &mut Option<File>, err_r: OwnedFd, waiter: Pid) -> Result<()> {
    let mut err = String::new();
    let _ = File::from(err_r).read_to_string(&mut err);
    let code = wait_exit(waiter);
    let (c, msg) = err.split_once(' ').unwrap_or(("126", err.as_str()));
    monitor::report(
        ready,
        &Ready::Failed {
            code: c.parse().unwrap_or(if code == 0 { 126 } else { code }),
            message: if msg.is_empty() {
                "the exec process failed before it started".into()
            } else {
                msg.to_string()
            },
        },
    );
    Ok(())
}

/// Docker's exit code of a waited-for process: its code, or 128 + the signal.
fn wait_exit(pid: Pid) -> i32 {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 255,
        }
    }
}

/// Writes "code message" to the error pipe and returns the code.
fn child_fail(err: &mut File, code: i32, msg: &str) -> i32 {
    let _ = err.write_all(format!("{code} {msg}").as_bytes());
    code
}

/// The first child: waits for its cgroup, joins the namespaces, forks the process (so
/// it is inside the pid namespace) and mirrors its exit status.
fn waiter_main(
    plan: &Plan,
    ns: &[OwnedFd],
    go: OwnedFd,
    err_w: OwnedFd,
    stdio: Option<[OwnedFd; 3]>,
    pty_end: Option<OwnedFd>,
) -> i32 {
    let mut err = File::from(err_w);
    let mut byte = [0u8; 1];
    if File::from(go).read(&mut byte).ok() != Some(1) {
        return child_fail(&mut err, 126, "the exec helper went away");
    }
    for fd in ns {
        if let Err(e) = nix::sched::setns(fd, nix::sched::CloneFlags::empty()) {
            return child_fail(&mut err, 126, &format!("joining the container: setns: {e}"));
        }
    }
    // SAFETY: single-threaded; the child sets up and execs.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            let code = process_main(
                plan,
                &mut err,
                stdio,
                pty_end.as_ref().map(|f| f.as_raw_fd()),
            );
            // SAFETY: exec failed; leave without destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            drop(err);
            drop(stdio);
            drop(pty_end);
            wait_exit(child)
        }
        Err(e) => child_fail(&mut err, 126, &format!("fork: {e}")),
    }
}

/// The exec'd process, inside the container's namespaces: stdio, credentials,
/// capabilities, seccomp, exec. Returns only on failure (the exit code).
fn process_main(
    plan: &Plan,
    err: &mut File,
    stdio: Option<[OwnedFd; 3]>,
    pty_end: Option<RawFd>,
) -> i32 {
    let fds: [RawFd; 3] = match (&stdio, pty_end) {
        (Some(s), _) => [s[0].as_raw_fd(), s[1].as_raw_fd(), s[2].as_raw_fd()],
        (None, Some(sock)) => match make_pty(sock) {
            Ok(slave) => [slave; 3],
            Err(e) => return child_fail(err, 126, &format!("creating a terminal: {e}")),
        },
        (None, None) => return child_fail(err, 126, "no stdio"),
    };
    for (target, fd) in fds.iter().enumerate() {
        // SAFETY: dup2 onto 0..2 of this process.
        if unsafe { libc::dup2(*fd, target as i32) } < 0 {
            return child_fail(err, 126, "setting up stdio");
        }
    }
    let exe = match lookup::lookup_executable(
        Path::new("/"),
        plan.argv[0].to_str().unwrap_or(""),
        plan.path_env.as_deref(),
        &plan.cwd,
    ) {
        Ok(p) => p,
        Err(e) => {
            return child_fail(
                err,
                e.exit_code(),
                &format!("OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"),
            )
        }
    };
    let Ok(exe) = CString::new(exe) else {
        return child_fail(err, 126, "bad executable path");
    };
    let syscall = libcontainer::syscall::syscall::create_syscall();
    for rl in &plan.rlimits {
        if let Err(e) = syscall.set_rlimit(rl) {
            return child_fail(err, 126, &format!("setting rlimits: {e}"));
        }
    }
    if plan.no_new_privileges {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    let gids: Vec<nix::unistd::Gid> = plan
        .groups
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    if let Err(e) = nix::unistd::setgroups(&gids) {
        return child_fail(err, 126, &format!("setgroups: {e}"));
    }
    // Keep the permitted capabilities across the uid change; the effective ones are
    // restored from them below, then dropped to the container's set.
    // SAFETY: prctl and set*id with integer arguments, in a single-threaded process.
    let ok = unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0
            && libc::setresgid(plan.gid, plan.gid, plan.gid) == 0
            && libc::setresuid(plan.uid, plan.uid, plan.uid) == 0
    };
    if !ok {
        return child_fail(
            err,
            126,
            &format!("setting the user: {}", std::io::Error::last_os_error()),
        );
    }
    if let Err(e) = libcontainer::capabilities::reset_effective(syscall.as_ref()) {
        return child_fail(err, 126, &format!("capabilities: {e}"));
    }
    // Without no-new-privileges, loading the filter needs CAP_SYS_ADMIN, so it goes
    // before the capabilities are dropped (as in libcontainer's init).
    if !plan.no_new_privileges {
        if let Some(s) = &plan.seccomp {
            if let Err(e) = libcontainer::seccomp::initialize_seccomp(s) {
                return child_fail(err, 126, &format!("loading the seccomp profile: {e}"));
            }
        }
    }
    if let Some(caps) = &plan.caps {
        if let Err(e) = libcontainer::capabilities::drop_privileges(caps, syscall.as_ref()) {
            return child_fail(err, 126, &format!("capabilities: {e}"));
        }
    }
    if let Err(e) = nix::unistd::chdir(plan.cwd.as_str()) {
        return child_fail(
            err,
            126,
            &format!("OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd (\"{}\") set in config.json failed: {e}: unknown", plan.cwd),
        );
    }
    if plan.no_new_privileges {
        if let Some(s) = &plan.seccomp {
            if let Err(e) = libcontainer::seccomp::initialize_seccomp(s) {
                return child_fail(err, 126, &format!("loading the seccomp profile: {e}"));
            }
        }
    }
    let e = nix::unistd::execve(&exe, &plan.argv, &plan.env).err();
    child_fail(
        err,
        126,
        &format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: {:?}: {}: unknown",
            plan.argv[0],
            e.map(|e| e.desc()).unwrap_or("failed")
        ),
    )
}

/// Opens a pty in the container's devpts, makes its slave our controlling terminal and
/// sends the master to the helper. Returns the slave fd.
fn make_pty(sock: RawFd) -> std::result::Result<RawFd, String> {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .or_else(|_| {
            // Some images lack the /dev/ptmx link; the devpts instance always has one.
            nix::fcntl::open(
                "/dev/pts/ptmx",
                OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map(|fd| {
                // SAFETY: a fresh fd from open.
                unsafe { nix::pty::PtyMaster::from_owned_fd(fd) }
            })
        })
        .map_err(|e| format!("opening /dev/ptmx: {e}"))?;
    nix::pty::grantpt(&master).map_err(|e| format!("grantpt: {e}"))?;
    nix::pty::unlockpt(&master).map_err(|e| format!("unlockpt: {e}"))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| format!("ptsname: {e}"))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("opening {name}: {e}"))?;
    {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
        let fds = [master.as_raw_fd()];
        let iov = [std::io::IoSlice::new(b"m")];
        sendmsg::<()>(
            sock,
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| format!("sending the terminal: {e}"))?;
    }
    drop(master);
    nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
    // SAFETY: TIOCSCTTY on the slave we just opened, in our new session.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err("making the terminal ours".into());
    }
    let raw = slave.as_raw_fd();
    std::mem::forget(slave);
    Ok(raw)
}
