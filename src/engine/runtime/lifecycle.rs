//! Container lifecycle operations that run in the caller's process: start (through a
//! monitor), stop, kill, wait, remove, and reconciling records whose monitor died.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::engine::error::{Error, Result};
use crate::engine::image::snapshot;
use crate::engine::runtime::attach::AttachClient;
use crate::engine::runtime::cgroups::{container_path, Cgroups};
use crate::engine::runtime::container::{ContainerRecord, Containers};
use crate::engine::runtime::monitor::{self, Ready};
use crate::engine::runtime::paths;
use crate::engine::store::tmp::TmpDir;
use crate::engine::store::Store;

/// A failed start, with the exit code Docker gives it (125 engine, 126/127 command).
#[derive(Debug)]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A process that exists and is not a zombie (PID 1 here may not reap orphans).
fn alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the command name, which ends at the last ')'.
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The container's monitor is still running (and is a monitor for it, not a process
/// that reused the pid).
fn monitor_alive(pid: i64, id: &str) -> bool {
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("__monitor") && c.contains(id)
            })
            .unwrap_or(false)
}

/// A running record whose monitor is gone (kill -9, reboot losing /run): kill what is
/// left, clean mounts and cgroups, and record the exit, so every view stays true.
pub fn reconcile(store: &Store, rec: &ContainerRecord) -> Result<ContainerRecord> {
    let st = &rec.state;
    if !(st.running || st.restarting || st.paused) || monitor_alive(st.monitor_pid, &rec.id) {
        return Ok(rec.clone());
    }
    if alive(st.pid) {
        let _ = nix::sys::signal::kill(Pid::from_raw(st.pid as i32), Signal::SIGKILL);
    }
    cleanup_runtime(store, &rec.id);
    let containers = Containers::new(store);
    containers.update_state(&rec.id, |s| {
        s.status = "exited".into();
        s.running = false;
        s.paused = false;
        s.restarting = false;
        s.pid = 0;
        s.monitor_pid = 0;
        s.exit_code = 137;
        s.error = "the container's monitor process died".into();
        s.finished_at = crate::engine::image::config::now_rfc3339();
        s.network = Default::default();
    })?;
    // After the state says "exited", so the rebuilt firewall leaves its ports out.
    crate::engine::network::setup::release(store, &rec.id, !st.network.ports.is_empty());
    containers.get(&rec.id)
}

/// Unmounts the rootfs and removes the cgroup and libcontainer state of a container
/// that is not running.
fn cleanup_runtime(store: &Store, id: &str) {
    let _ = snapshot::unmount(&paths::container_dir(store, id).join("rootfs"));
    if let Ok(mut c) =
        libcontainer::container::Container::load(paths::libcontainer_root(store).join(id))
    {
        let _ = c.delete(true);
    }
    if let Ok(cg) = Cgroups::detect() {
        let _ = cg.remove_with(&container_path(id), true);
    }
    let _ = crate::engine::store::tmp::remove_tree(&paths::bundle_dir(store, id));
}

pub fn get(store: &Store, name_or_id: &str) -> Result<ContainerRecord> {
    let containers = Containers::new(store);
    let id = containers.resolve(name_or_id)?;
    reconcile(store, &containers.get(&id)?)
}

pub fn list(store: &Store) -> Result<Vec<ContainerRecord>> {
    Containers::new(store)
        .list()?
        .iter()
        .map(|r| reconcile(store, r))
        .collect()
}

/// Starts a container through a new monitor. The watch reports its exit code (None when
/// it was already running).
pub fn start(
    store: &Store,
    name_or_id: &str,
    attach: Option<std::os::fd::OwnedFd>,
    standby: Option<&super::standby::Standby>,
) -> Result<std::result::Result<(), StartError>> {
    let rec = get(store, name_or_id)?;
    if rec.state.running {
        return Ok(Ok(()));
    }
    Containers::new(store).update_state(&rec.id, |s| s.manually_stopped = false)?;
    let ready = match standby.and_then(|s| monitor::start_standby(s, attach.as_ref())) {
        Some(ready) => ready,
        None => monitor::spawn(store, &rec.id, attach)?,
    };
    match ready {
        Ready::Started => Ok(Ok(())),
        Ready::Failed { code, message } => Ok(Err(StartError { code, message })),
    }
}

/// Parses a signal given as a name ("SIGTERM", "term", "KILL") or number.
pub fn parse_signal(s: &str) -> Result<Signal> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::invalid(format!("Invalid signal: {s}")));
    }
    let up = t.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map_err(|_| Error::invalid(format!("Invalid signal: {s}")))
}

/// Blocks until the container is no longer running, or `timeout` passes.
/// Returns true when it stopped.
pub fn wait_stopped(store: &Store, id: &str, timeout: Option<Duration>) -> Result<bool> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        let rec = get(store, id)?;
        if !rec.state.running && !rec.state.restarting {
            return Ok(true);
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(false);
        }
        // Short at first (most stops are quick), then gentler on the db.
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

