//! Containers end to end through the real binary, as root: real namespaces, overlay
//! mounts, cgroups (v1 on these machines) and the per-container monitor.

mod common;

use std::time::{Duration, Instant};

use common::{eventually, state, with_busybox};

/// The process is gone or a zombie (PID 1 on these machines may never reap it).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rfind(')')
            .is_some_and(|i| s[i + 1..].trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn run_prints_output_and_returns_the_exit_code() {
    let b = with_busybox();
    let r = b
        .run(&["run", "--rm", "busybox", "echo", "hello world"])
        .ok();
    assert_eq!(r.stdout, "hello world\n");
    assert!(
        b.run(&["ps", "-aq"]).ok().stdout.is_empty(),
        "--rm removes the container"
    );
    // Its files go right after the client is told (moved aside, then deleted): nothing
    // of them stays behind.
    let empty = |rel: &str| b.entries(rel).is_empty();
    let gone = || {
        ["containers", "tmp", "run/containers", "run/libcontainer"]
            .iter()
            .all(|d| empty(d))
    };
    assert!(
        eventually(5, gone),
        "--rm leaves files: containers {:?}, tmp {:?}, bundles {:?}, runtime state {:?}",
        b.entries("containers"),
        b.entries("tmp"),
        b.entries("run/containers"),
        b.entries("run/libcontainer")
    );

    let r = b.run(&[
        "run",
        "--name",
        "three",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout, "out\n");
    assert_eq!(r.stderr, "err\n");
    assert_eq!(state(&b, "three", "ExitCode"), "3");
    assert_eq!(state(&b, "three", "Status"), "exited");
    let logs = b.run(&["logs", "three"]).ok();
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("out\n", "err\n")
    );
}

#[test]
fn exit_codes_125_126_127_like_docker() {
    let b = with_busybox();
    let r = b.run(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found in $PATH"),
        "{}",
        r.stderr
    );
    let r = b.run(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(r.stderr.contains("permission denied"), "{}", r.stderr);
    let r = b.run(&["run", "--rm", "nosuchimage"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Unable to find image 'nosuchimage:latest' locally"),
        "{}",
        r.stderr
    );
    let r = b.run(&["run", "--rm", "--memory", "lots", "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        b.run(&["ps", "-aq"]).ok().stdout.is_empty(),
        "failed runs leave nothing"
    );
}

#[test]
fn detached_container_outlives_the_cli_and_stops() {
    let b = with_busybox();
    let id = b
        .run(&[
            "run",
            "-d",
            "--name",
            "sleeper",
            "busybox",
            "sh",
            "-c",
            "echo started; exec sleep 300",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    // The CLI has exited; the container runs on under its monitor.
    assert_eq!(state(&b, "sleeper", "Running"), "true");
    let pid: i32 = state(&b, "sleeper", "Pid").parse().expect("pid");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let ps = b.run(&["ps"]).ok().stdout;
    assert!(
        ps.lines().nth(1).is_some_and(|l| l.starts_with(&id[..12])
            && l.contains("Up ")
            && l.ends_with("sleeper")),
        "{ps}"
    );
    assert!(eventually(5, || b.run(&["logs", "sleeper"]).stdout == "started\n"));

    // PID 1 ignores SIGTERM without a handler: stop falls back to SIGKILL after -t.
    let t = Instant::now();
    b.run(&["stop", "-t", "1", "sleeper"]).ok();
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(state(&b, "sleeper", "Status"), "exited");
    assert_eq!(state(&b, "sleeper", "ExitCode"), "137");
    assert!(gone(pid));
    let all = b
        .run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok()
        .stdout;
    assert!(all.starts_with("sleeper Exited (137)"), "{all}");
    assert!(b.run(&["ps", "-q"]).ok().stdout.is_empty());

    // Start it again, kill it, wait for it.
    b.run(&["start", "sleeper"]).ok();
    assert_eq!(state(&b, "sleeper", "Running"), "true");
    b.run(&["kill", "-s", "KILL", "sleeper"]).ok();
    let w = b.run(&["wait", "sleeper"]).ok();
    assert_eq!(w.stdout.trim(), "137");
    b.run(&["rm", "sleeper"]).ok();
    assert!(b.run(&["ps", "-aq"]).ok().stdout.is_empty());
    // Nothing of it is left mounted.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&id), "rootfs still mounted");
}

#[test]
fn rm_refuses_a_running_container_unless_forced() {
    let b = with_busybox();
    b.run(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"])
        .ok();
    let r = b.run(&["rm", "busy"]).fails();
    assert!(
        r.stderr
            .contains("stop the container before removing or force remove"),
        "{}",
        r.stderr
    );
    let r = b
        .run(&["run", "-d", "--name", "busy", "busybox", "true"])
        .fails();
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("The container name \"/busy\" is already in use"),
        "{}",
        r.stderr
    );
    b.run(&["rm", "-f", "busy"]).ok();
    assert!(b.run(&["ps", "-aq"]).ok().stdout.is_empty());
}

#[test]
fn default_capabilities_and_seccomp_match_docker() {
    let b = with_busybox();
    let r = b
        .run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "grep -E '^(CapBnd|CapEff|Seccomp|NoNewPrivs):' /proc/self/status",
        ])
        .ok();
    // Docker's 14 default capabilities.
    assert!(
        r.stdout.contains("CapBnd:\t00000000a80425fb"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("CapEff:\t00000000a80425fb"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Seccomp:\t2"),
        "seccomp filter on by default: {}",
        r.stdout
    );
    let r = b
        .run(&[
            "run",
            "--rm",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_BIND_SERVICE",
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "sh",
            "-c",
            "grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status",
        ])
        .ok();
    assert!(
        r.stdout.contains("CapBnd:\t0000000000000400"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("NoNewPrivs:\t1"), "{}", r.stdout);
    let r = b
        .run(&[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "grep Seccomp: /proc/self/status",
        ])
        .ok();
    assert!(r.stdout.contains("Seccomp:\t0"), "{}", r.stdout);
}

#[test]
fn namespaces_hostname_and_users() {
    let b = with_busybox();
    let r = b
        .run(&[
            "run",
            "--rm",
            "-h",
            "box1",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "-e",
            "GREETING=hi",
            "busybox",
            "sh",
            "-c",
            "hostname; id -u; pwd; echo $GREETING; echo $$; cat /etc/hostname",
        ])
        .ok();
    assert_eq!(r.stdout, "box1\n65534\n/tmp\nhi\n1\nbox1\n");
    // --network none: only a loopback interface.
    let r = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "ls /sys/class/net",
        ])
        .ok();
    assert_eq!(r.stdout.trim(), "lo");
    let r = b.run(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
}

#[test]
fn resource_limits_reach_the_cgroup() {
    let b = with_busybox();
    let id = b
        .run(&[
            "run",
            "-d",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            "busybox",
            "sleep",
            "300",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let cg = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/berth-{id}/{file}"))
            .unwrap_or_else(|e| panic!("reading {ctrl}/{file}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(cg("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(cg("pids", "pids.max"), "50");
    assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
    b.run(&["rm", "-f", &id]).ok();
    assert!(
        !std::path::Path::new(&format!("/sys/fs/cgroup/memory/berth-{id}")).exists(),
        "cgroup removed"
    );
}

#[test]
fn restart_policy_restarts_a_failing_container_with_backoff() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ])
    .ok();
    assert!(
        eventually(20, || state(&b, "flaky", "Status") == "exited"
            && b.run(&["inspect", "-f", "{{.RestartCount}}", "flaky"])
                .stdout
                .trim()
                == "2"),
        "restart count: {}",
        b.run(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "flaky"
        ])
        .stdout
    );
    assert_eq!(b.run(&["logs", "flaky"]).ok().stdout, "run\nrun\nrun\n");
    assert_eq!(state(&b, "flaky", "ExitCode"), "1");
}

#[test]
fn a_killed_monitor_is_noticed_and_cleaned_up() {
    let b = with_busybox();
    let id = b
        .run(&["run", "-d", "busybox", "sleep", "300"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let pid: i32 = state(&b, &id, "Pid").parse().expect("pid");
    let engine = berth::engine::Engine::open(Some(b.path())).expect("engine");
    let monitor = engine.container_get(&id).expect("record").state.monitor_pid as i32;
    assert!(monitor > 0);
    // SAFETY: kill(2) on a pid we just read.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    assert!(eventually(5, || gone(monitor)));
    // The next command notices, kills what is left and records the exit.
    assert_eq!(state(&b, &id, "Status"), "exited");
    assert_eq!(state(&b, &id, "ExitCode"), "137");
    assert!(eventually(5, || gone(pid)));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&id), "rootfs still mounted");
}

#[test]
fn losing_the_run_dir_like_a_reboot_leaves_consistent_records() {
    let b = with_busybox();
    let id = b
        .run(&["run", "-d", "--name", "rb", "busybox", "sleep", "300"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let pid: i32 = state(&b, "rb", "Pid").parse().expect("pid");
    let engine = berth::engine::Engine::open(Some(b.path())).expect("engine");
    let monitor = engine.container_get(&id).expect("record").state.monitor_pid as i32;
    // A power cut: every process gone, mounts gone, /run (a tmpfs) empty.
    // SAFETY: kill(2) on pids we just read.
    unsafe {
        libc::kill(monitor, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(eventually(5, || gone(monitor) && gone(pid)));
    let rootfs = b.path().join("containers").join(&id).join("rootfs");
    let _ = nix::mount::umount2(&rootfs, nix::mount::MntFlags::MNT_DETACH);
    std::fs::remove_dir_all(b.path().join("run")).expect("removing the run dir");

    // The record says what happened, and the container starts again.
    let ps = b
        .run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok()
        .stdout;
    assert!(ps.starts_with("rb Exited (137)"), "{ps}");
    b.run(&["start", "rb"]).ok();
    assert_eq!(
        b.run(&["exec", "rb", "echo", "alive"]).ok().stdout,
        "alive\n"
    );
    b.run(&["rm", "-f", "rb"]).ok();
    assert!(b.run(&["ps", "-aq"]).ok().stdout.is_empty());
}

#[test]
fn logs_tail_timestamps_and_rename() {
    let b = with_busybox();
    b.run(&["run", "--name", "counter", "busybox", "seq", "1", "100"])
        .ok();
    assert_eq!(
        b.run(&["logs", "--tail", "3", "counter"]).ok().stdout,
        "98\n99\n100\n"
    );
    let ts = b.run(&["logs", "-t", "--tail", "1", "counter"]).ok().stdout;
    assert!(ts.ends_with("Z 100\n") && ts.starts_with("20"), "{ts}");
    b.run(&["rename", "counter", "numbers"]).ok();
    assert_eq!(b.run(&["logs", "-n", "1", "numbers"]).ok().stdout, "100\n");
    let r = b.run(&["logs", "counter"]).fails();
    assert!(
        r.stderr.contains("No such container: counter"),
        "{}",
        r.stderr
    );
    let inspect = b.run(&["container", "inspect", "numbers"]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(&inspect).expect("json");
    assert_eq!(v[0]["Name"], "/numbers");
    assert_eq!(v[0]["Path"], "seq");
    assert_eq!(v[0]["State"]["ExitCode"], 0);
    assert_eq!(v[0]["Config"]["Image"], "busybox");
}

#[test]
fn pause_unpause_and_top() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "--name",
        "p1",
        "busybox",
        "sh",
        "-c",
        "while true; do sleep 1; done",
    ])
    .ok();
    let top = b.run(&["top", "p1"]).ok().stdout;
    assert!(top.starts_with("UID"), "{top}");
    assert!(top.contains("PPID") && top.contains("CMD"), "{top}");
    assert!(
        top.lines()
            .any(|l| l.starts_with("root") && l.contains("sh -c while true")),
        "{top}"
    );
    // `top p1 aux`: the host's ps with those options, only p1's processes.
    let top = b.run(&["top", "p1", "aux"]).ok().stdout;
    assert!(top.starts_with("USER") && top.contains("%CPU"), "{top}");
    assert!(top.contains("sh -c while true"), "{top}");
    assert!(
        !top.contains("__monitor"),
        "the monitor is not the container's: {top}"
    );
    let r = b.run(&["top", "p1", "-o", "user=PID"]).fails();
    assert!(r.stderr.contains("is not allowed"), "{}", r.stderr);
    b.run(&["pause", "p1"]).ok();
    assert_eq!(state(&b, "p1", "Status"), "paused");
    let ps = b.run(&["ps", "--format", "{{.Status}}"]).ok().stdout;
    assert!(ps.contains("(Paused)"), "{ps}");
    let r = b.run(&["pause", "p1"]).fails();
    assert!(r.stderr.contains("is already paused"), "{}", r.stderr);
    b.run(&["unpause", "p1"]).ok();
    assert_eq!(state(&b, "p1", "Status"), "running");
    // A paused container still stops (thawed first so it can take the signal).
    b.run(&["pause", "p1"]).ok();
    b.run(&["stop", "-t", "1", "p1"]).ok();
    assert_eq!(state(&b, "p1", "Status"), "exited");
}

#[test]
fn stats_no_stream_reports_usage_from_the_cgroup() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "--name",
        "st",
        "-m",
        "32m",
        "busybox",
        "sh",
        "-c",
        "while true; do :; done",
    ])
    .ok();
    let t = b.run(&["stats", "--no-stream"]).ok().stdout;
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{t}"
    );
    assert!(
        lines[1].contains(" st ") && lines[1].contains("/ 32MiB"),
        "{t}"
    );
    // A busy loop shows real CPU use (sampled again while the machine is busy with
    // other tests: each sample measures from the previous one).
    let mut cpu = String::new();
    let busy = eventually(20, || {
        cpu = b
            .run(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", "st"])
            .ok()
            .stdout;
        cpu.trim()
            .trim_end_matches('%')
            .parse::<f64>()
            .expect("cpu %")
            > 10.0
    });
    assert!(busy, "{cpu}");
    let pids = b
        .run(&["stats", "--no-stream", "--format", "{{.PIDs}}", "st"])
        .ok()
        .stdout;
    assert_eq!(pids.trim(), "1");
}

#[test]
fn update_changes_live_limits_and_the_record() {
    let b = with_busybox();
    let id = b
        .run(&["run", "-d", "-m", "64m", "busybox", "sleep", "300"])
        .ok()
        .stdout
        .trim()
        .to_string();
    b.run(&[
        "update",
        "-m",
        "96m",
        "--memory-swap",
        "200m",
        "--pids-limit",
        "20",
        "--restart",
        "always",
        &id,
    ])
    .ok();
    let read = |ctrl: &str, f: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/berth-{id}/{f}"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "100663296");
    assert_eq!(read("pids", "pids.max"), "20");
    let hc = b
        .run(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}",
            &id,
        ])
        .ok()
        .stdout;
    assert_eq!(hc.trim(), "100663296 always");
    let r = b.run(&["update", "--memory", "lots", &id]).fails();
    assert_eq!(r.code, 125, "{}", r.stderr);
}

#[test]
fn binds_named_and_anonymous_volumes() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("host dir");
    std::fs::write(host.path().join("in.txt"), "from host\n").expect("write");
    let bind = format!("{}:/data", host.path().display());
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "cat /data/in.txt; echo from container > /data/out.txt",
        ])
        .ok();
    assert_eq!(r.stdout, "from host\n");
    assert_eq!(
        std::fs::read_to_string(host.path().join("out.txt")).expect("out"),
        "from container\n"
    );
    // Read-only binds refuse writes.
    let ro = format!("{}:/data:ro", host.path().display());
    let r = b.run(&["run", "--rm", "-v", &ro, "busybox", "touch", "/data/x"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);

    // A named volume outlives its containers.
    b.run(&[
        "run",
        "--rm",
        "-v",
        "store:/s",
        "busybox",
        "sh",
        "-c",
        "echo kept > /s/f",
    ])
    .ok();
    assert_eq!(
        b.run(&["run", "--rm", "-v", "store:/s", "busybox", "cat", "/s/f"])
            .ok()
            .stdout,
        "kept\n"
    );
    let ls = b.run(&["volume", "ls"]).ok().stdout;
    assert!(
        ls.starts_with("DRIVER    VOLUME NAME\nlocal     store\n"),
        "{ls}"
    );
    let insp = b
        .run(&[
            "volume",
            "inspect",
            "-f",
            "{{.Driver}} {{.Scope}} {{.Mountpoint}}",
            "store",
        ])
        .ok()
        .stdout;
    assert!(
        insp.starts_with("local local ") && insp.trim().ends_with("/volumes/store/_data"),
        "{insp}"
    );

    // An anonymous volume (-v /path) goes with rm -v; the named one stays.
    let id = b
        .run(&["create", "-v", "/anon", "-v", "store:/s", "busybox", "true"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let mounts = b
        .run(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}",
            &id,
        ])
        .ok()
        .stdout;
    assert!(
        mounts.contains("volume:/anon:true") && mounts.contains("volume:/s:true"),
        "{mounts}"
    );
    let r = b.run(&["volume", "rm", "store"]).fails();
    assert!(r.stderr.contains("volume is in use"), "{}", r.stderr);
    assert_eq!(
        b.run(&["volume", "ls", "-q"]).ok().stdout.lines().count(),
        2
    );
    b.run(&["rm", "-v", &id]).ok();
    assert_eq!(b.run(&["volume", "ls", "-q"]).ok().stdout, "store\n");
    b.run(&["volume", "rm", "store"]).ok();
    assert!(b.run(&["volume", "ls", "-q"]).ok().stdout.is_empty());
}

#[test]
fn volume_container_backup_and_restore_walkthrough() {
    // reference-features §1.8: a data container, a backup through --volumes-from into a
    // bind mount, and a restore into a fresh data container.
    let b = with_busybox();
    let backup = tempfile::tempdir().expect("backup dir");
    let bdir = format!("{}:/backup", backup.path().display());
    b.run(&[
        "create", "-v", "/dbdata", "--name", "dbdata", "busybox", "true",
    ])
    .ok();
    b.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata",
        "busybox",
        "sh",
        "-c",
        "echo precious > /dbdata/test",
    ])
    .ok();
    b.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata",
        "-v",
        &bdir,
        "busybox",
        "tar",
        "cf",
        "/backup/backup.tar",
        "/dbdata",
    ])
    .ok();
    assert!(backup.path().join("backup.tar").exists());
    b.run(&[
        "create", "-v", "/dbdata", "--name", "dbdata2", "busybox", "true",
    ])
    .ok();
    b.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata2",
        "-v",
        &bdir,
        "busybox",
        "tar",
        "xf",
        "/backup/backup.tar",
    ])
    .ok();
    let r = b
        .run(&[
            "run",
            "--rm",
            "--volumes-from",
            "dbdata2:ro",
            "busybox",
            "cat",
            "/dbdata/test",
        ])
        .ok();
    assert_eq!(r.stdout, "precious\n");
    let r = b.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "dbdata2:ro",
        "busybox",
        "touch",
        "/dbdata/x",
    ]);
    assert_ne!(r.code, 0, "ro volumes-from");
}

