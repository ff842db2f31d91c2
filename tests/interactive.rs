//! Terminals, attach and exec end to end through the real binary, as root: `-it` on a
//! real pseudo-terminal, detach keys, `attach`, and `exec` joining a running container
//! with its user, capabilities, seccomp filter and cgroup.

mod common;

use std::time::Duration;

use common::{state, with_busybox, Pty};

#[test]
fn run_it_gets_a_terminal_detaches_and_reattaches() {
    let b = with_busybox();
    let mut t = Pty::spawn(
        &b,
        &["run", "-it", "--name", "shell", "busybox", "sh"],
        30,
        100,
    );
    t.expect("/ # ", 10);
    t.send(b"tty; stty size; echo $TERM; echo sum=$((20+22))\r");
    t.expect("sum=42", 10);
    let text = t.text();
    assert!(
        text.contains("/dev/console") || text.contains("/dev/pts/"),
        "{text}"
    );
    assert!(
        text.contains("30 100"),
        "the window size reaches the container: {text}"
    );
    assert!(text.contains("xterm"), "TERM is set with -t: {text}");
    // Ctrl-P Ctrl-Q detaches: berth exits 0 and the container keeps running.
    t.send(b"\x10\x11");
    assert_eq!(t.wait(10), 0);
    assert_eq!(state(&b, "shell", "Running"), "true");

    // attach finds it again (and takes our window size); exiting the shell ends attach
    // with its exit code.
    let mut t = Pty::spawn(&b, &["attach", "shell"], 24, 80);
    t.send(b"echo back=$((1+1)) $(stty size)\r");
    t.expect("back=2 24 80", 10);
    t.resize(50, 132);
    t.send(b"echo now=$(stty size)\r");
    t.expect("now=50 132", 10);
    t.send(b"exit 3\r");
    assert_eq!(t.wait(10), 3);
    assert_eq!(state(&b, "shell", "ExitCode"), "3");
    // Logs of a tty container hold what the terminal showed.
    let logs = b.run(&["logs", "shell"]).ok().stdout;
    assert!(logs.contains("sum=42"), "{logs}");

    // Custom detach keys, and `start -ai` of the stopped container.
    let mut t = Pty::spawn(
        &b,
        &["start", "-ai", "--detach-keys", "ctrl-x,x", "shell"],
        24,
        80,
    );
    t.expect("/ # ", 10);
    t.send(b"\x18x");
    assert_eq!(t.wait(10), 0);
    assert_eq!(state(&b, "shell", "Running"), "true");
    b.run(&["rm", "-f", "shell"]).ok();
}

#[test]
fn run_it_without_a_terminal_is_refused_like_docker() {
    let b = with_busybox();
    let r = b.run(&["run", "-it", "--rm", "busybox", "true"]).fails();
    assert!(
        r.stderr.contains("the input device is not a TTY"),
        "{}",
        r.stderr
    );
    let r = b.run(&["run", "--detach-keys", "ctrl-", "--rm", "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("Invalid detach keys"), "{}", r.stderr);
    // -t alone works without a terminal on our side: output comes through the pty.
    let r = b
        .run(&["run", "-t", "--rm", "busybox", "sh", "-c", "tty; echo hi"])
        .ok();
    assert!(r.stdout.contains("hi\r\n"), "{:?}", r.stdout);
}

#[test]
fn attach_streams_output_and_forwards_stdin() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "-i",
        "--name",
        "reader",
        "busybox",
        "sh",
        "-c",
        "while read l; do echo got $l; [ \"$l\" = quit ] && exit 9; done",
    ])
    .ok();
    // Two lines through attach's stdin; the second makes the container exit.
    let r = b.run_stdin(&["attach", "reader"], b"hello\nquit\n");
    assert_eq!(r.code, 9, "attach returns the exit code: {}", r.stderr);
    assert_eq!(r.stdout, "got hello\ngot quit\n");
    let r = b.run(&["attach", "reader"]).fails();
    assert!(
        r.stderr
            .contains("You cannot attach to a stopped container"),
        "{}",
        r.stderr
    );
}