pub fn kill(store: &Store, name_or_id: &str, signal: Signal) -> Result<()> {
    let rec = get(store, name_or_id)?;
    if !rec.state.running {
        return Err(Error::conflict(format!(
            "cannot kill container: {}: container {} is not running",
            name_or_id, rec.id
        )));
    }
    if matches!(signal, Signal::SIGKILL | Signal::SIGTERM | Signal::SIGINT) {
        Containers::new(store).update_state(&rec.id, |s| s.manually_stopped = true)?;
    }
    if rec.state.paused {
        if let Ok(cg) = Cgroups::detect() {
            let _ = cg.freeze(&container_path(&rec.id), false);
        }
    }
    nix::sys::signal::kill(Pid::from_raw(rec.state.pid as i32), signal)
        .map_err(|e| Error::Other(format!("signalling container {}: {e}", rec.id)))?;
    super::container::emit(
        store,
        &rec,
        "kill",
        &[("signal", &(signal as i32).to_string())],
    );
    Ok(())
}

/// Docker's stop: the stop signal, then SIGKILL after `timeout` seconds.
pub fn stop(store: &Store, name_or_id: &str, timeout: Option<i64>) -> Result<()> {
    let rec = get(store, name_or_id)?;
    Containers::new(store).update_state(&rec.id, |s| s.manually_stopped = true)?;
    if !rec.state.running {
        return Ok(());
    }
    let sig = rec
        .config
        .config
        .stop_signal
        .as_deref()
        .map(parse_signal)
        .transpose()?
        .unwrap_or(Signal::SIGTERM);
    let secs = timeout
        .or(rec.config.config.stop_timeout)
        .unwrap_or(10)
        .max(0) as u64;
    let pid = Pid::from_raw(rec.state.pid as i32);
    if rec.state.paused {
        if let Ok(cg) = Cgroups::detect() {
            let _ = cg.freeze(&container_path(&rec.id), false);
        }
    }
    // Listening to the monitor before signalling: its exit frame wakes us (no polling).
    let mut watch = AttachClient::connect(&rec.id).ok();
    let _ = nix::sys::signal::kill(pid, sig);
    super::container::emit(
        store,
        &rec,
        "kill",
        &[("signal", &(sig as i32).to_string())],
    );
    if !wait_stopped_watching(store, &rec.id, Duration::from_secs(secs), watch.as_mut())? {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        super::container::emit(store, &rec, "kill", &[("signal", "9")]);
        wait_stopped_watching(store, &rec.id, Duration::from_secs(30), watch.as_mut())?;
    }
    super::container::emit(store, &rec, "stop", &[]);
    Ok(())
}

/// [`wait_stopped`], woken by the monitor's exit frame when `watch` is connected to it.
fn wait_stopped_watching(
    store: &Store,
    id: &str,
    timeout: Duration,
    watch: Option<&mut AttachClient>,
) -> Result<bool> {
    let start = Instant::now();
    if let Some(w) = watch {
        w.wait_exit(Some(timeout));
    }
    wait_stopped(store, id, Some(timeout.saturating_sub(start.elapsed())))
}

