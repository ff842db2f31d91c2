//! A private real Docker engine (Debian's docker.io: dockerd 20.10 with its own managed
//! containerd and runc) for interop tests, driven by the docker CLI on PATH.
//!
//! Each instance owns everything it touches: its data root, exec root, pid file,
//! socket and containerd live in one temp dir, its containers in their own cgroup
//! parent, and it never touches the host's firewall or bridges (`--iptables=false
//! --ip-forward=false --ip-masq=false --bridge=none`, so containers get loopback only).
//! Dropping it stops dockerd (which stops its containers and containerd), kills any
//! process still tied to its dir or cgroups, unmounts what is left and removes the dir,
//! whether the test passed or not.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{require_root, require_tool};

/// How long dockerd may take to answer `_ping` (2 shared cores, a fresh containerd).
const START_SECS: u64 = 90;

pub struct Dockerd {
    child: Child,
    dir: tempfile::TempDir,
    /// `unix://<dir>/docker.sock`, for DOCKER_HOST and bollard.
    pub host: String,
    /// The storage driver dockerd runs with: overlay2, or vfs where overlay2 fails.
    pub driver: &'static str,
    cgroup_parent: String,
    log: PathBuf,
}

impl Dockerd {
    /// Starts dockerd with overlay2 (vfs if overlay2 does not come up) and waits until
    /// it answers `_ping`. Fails, naming the packages, when docker.io is not installed.
    pub fn start() -> Dockerd {
        require_root();
        require_tool("dockerd", "docker.io");
        require_tool("containerd", "containerd (docker.io depends on it)");
        require_tool("runc", "runc (docker.io depends on it)");
        require_tool(
            "docker",
            "docker.io (or any docker CLI; this machine has 28.x in /usr/local/bin)",
        );
        // Short path: containerd's socket under the exec root must fit in sun_path.
        let dir = tempfile::Builder::new()
            .prefix("berth-dockerd-")
            .tempdir_in("/tmp")
            .expect("creating the dockerd dir");
        let tag = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cgroup_parent = format!("/{tag}");
        // Our own config file, so a host's /etc/docker/daemon.json changes nothing here;
        // it also keeps dockerd's identity key (else /etc/docker/key.json) in our dir.
        let config = serde_json::json!({
            "deprecated-key-path": dir.path().join("key.json"),
        });
        std::fs::write(dir.path().join("daemon.json"), config.to_string())
            .expect("writing daemon.json");
        std::fs::create_dir_all(dir.path().join("cli")).expect("creating the CLI config dir");
        let mut failures = Vec::new();
        for driver in ["overlay2", "vfs"] {
            match try_start(dir.path(), driver, &cgroup_parent) {
                Ok((child, log)) => {
                    return Dockerd {
                        host: format!("unix://{}", dir.path().join("docker.sock").display()),
                        child,
                        dir,
                        driver,
                        cgroup_parent,
                        log,
                    }
                }
                Err(why) => failures.push(format!("{driver}: {why}")),
            }
        }
        panic!(
            "dockerd did not start with overlay2 or vfs:\n{}",
            failures.join("\n")
        );
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines dockerd logged, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// The docker CLI on PATH against this daemon, with a private config dir.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.dir.path().join("cli"))
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .stdin(Stdio::null());
        c
    }