#[test]
fn image_volume_content_is_copied_into_a_new_volume() {
    let b = with_busybox();
    // The busybox fixture has /etc/passwd; an image declaring VOLUME /etc shows it in the volume.
    let rootfs = common::fixture("busybox-rootfs.tar");
    b.run(&[
        "import",
        "-c",
        "VOLUME /var/www",
        "-c",
        "CMD [\"sh\"]",
        rootfs.to_str().expect("path"),
        "webvol",
    ])
    .ok();
    let r = b
        .run(&["run", "--name", "w1", "webvol", "sh", "-c", "ls /var/www"])
        .ok();
    assert!(r.stdout.contains("index.html"), "{}", r.stdout);
    let vol = b
        .run(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "w1"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let data = b.path().join("volumes").join(&vol).join("_data/index.html");
    assert!(data.exists(), "{}", data.display());
    let df = b.run(&["system", "df"]).ok().stdout;
    assert!(
        df.lines()
            .any(|l| l.starts_with("Local Volumes   1         1")),
        "{df}"
    );
}

#[test]
fn diff_export_and_commit() {
    let b = with_busybox();
    b.run(&[
        "run",
        "--name",
        "changer",
        "busybox",
        "sh",
        "-c",
        "echo new > /added; echo x >> /etc/passwd; rm /bin/vi",
    ])
    .ok();
    let d = b.run(&["diff", "changer"]).ok().stdout;
    for want in ["A /added", "C /etc", "C /etc/passwd", "C /bin", "D /bin/vi"] {
        assert!(d.lines().any(|l| l == want), "missing {want:?} in:\n{d}");
    }
    // export (stopped container): the merged filesystem, deletions applied.
    let out = b
        .cmd()
        .args(["export", "changer"])
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names = Vec::new();
    for e in tar::Archive::new(&out.stdout[..]).entries().expect("tar") {
        names.push(
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string(),
        );
    }
    assert!(names.iter().any(|n| n == "added"), "{names:?}");
    assert!(names.iter().any(|n| n == "bin/busybox"), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "bin/vi"),
        "deleted file exported"
    );

    // commit: a new image with the change and the container's config, plus -c.
    let id = b
        .run(&[
            "commit",
            "-a",
            "tester",
            "-m",
            "add a file",
            "-c",
            "ENV MODE=committed",
            "changer",
            "snap:1",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let r = b
        .run(&[
            "run",
            "--rm",
            "snap:1",
            "sh",
            "-c",
            "cat /added; echo $MODE; test -e /bin/vi || echo novi",
        ])
        .ok();
    assert_eq!(r.stdout, "new\ncommitted\nnovi\n");
    let h = b
        .run(&[
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Comment}}",
            "snap:1",
        ])
        .ok()
        .stdout;
    assert!(
        h.lines()
            .next()
            .is_some_and(|l| l.starts_with("sh -c echo new") && l.ends_with("|add a file")),
        "{h}"
    );
    let f = b
        .run(&[
            "inspect",
            "-f",
            "{{.Author}} {{len .RootFS.Layers}}",
            "snap:1",
        ])
        .ok()
        .stdout;
    assert_eq!(f.trim(), "tester 2");
    // A running container can be committed too (paused meanwhile).
    b.run(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo live > /f; sleep 300",
    ])
    .ok();
    assert!(eventually(5, || b
        .run(&["diff", "live"])
        .stdout
        .contains("A /f")));
    b.run(&["commit", "live", "live:snap"]).ok();
    assert_eq!(state(&b, "live", "Status"), "running");
    assert_eq!(
        b.run(&["run", "--rm", "live:snap", "cat", "/f"])
            .ok()
            .stdout,
        "live\n"
    );
}