/// Blocks until the record is gone (the monitor removes `--rm` containers after exit),
/// as docker's `run --rm` waits for condition=removed.
pub fn wait_removed(store: &Store, id: &str, timeout: Duration) -> Result<bool> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match Containers::new(store).get(id) {
            Err(Error::NotFound(_)) => return Ok(true),
            Err(e) => return Err(e),
            Ok(_) if start.elapsed() >= timeout => return Ok(false),
            Ok(_) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// Blocks until the container exits; returns its exit code.
pub fn wait(store: &Store, name_or_id: &str) -> Result<i64> {
    let rec = get(store, name_or_id)?;
    if rec.state.running {
        if let Ok(mut w) = AttachClient::connect(&rec.id) {
            w.wait_exit(None);
        }
    }
    wait_stopped(store, &rec.id, None)?;
    match Containers::new(store).get(&rec.id) {
        Ok(r) => Ok(r.state.exit_code),
        // Removed on exit (--rm): the exit code died with the record.
        Err(Error::NotFound(_)) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Deletes a container's files (not its record).
pub fn remove_files(store: &Store, id: &str) -> Result<()> {
    cleanup_runtime(store, id);
    let dir = paths::container_dir(store, id);
    crate::engine::store::tmp::remove_tree(&dir)
        .map_err(|e| Error::io(format!("removing {}", dir.display()), e))
}

/// [`remove_files`] in two steps: the container's dir moves into a scratch dir at once
/// (one rename) and is deleted when the returned guard drops, so a `--rm` run can
/// report the removal before the slow part (unlinking its tree, ~2 ms on ext4). A
/// process killed in between leaves a scratch dir that the next GC collects. For the
/// container's own monitor, which has removed its cgroup and runtime state already:
/// only the bundle is left of those (and the rootfs unmount is tried once more).
pub fn set_files_aside(store: &Store, id: &str) -> Result<TmpDir> {
    let _ = snapshot::unmount(&paths::container_dir(store, id).join("rootfs"));
    let _ = crate::engine::store::tmp::remove_tree(&paths::bundle_dir(store, id));
    let dir = paths::container_dir(store, id);
    let trash = TmpDir::new(&store.paths.tmp())?;
    match std::fs::rename(&dir, trash.path().join(id)) {
        Ok(()) => Ok(trash),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(trash),
        Err(_) => {
            crate::engine::store::tmp::remove_tree(&dir)
                .map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
            Ok(trash)
        }
    }
}

pub fn remove(store: &Store, name_or_id: &str, force: bool, volumes: bool) -> Result<String> {
    let rec = get(store, name_or_id)?;
    if rec.state.running || rec.state.restarting {
        if !force {
            return Err(Error::conflict(format!(
                "cannot remove container \"/{}\": container is {}: stop the container before removing or force remove",
                rec.name,
                if rec.state.restarting { "restarting" } else { "running" }
            )));
        }
        Containers::new(store).update_state(&rec.id, |s| s.manually_stopped = true)?;
        if rec.state.paused {
            if let Ok(cg) = Cgroups::detect() {
                let _ = cg.freeze(&container_path(&rec.id), false);
            }
        }
        let mut watch = AttachClient::connect(&rec.id).ok();
        let _ = nix::sys::signal::kill(Pid::from_raw(rec.state.pid as i32), Signal::SIGKILL);
        wait_stopped_watching(store, &rec.id, Duration::from_secs(30), watch.as_mut())?;
    }
    // The monitor may be finishing (and removing, with --rm) right now.
    match Containers::new(store).get(&rec.id) {
        Err(Error::NotFound(_)) => return Ok(rec.id),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    remove_files(store, &rec.id)?;
    Containers::new(store).delete(&rec.id)?;
    super::container::emit(store, &rec, "destroy", &[]);
    if volumes {
        remove_anonymous_volumes(store, &rec)?;
    }
    Ok(rec.id)
}

/// `rm -v` and `--rm`: the container's anonymous volumes, unless another container
/// (through --volumes-from) still uses them. Named volumes always stay.
pub fn remove_anonymous_volumes(store: &Store, rec: &ContainerRecord) -> Result<()> {
    let vols = crate::engine::volume::Volumes::new(store);
    for m in rec.config.mounts.iter().filter(|m| m.kind == "volume") {
        if let Ok(v) = vols.get(&m.name) {
            if v.anonymous && vols.users(&v.name)?.is_empty() {
                vols.remove(&v.name, false)?;
            }
        }
    }
    Ok(())
}

/// `pause` / `unpause`: freeze or thaw every process of the container (cgroup freezer).
pub fn set_paused(store: &Store, name_or_id: &str, paused: bool) -> Result<()> {
    let rec = get(store, name_or_id)?;
    if !rec.state.running {
        return Err(Error::conflict(format!(
            "Container {} is not running",
            rec.id
        )));
    }
    if rec.state.paused == paused {
        return Err(Error::conflict(if paused {
            format!("Container {} is already paused", rec.id)
        } else {
            format!("Container {} is not paused", rec.id)
        }));
    }
    let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
    cg.freeze(&container_path(&rec.id), paused).map_err(|e| {
        Error::Other(format!(
            "{} container {}: {e}",
            if paused { "pausing" } else { "unpausing" },
            rec.id
        ))
    })?;
    Containers::new(store).update_state(&rec.id, |s| {
        s.paused = paused;
        s.status = if paused {
            "paused".into()
        } else {
            "running".into()
        };
    })?;
    Ok(())
}

/// `update`: new resource limits applied to the live cgroup (when running) and kept in
/// the record, plus an optional new restart policy.
pub fn update(
    store: &Store,
    name_or_id: &str,
    r: &bollard::models::Resources,
    restart: Option<bollard::models::RestartPolicy>,
) -> Result<()> {
    let rec = get(store, name_or_id)?;
    if restart.is_some() && rec.config.host_config.auto_remove == Some(true) {
        return Err(Error::invalid(
            "Restart policy cannot be updated because AutoRemove is enabled for the container",
        ));
    }
    if rec.state.running {
        let cg = Cgroups::detect().map_err(|e| Error::Other(format!("cgroups: {e}")))?;
        cg.update(&container_path(&rec.id), r)
            .map_err(|e| Error::invalid(format!("Cannot update container {}: {e}", rec.id)))?;
    }
    super::container::emit(store, &rec, "update", &[]);
    Containers::new(store).update_host_config(&rec.id, |hc| {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = r.$f.clone() { hc.$f = Some(v); } )* };
        }
        set!(
            memory,
            memory_swap,
            memory_reservation,
            nano_cpus,
            cpu_shares,
            cpu_period,
            cpu_quota,
            cpuset_cpus,
            cpuset_mems,
            pids_limit,
            blkio_weight
        );
        if let Some(p) = restart {
            hc.restart_policy = Some(p);
        }
    })
}