    /// Runs `docker args...`; fails the test with its output and dockerd's log unless
    /// it succeeds. Returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.docker().args(args).output().expect("running docker");
        assert!(
            o.status.success(),
            "docker {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndockerd log:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `docker inspect -f {{.Id}} NAME`.
    #[track_caller]
    pub fn image_id(&self, name: &str) -> String {
        self.ok(&["image", "inspect", "-f", "{{.Id}}", name])
            .trim()
            .to_string()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        stop(&mut self.child, self.dir.path(), &self.cgroup_parent);
    }
}

/// Starts dockerd with `driver` in `d` and waits for `_ping`; on failure, stops what
/// it started and says why.
fn try_start(d: &Path, driver: &str, cgroup_parent: &str) -> Result<(Child, PathBuf), String> {
    let sock = d.join("docker.sock");
    let log = d.join(format!("dockerd-{driver}.log"));
    let out = std::fs::File::create(&log).expect("creating the dockerd log");
    let mut cmd = Command::new("dockerd");
    cmd.arg("--config-file")
        .arg(d.join("daemon.json"))
        .arg("--data-root")
        .arg(d.join(format!("data-{driver}")))
        .arg("--exec-root")
        .arg(d.join("exec"))
        .arg("--pidfile")
        .arg(d.join("dockerd.pid"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .args([
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
            "--exec-opt",
            "native.cgroupdriver=cgroupfs",
            "--shutdown-timeout",
            "3",
        ])
        .arg(format!("--cgroup-parent={cgroup_parent}"))
        .arg(format!("--storage-driver={driver}"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out);
    // SAFETY: prctl is async-signal-safe. If the test process dies without running
    // Drop (killed), dockerd gets SIGTERM and shuts its containers and containerd down.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("spawning dockerd: {e}"))?;
    let end = Instant::now() + Duration::from_secs(START_SECS);
    loop {
        if ping(&sock) {
            return Ok((child, log));
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || Instant::now() > end {
            let why = format!(
                "{}; its log ends:\n{}",
                if exited {
                    "dockerd exited"
                } else {
                    "no answer to _ping"
                },
                tail(&log)
            );
            stop(&mut child, d, cgroup_parent);
            return Err(why);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops dockerd and everything it started; safe to call twice.
fn stop(child: &mut Child, dir: &Path, cgroup_parent: &str) {
    if matches!(child.try_wait(), Ok(None)) {
        // SIGTERM: dockerd stops its containers (3 s grace), then containerd.
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(30);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let dir = dir.to_string_lossy().into_owned();
    // Whatever outlived a dockerd that had to be killed: its containerd and shims
    // (their command lines name our dir) and container processes (in our cgroups).
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut pids = pids_naming(&dir);
        // A shim's socket lives in /run/containerd/s, not in our dir: a killed shim
        // leaves it behind, so note it first.
        sockets.extend(shim_sockets(&pids));
        pids.extend(cgroup_pids(cgroup_parent));
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: kill on pids that belong to this daemon only.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for s in sockets {
        let _ = std::fs::remove_file(s);
    }
    remove_cgroups(cgroup_parent);
    unmount_under(&dir);
}

/// The paths under /run/containerd/s/ of the unix sockets `pids` hold open (from their
/// fds' socket inodes and /proc/net/unix).
fn shim_sockets(pids: &[libc::pid_t]) -> Vec<PathBuf> {
    let mut inodes = std::collections::HashSet::new();
    for pid in pids {
        let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in rd.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                let link = link.to_string_lossy().into_owned();
                if let Some(ino) = link
                    .strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    inodes.insert(ino.to_string());
                }
            }
        }
    }
    let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path
            let (inode, path) = (f.get(6)?, f.get(7)?);
            (inodes.contains(*inode) && path.starts_with("/run/containerd/s/"))
                .then(|| PathBuf::from(path))
        })
        .collect()
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// `GET /_ping` on the socket answers `OK` once dockerd is ready.
fn ping(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200") && reply.ends_with("OK")
}

/// Processes whose command line mentions `needle` (a path unique to one daemon).
fn pids_naming(needle: &str) -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Every cgroup hierarchy's dir for `parent` (v1 controllers and the v2 mount).
fn cgroup_dirs(parent: &str) -> Vec<PathBuf> {
    let rel = parent.trim_start_matches('/');
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path().join(rel))
        .filter(|p| p.is_dir())
        .collect();
    // The v2 root itself (a pure cgroup2 host).
    let top = Path::new("/sys/fs/cgroup").join(rel);
    if top.is_dir() && !out.contains(&top) {
        out.push(top);
    }
    out
}

fn cgroup_pids(parent: &str) -> Vec<libc::pid_t> {
    let mut pids = Vec::new();
    for d in cgroup_dirs(parent) {
        let mut stack = vec![d];
        while let Some(d) = stack.pop() {
            if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
                pids.extend(
                    text.lines()
                        .filter_map(|l| l.trim().parse::<libc::pid_t>().ok()),
                );
            }
            if let Ok(rd) = std::fs::read_dir(&d) {
                stack.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Removes the (empty) cgroup dirs under `parent`, deepest first.
fn remove_cgroups(parent: &str) {
    for d in cgroup_dirs(parent) {
        let mut all = vec![];
        let mut stack = vec![d];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                stack.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
            }
            all.push(d);
        }
        all.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        for p in all {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// Unmounts (lazily when busy) every mount at or under `dir`, deepest first: the data
/// root's self bind mount, overlay2 merged dirs, netns and shm mounts.
fn unmount_under(dir: &str) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut mounts: Vec<String> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| *m == dir || m.starts_with(&format!("{dir}/")))
        .map(str::to_string)
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    mounts.dedup();
    for m in mounts {
        drop(super::MountGuard(PathBuf::from(m)));
    }
}

/// The manifest digest a push printed (`TAG: digest: sha256:... size: N`; docker and
/// berth print the same line).
pub fn pushed_digest(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split_once(": digest: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in the push output: {stdout}"))
        .to_string()
}