#[test]
fn interactive_stdin_reaches_the_container() {
    let b = with_busybox();
    let r = b
        .run_stdin(
            &[
                "run",
                "--rm",
                "-i",
                "busybox",
                "sh",
                "-c",
                "tr a-z A-Z; echo done",
            ],
            b"hello stdin\n",
        )
        .ok();
    assert_eq!(r.stdout, "HELLO STDIN\ndone\n");
    // Without -i the container's stdin is empty.
    let r = b
        .run_stdin(
            &["run", "--rm", "busybox", "sh", "-c", "cat; echo end"],
            b"ignored\n",
        )
        .ok();
    assert_eq!(r.stdout, "end\n");
    // -d -i keeps stdin open: a shell waiting for input stays up.
    b.run(&["run", "-d", "-i", "--name", "waiting", "busybox", "sh"])
        .ok();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state(&b, "waiting", "Running"), "true");
}

#[test]
fn events_record_the_lifecycle_across_processes() {
    let b = with_busybox();
    let start = chrono::Utc::now().to_rfc3339();
    assert_eq!(
        b.run(&["run", "--name", "ev", "busybox", "sh", "-c", "exit 4"])
            .code,
        4
    );
    b.run(&["rm", "ev"]).ok();
    let until = chrono::Utc::now().to_rfc3339();
    let all = b
        .run(&[
            "events",
            "--since",
            &start,
            "--until",
            &until,
            "--filter",
            "type=container",
            "--format",
            "{{.Action}} {{index .Actor.Attributes \"name\"}}",
        ])
        .ok()
        .stdout;
    let actions: Vec<&str> = all.lines().collect();
    assert_eq!(
        actions,
        vec!["create ev", "start ev", "die ev", "destroy ev"],
        "{all}"
    );
    let die = b
        .run(&[
            "events",
            "--since",
            &start,
            "--until",
            &until,
            "-f",
            "event=die",
        ])
        .ok()
        .stdout;
    assert!(
        die.contains(" container die ")
            && die.contains("exitCode=4")
            && die.contains("image=busybox"),
        "{die}"
    );
    // Following: a second process's actions show up in a running `events`.
    let mut follower = b
        .cmd()
        .args([
            "events",
            "--filter",
            "event=create",
            "--format",
            "{{.Type}} {{.Action}}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("events");
    std::thread::sleep(Duration::from_millis(300));
    b.run(&["create", "--name", "later", "busybox", "true"])
        .ok();
    std::thread::sleep(Duration::from_millis(500));
    let _ = follower.kill();
    let out = follower.wait_with_output().expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "container create\n");
}

#[test]
fn prune_tmpfs_and_log_rotation() {
    let b = with_busybox();
    // --tmpfs mounts a fresh tmpfs with the options given.
    let r = b
        .run(&[
            "run",
            "--rm",
            "--tmpfs",
            "/scratch:size=1m",
            "busybox",
            "sh",
            "-c",
            "grep ' /scratch ' /proc/mounts",
        ])
        .ok();
    assert!(
        r.stdout.starts_with("tmpfs /scratch tmpfs") && r.stdout.contains("size=1024k"),
        "{}",
        r.stdout
    );
    // --log-opt max-size/max-file rotate the json-file log; logs reads across files.
    b.run(&[
        "run",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=10k",
        "--log-opt",
        "max-file=2",
        "busybox",
        "seq",
        "1",
        "3000",
    ])
    .ok();
    let dir = b.path().join("containers");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("containers dir")
        .flatten()
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-json.log"))
        .collect();
    assert_eq!(files.len(), 2, "max-file=2 keeps two files: {files:?}");
    let tail = b.run(&["logs", "--tail", "2", "chatty"]).ok().stdout;
    assert_eq!(tail, "2999\n3000\n");
    // container prune removes stopped containers only; system prune -f the rest.
    b.run(&["run", "-d", "--name", "alive", "busybox", "sleep", "300"])
        .ok();
    let r = b.run(&["container", "prune", "-f"]).ok();
    assert!(
        r.stdout.starts_with("Deleted Containers:\n"),
        "{}",
        r.stdout
    );
    let left = b.run(&["ps", "-a", "--format", "{{.Names}}"]).ok().stdout;
    assert_eq!(left, "alive\n");
    b.run(&["rm", "-f", "alive"]).ok();
    b.run(&["create", "-v", "/anon", "busybox", "true"]).ok();
    let r = b.run(&["system", "prune", "-a", "-f", "--volumes"]).ok();
    assert!(
        r.stdout.contains("Deleted Containers:")
            && r.stdout.contains("Deleted Volumes:")
            && r.stdout.contains("Deleted Images:"),
        "{}",
        r.stdout
    );
    assert!(b.run(&["ps", "-aq"]).ok().stdout.is_empty());
    assert!(b.run(&["volume", "ls", "-q"]).ok().stdout.is_empty());
    assert!(b.run(&["images", "-aq"]).ok().stdout.is_empty());
}

#[test]
fn init_runs_as_pid_1_reaps_and_passes_the_exit_code() {
    let b = with_busybox();
    let r = b
        .run(&["run", "--rm", "--init", "busybox", "ps", "-o", "pid,comm"])
        .ok();
    assert!(
        r.stdout.contains("1 docker-init") && r.stdout.contains("ps"),
        "the init is PID 1 and runs the command: {}",
        r.stdout
    );
    let r = b.run(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 5"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    // An orphan is reparented to PID 1. `sleep` as PID 1 never reaps it (a zombie
    // stays); with --init, the init reaps it.
    let zombies = |init: bool| {
        let mut args = vec!["run", "-d"];
        if init {
            args.push("--init");
        }
        args.extend(["busybox", "sh", "-c", "(sleep 0.1 &); exec sleep 30"]);
        let id = b.run(&args).ok().stdout.trim().to_string();
        std::thread::sleep(Duration::from_millis(600));
        let ps = b.run(&["exec", &id, "ps", "-o", "stat,comm"]).ok().stdout;
        b.run(&["rm", "-f", &id]).ok();
        ps.lines()
            .filter(|l| l.trim_start().starts_with('Z'))
            .count()
    };
    assert_eq!(
        zombies(false),
        1,
        "without an init the orphan stays a zombie"
    );
    assert_eq!(zombies(true), 0, "the init reaps orphans");
    assert_eq!(
        b.run(&["run", "--rm", "--init", "busybox", "nope"]).code,
        127
    );
}

#[test]
fn volume_driver_options_mount_while_in_use() {
    let b = with_busybox();
    let mounts = || std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = b.path().display().to_string();

    // type=tmpfs with size and uid: a tmpfs while a container uses the volume.
    b.run(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m,uid=1000",
        "tv",
    ])
    .ok();
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            "tv:/data",
            "busybox",
            "grep",
            " /data ",
            "/proc/mounts",
        ])
        .ok();
    assert!(
        r.stdout.contains("tmpfs")
            && r.stdout.contains("size=1024k")
            && r.stdout.contains("uid=1000"),
        "{}",
        r.stdout
    );
    // Two users share the one mount; it goes away with the last.
    b.run(&[
        "run", "-d", "--name", "u1", "-v", "tv:/data", "busybox", "sleep", "100",
    ])
    .ok();
    b.run(&[
        "run",
        "--rm",
        "-v",
        "tv:/data",
        "busybox",
        "sh",
        "-c",
        "echo shared > /data/f",
    ])
    .ok();
    assert!(
        mounts().contains(&format!("{root}/volumes/tv/_data")),
        "still mounted for u1"
    );
    assert_eq!(
        b.run(&["exec", "u1", "cat", "/data/f"]).ok().stdout,
        "shared\n"
    );
    b.run(&["rm", "-f", "u1"]).ok();
    assert!(
        eventually(10, || !mounts()
            .contains(&format!("{root}/volumes/tv/_data"))),
        "unmounted when the last user stopped"
    );

    // type=none,o=bind: a host directory behind a named volume.
    let host = tempfile::tempdir().expect("tempdir");
    std::fs::write(host.path().join("h"), "from host\n").expect("write");
    let dev = format!("device={}", host.path().display());
    b.run(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        &dev,
        "-o",
        "o=bind",
        "bv",
    ])
    .ok();
    let r = b
        .run(&["run", "--rm", "-v", "bv:/d", "busybox", "cat", "/d/h"])
        .ok();
    assert_eq!(r.stdout, "from host\n");
    let r = b
        .run(&[
            "volume",
            "inspect",
            "-f",
            "{{.Options.type}} {{.Options.o}}",
            "bv",
        ])
        .ok();
    assert_eq!(r.stdout.trim(), "none bind");

    // Bad options are refused at create, naming the problem.
    let r = b.run(&["volume", "create", "-o", "foo=bar", "bad"]).fails();
    assert!(
        r.stderr.contains("invalid option key: \"foo\""),
        "{}",
        r.stderr
    );
    let r = b
        .run(&["volume", "create", "-o", "type=tmpfs", "bad"])
        .fails();
    assert!(
        r.stderr.contains("missing required option: \"device\""),
        "{}",
        r.stderr
    );
    // A device that cannot be mounted fails the start with Docker's wording.
    b.run(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "device=/nonexistent-berth",
        "-o",
        "o=bind",
        "nv",
    ])
    .ok();
    let r = b
        .run(&["run", "--rm", "-v", "nv:/d", "busybox", "true"])
        .fails();
    assert!(
        r.stderr.contains("failed to mount local volume"),
        "{}",
        r.stderr
    );
}