#[test]
fn exec_runs_inside_the_container_with_its_confinement() {
    let b = with_busybox();
    let id = b
        .run(&[
            "run",
            "-d",
            "--name",
            "box",
            "-e",
            "FROM_RUN=1",
            "busybox",
            "sleep",
            "1000",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();

    let r = b
        .run(&["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 4"])
        .fails();
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (4, "out\n", "err\n")
    );

    // Same confinement as the container's own processes: capabilities, seccomp, cgroup,
    // pid namespace.
    let init = b.run(&["exec", "box", "cat", "/proc/1/status"]).ok().stdout;
    let mine = b
        .run(&["exec", "box", "cat", "/proc/self/status"])
        .ok()
        .stdout;
    let field = |s: &str, k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    for k in ["CapEff:", "CapBnd:", "Seccomp:", "NoNewPrivs:"] {
        assert_eq!(
            field(&init, k),
            field(&mine, k),
            "{k} differs from the init's"
        );
    }
    assert_eq!(
        field(&mine, "Seccomp:"),
        "Seccomp:\t2",
        "the seccomp filter applies to exec"
    );
    let cg = b
        .run(&["exec", "box", "cat", "/proc/self/cgroup"])
        .ok()
        .stdout;
    assert!(cg.contains(&format!("berth-{id}")), "{cg}");
    let ps = b.run(&["exec", "box", "ps", "-o", "pid,comm"]).ok().stdout;
    assert!(
        ps.contains("1 sleep"),
        "exec sees the container's pid namespace: {ps}"
    );

    // Environment, user and working directory.
    let r = b
        .run(&[
            "exec",
            "-e",
            "EXTRA=2",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "box",
            "sh",
            "-c",
            "echo $FROM_RUN $EXTRA; id -u; pwd; grep CapEff /proc/self/status",
        ])
        .ok();
    assert_eq!(r.stdout, "1 2\n65534\n/tmp\nCapEff:\t0000000000000000\n");
    let r = b
        .run(&[
            "exec",
            "--privileged",
            "box",
            "grep",
            "Seccomp:",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(r.stdout, "Seccomp:\t0\n", "--privileged exec is unconfined");

    // stdin with -i, and its end reaching the process.
    let r = b
        .run_stdin(
            &["exec", "-i", "box", "sh", "-c", "tr a-z A-Z; echo eof"],
            b"abc\n",
        )
        .ok();
    assert_eq!(r.stdout, "ABC\neof\n");

    // Docker's exit codes and messages for commands that cannot run.
    let r = b.run(&["exec", "box", "nope"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found in $PATH"),
        "{}",
        r.stderr
    );
    let r = b.run(&["exec", "box", "/etc"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    let r = b.run(&["exec", "-u", "nosuchuser", "box", "true"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("unable to find user nosuchuser"),
        "{}",
        r.stderr
    );

    // -d: runs in the background.
    b.run(&[
        "exec",
        "-d",
        "box",
        "sh",
        "-c",
        "sleep 0.2; echo done > /tmp/bg",
    ])
    .ok();
    let mut seen = String::new();
    for _ in 0..50 {
        seen = b.run(&["exec", "box", "cat", "/tmp/bg"]).stdout;
        if seen == "done\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen, "done\n");

    // Events name the exec.
    let ev = b
        .run(&[
            "events",
            "--since",
            "0",
            "--until",
            "0s",
            "--filter",
            "container=box",
        ])
        .ok()
        .stdout;
    assert!(ev.contains("exec_start") && ev.contains("exec_die"), "{ev}");

    // A stopped or paused container refuses exec.
    b.run(&["pause", "box"]).ok();
    let r = b.run(&["exec", "box", "true"]).fails();
    assert!(
        r.stderr
            .contains("is paused, unpause the container before exec"),
        "{}",
        r.stderr
    );
    b.run(&["unpause", "box"]).ok();
    b.run(&["stop", "-t", "0", "box"]).ok();
    let r = b.run(&["exec", "box", "true"]).fails();
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
}

#[test]
fn exec_it_gets_its_own_terminal() {
    let b = with_busybox();
    b.run(&["run", "-d", "--name", "box", "busybox", "sleep", "1000"])
        .ok();
    let mut t = Pty::spawn(&b, &["exec", "-it", "box", "sh"], 40, 120);
    t.expect("# ", 10);
    t.send(b"tty; stty size; echo $TERM\r");
    t.expect("xterm", 10);
    let text = t.text();
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("40 120"), "{text}");
    // Resizing our terminal resizes the exec's.
    t.resize(33, 77);
    t.send(b"echo size=$(stty size)\r");
    t.expect("size=33 77", 10);
    t.send(b"exit 6\r");
    assert_eq!(t.wait(10), 6);
    // The container was not affected.
    assert_eq!(state(&b, "box", "Running"), "true");
}

#[test]
fn signals_to_an_attached_run_reach_the_container() {
    use std::io::{BufRead, BufReader};
    let b = with_busybox();
    let mut child = b
        .cmd()
        .args([
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got INT; exit 4' INT; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning berth");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("reading");
    assert_eq!(line, "ready\n");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    line.clear();
    out.read_line(&mut line).expect("reading");
    assert_eq!(line, "got INT\n", "Ctrl-C went to the container");
    let status = child.wait().expect("waiting");
    assert_eq!(status.code(), Some(4));
    // --sig-proxy=false: the signal ends berth instead, and the container goes on.
    let mut child = b
        .cmd()
        .args([
            "run",
            "--sig-proxy=false",
            "--name",
            "np",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 4' INT; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning berth");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    line.clear();
    out.read_line(&mut line).expect("reading");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("waiting");
    assert_ne!(status.code(), Some(4));
    assert_eq!(state(&b, "np", "Running"), "true");
}