#[test]
fn port_lists_published_ports() {
    let b = with_busybox();
    b.run(&["run", "-d", "--name", "pp", "busybox", "sleep", "100"])
        .ok();
    assert_eq!(b.run(&["port", "pp"]).ok().stdout, "");
    let r = b.run(&["port", "pp", "80"]).fails();
    assert!(
        r.stderr
            .contains("No public port '80/tcp' published for pp"),
        "{}",
        r.stderr
    );
    b.run(&[
        "run",
        "-d",
        "--name",
        "pq",
        "-p",
        "127.0.0.1::80",
        "-p",
        "53/udp",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let listed = b.run(&["port", "pq"]).ok().stdout;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("53/udp -> 0.0.0.0:"), "{listed}");
    assert!(lines[1].starts_with("80/tcp -> 127.0.0.1:"), "{listed}");
    let one = b.run(&["port", "pq", "80"]).ok().stdout;
    assert!(one.starts_with("127.0.0.1:"), "{one}");
}

#[test]
fn loopback_is_up_and_stop_restart_events_come_in_dockers_order() {
    let b = with_busybox();
    let r = b
        .run(&[
            "run",
            "--rm",
            "busybox",
            "ping",
            "-c",
            "1",
            "-W",
            "2",
            "127.0.0.1",
        ])
        .ok();
    assert!(r.stdout.contains("1 packets received"), "{}", r.stdout);

    b.run(&["run", "-d", "--name", "ev", "busybox", "sleep", "100"])
        .ok();
    b.run(&["stop", "-t", "1", "ev"]).ok();
    b.run(&["restart", "-t", "1", "ev"]).ok();
    let ev = b
        .run(&[
            "events",
            "--since",
            "0",
            "--until",
            "0s",
            "--filter",
            "container=ev",
            "--format",
            "{{.Action}}",
        ])
        .ok()
        .stdout;
    let actions: Vec<&str> = ev
        .lines()
        .map(|l| l.split(':').next().unwrap_or(l))
        .collect();
    assert_eq!(
        actions,
        ["create", "start", "kill", "kill", "die", "stop", "start", "restart"],
        "{ev}"
    );
}

#[test]
fn rm_containers_skip_the_unmount_sync_others_keep_it() {
    let b = with_busybox();
    // overlayfs `volatile` shows in the rootfs's mount options.
    let r = b
        .run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "grep '^overlay / ' /proc/mounts",
        ])
        .ok();
    assert!(r.stdout.contains("volatile"), "{}", r.stdout);
    let r = b
        .run(&[
            "run",
            "busybox",
            "sh",
            "-c",
            "grep '^overlay / ' /proc/mounts",
        ])
        .ok();
    assert!(!r.stdout.contains("volatile"), "{}", r.stdout);
}

#[test]
fn processes_left_in_the_cgroup_die_with_the_init_under_pid_host() {
    // With the host's PID namespace, the init's exit does not take its children along;
    // the monitor kills what is left in the container's cgroup, as runc does.
    let b = with_busybox();
    let r = b
        .run(&[
            "run",
            "--name",
            "leftover",
            "--pid",
            "host",
            "busybox",
            "sh",
            "-c",
            "sleep 3117 >/dev/null 2>&1 & echo $!",
        ])
        .ok();
    let pid: i32 = r.stdout.trim().parse().expect("the background sleep's pid");
    assert!(
        eventually(5, || gone(pid)),
        "sleep {pid} outlived its container"
    );
    let id = b
        .run(&["inspect", "-f", "{{.Id}}", "leftover"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert!(
        !std::path::Path::new(&format!("/sys/fs/cgroup/pids/berth-{id}")).exists(),
        "the container's cgroup is still there"
    );
}
