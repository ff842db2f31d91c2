//! The real docker CLI (28.x on the machine) against `berth serve`.

mod api_support;
mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use api_support::{http, Server};
use common::{eventually, with_busybox, Pty};

#[test]
fn version_info_and_run_rm() {
    let b = with_busybox();
    let s = Server::start(&b);
    let v = s.ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(v.trim(), "1.51 1.24 linux");
    let info = s.ok(&[
        "info",
        "--format",
        "{{.Images}} {{.LoggingDriver}} {{.OSType}}",
    ]);
    assert_eq!(info.trim(), "1 json-file linux");

    assert_eq!(s.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi\n");
    let (code, _, _) = s.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(code, 7, "run's exit code is the container's");
    let (code, _, err) = s.run(&["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(code, 127, "a missing command is 127 as with dockerd: {err}");
    assert!(err.contains("nosuchcmd"), "{err}");
    // run -it: a pending attach with a terminal, stdin and the terminal's size.
    let mut cmd = s.docker();
    cmd.args(["run", "-it", "--rm", "busybox", "sh"]);
    let mut pty = Pty::spawn_command(cmd, 33, 99);
    pty.expect("# ", 15);
    pty.send(b"stty size; echo run-it-$((2+3))\r");
    pty.expect("run-it-5", 15);
    pty.expect("33 99", 5);
    pty.send(b"exit 6\r");
    assert_eq!(pty.wait(15), 6, "run -it's exit code: {}", pty.text());

    // --rm left nothing behind.
    assert_eq!(s.ok(&["ps", "-aq"]), "");

    // A missing image: the CLI pulls through the server, which reports the registry's
    // failure (Docker Hub is out of reach here).
    let (code, _, err) = s.run(&["run", "--rm", "nosuchimage:1"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("Unable to find image 'nosuchimage:1' locally"),
        "{err}"
    );
    assert!(err.contains("registry-1.docker.io"), "{err}");
}

/// Command lines of the monitor processes of container `id`.
fn monitors_of(id: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("__monitor") && c.contains(id))
        .collect()
}

/// A container created through the API gets its monitor at the create, in standby, and
/// the start goes to that process; one removed unstarted takes its standby with it.
#[test]
fn the_start_goes_to_the_monitor_spawned_at_the_create() {
    let b = with_busybox();
    let s = Server::start(&b);
    let id = s.ok(&[
        "create",
        "busybox",
        "sh",
        "-c",
        "echo from-standby; sleep 30",
    ]);
    let id = id.trim();
    assert!(
        eventually(10, || monitors_of(id).len() == 1),
        "a standby monitor: {:?}",
        monitors_of(id)
    );
    assert!(monitors_of(id)[0].contains("--standby"));
    s.ok(&["start", id]);
    let mons = monitors_of(id);
    assert!(
        mons.len() == 1 && mons[0].contains("--standby"),
        "the standby runs the container, no second monitor: {mons:?}"
    );
    assert!(eventually(10, || s.ok(&["logs", id]) == "from-standby\n"));
    s.ok(&["rm", "-f", id]);

    let id = s.ok(&["create", "busybox", "true"]);
    let id = id.trim();
    assert!(eventually(10, || monitors_of(id).len() == 1));
    s.ok(&["rm", id]);
    assert!(
        eventually(10, || monitors_of(id).is_empty()),
        "the removed container's standby exits: {:?}",
        monitors_of(id)
    );
}

#[test]
fn detached_container_logs_exec_cp_and_friends() {
    let b = with_busybox();
    let s = Server::start(&b);
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");

    // logs -f follows until the client goes away.
    let mut follow = s
        .docker()
        .args(["logs", "-f", "web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker logs -f");
    let mut out = follow.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("tick 3") {
        let n = out.read(&mut buf).expect("reading logs -f");
        assert!(
            n > 0,
            "logs -f ended early: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let _ = follow.kill();
    let _ = follow.wait();

    // exec without and with a terminal.
    assert_eq!(s.ok(&["exec", "web", "echo", "from-exec"]), "from-exec\n");
    assert_eq!(s.run(&["exec", "web", "sh", "-c", "exit 3"]).0, 3);
    assert_eq!(s.run(&["exec", "web", "nosuchcmd"]).0, 127);
    let mut cmd = s.docker();
    cmd.args(["exec", "-it", "web", "sh"]);
    let mut pty = Pty::spawn_command(cmd, 30, 100);
    pty.expect("# ", 15);
    pty.send(b"stty size; echo in-pty-$((40+2))\r");
    pty.expect("in-pty-42", 15);
    pty.expect("30 100", 5);
    pty.send(b"exit 4\r");
    assert_eq!(pty.wait(15), 4, "exec -it's exit code: {}", pty.text());

    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Image}}"]);
    assert_eq!(ps.trim(), "web running busybox");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.State.Status}} {{.Name}}", "web"])
            .trim(),
        "running /web"
    );
    // The loop's sleep is briefly absent between two sleeps: take a sample with it.
    let sample = |args: &[&str]| {
        let mut top = String::new();
        eventually(5, || {
            top = s.ok(args);
            top.contains("sleep")
        });
        top
    };
    let top = sample(&["top", "web"]);
    assert!(top.contains("PID") && top.contains("sleep"), "{top}");
    // ps options go to the host's ps, limited to the container's processes.
    let top = sample(&["top", "web", "-o", "pid,comm"]);
    let mut lines = top.lines();
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>),
        Some(vec!["PID", "COMMAND"]),
        "{top}"
    );
    assert!(
        lines.all(|l| !l.contains("dockerd") && !l.contains("berth")),
        "{top}"
    );
    assert!(top.contains("sleep"), "{top}");
    let stats = s.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "web",
    ]);
    assert!(stats.starts_with("web "), "{stats}");

    // cp both ways, then diff sees the new file.
    let host_file = b.path().join("hello.txt");
    std::fs::write(&host_file, "hello from the host\n").expect("writing a host file");
    s.ok(&[
        "cp",
        host_file.to_str().expect("utf-8"),
        "web:/tmp/hello.txt",
    ]);
    let back = b.path().join("back");
    s.ok(&["cp", "web:/tmp/hello.txt", back.to_str().expect("utf-8")]);
    assert_eq!(
        std::fs::read_to_string(&back).expect("copied back"),
        "hello from the host\n"
    );
    let diff = s.ok(&["diff", "web"]);
    assert!(diff.lines().any(|l| l == "A /tmp/hello.txt"), "{diff}");

    // commit makes an image with the file.
    s.ok(&["commit", "web", "snap:1"]);
    assert_eq!(
        s.ok(&["run", "--rm", "snap:1", "cat", "/tmp/hello.txt"]),
        "hello from the host\n"
    );

    s.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.State.Running}}", "web"]).trim(),
        "false"
    );
    s.ok(&["rm", "web"]);
    let (code, _, err) = s.run(&["inspect", "web"]);
    assert_ne!(code, 0);
    assert!(err.contains("No such"), "{err}");
}

#[test]
fn images_volumes_events_and_prune() {
    let b = with_busybox();
    let s = Server::start(&b);
    let since = chrono_now_secs();
    let images = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.trim(), "busybox:latest");
    s.ok(&["tag", "busybox", "mine/bb:2"]);
    let images = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.contains("mine/bb:2"), "{images}");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Id}}", "mine/bb:2"]),
        s.ok(&["inspect", "-f", "{{.Id}}", "busybox"])
    );
    let hist = s.ok(&["history", "-q", "busybox"]);
    assert!(!hist.trim().is_empty());

    // save, remove, load back.
    let tar = b.path().join("saved.tar");
    s.ok(&["save", "-o", tar.to_str().expect("utf-8"), "mine/bb:2"]);
    let out = s.ok(&["rmi", "mine/bb:2"]);
    assert!(out.contains("Untagged: mine/bb:2"), "{out}");
    let out = s.ok(&["load", "-i", tar.to_str().expect("utf-8")]);
    assert!(out.contains("Loaded image: mine/bb:2"), "{out}");

    // Volumes.
    s.ok(&["volume", "create", "--label", "k=v", "data1"]);
    assert_eq!(
        s.ok(&["volume", "ls", "-q", "--filter", "label=k=v"])
            .trim(),
        "data1"
    );
    let mp = s.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "data1"]);
    assert!(mp.trim().ends_with("/volumes/data1/_data"), "{mp}");
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-v",
            "data1:/d",
            "busybox",
            "sh",
            "-c",
            "echo x > /d/f; cat /d/f"
        ]),
        "x\n"
    );
    s.ok(&["volume", "rm", "data1"]);
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), "");
    let nets = s.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        nets.split_whitespace().collect::<Vec<_>>(),
        ["bridge", "host", "none"]
    );

    // Container prune takes stopped containers only.
    s.ok(&["run", "--name", "done", "busybox", "true"]);
    s.ok(&["run", "-d", "--name", "alive", "busybox", "sleep", "60"]);
    let out = s.ok(&["container", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    let left = s.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(left.trim(), "alive");
    let df = s.ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(
        df.contains("Images 1") && df.contains("Containers 1"),
        "{df}"
    );
    s.ok(&["rm", "-f", "alive"]);

    // Events since the start of the test, up to now.
    let until = (chrono_now_secs() + 1).to_string();
    let ev = s.ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until,
        "--format",
        "{{.Type}} {{.Action}}",
    ]);
    for want in [
        "image tag",
        "image untag",
        "image load",
        "volume create",
        "container start",
        "container destroy",
    ] {
        assert!(ev.lines().any(|l| l == want), "no {want:?} event in:\n{ev}");
    }
    let ev = s.ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until,
        "--filter",
        "type=volume",
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(
        ev.split_whitespace().collect::<Vec<_>>(),
        ["create", "destroy"]
    );
}

fn chrono_now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
fn bad_input_gets_clear_4xx_and_streams_end_with_their_clients() {
    let b = with_busybox();
    let s = Server::start(&b);
    let (st, body) = http(&s.sock, "POST", "/v1.50/containers/create", b"{not json");
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("malformed JSON"), "{body}");
    let (st, body) = http(
        &s.sock,
        "POST",
        "/v1.50/containers/create",
        br#"{"Image":"busybox","Bogus":1}"#,
    );
    assert_eq!(st, 400, "{body}");
    assert!(
        body.contains("unknown field") && body.contains("Bogus"),
        "{body}"
    );
    let (st, body) = http(
        &s.sock,
        "POST",
        "/v1.50/containers/create",
        br#"{"Image":"busybox","Cmd":"not a list"}"#,
    );
    assert_eq!(st, 400, "{body}");
    let huge = vec![b' '; 3 << 20];
    let (st, body) = http(&s.sock, "POST", "/v1.50/containers/create", &huge);
    assert_eq!(st, 413, "a body over the limit is refused: {body}");
    assert!(
        body.contains("\"message\":\"request body too large"),
        "{body}"
    );
    let (st, body) = http(
        &s.sock,
        "POST",
        "/v1.50/containers/create?name=bad%20name!",
        br#"{"Image":"busybox"}"#,
    );
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("bad name!"), "{body}");
    let (st, body) = http(&s.sock, "GET", "/v1.12/containers/json", b"");
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("too old"), "{body}");
    let (st, body) = http(&s.sock, "GET", "/containers/nope/json", b"");
    assert_eq!(st, 404, "{body}");
    assert!(body.contains("nope"), "{body}");
    let (st, body) = http(&s.sock, "GET", "/containers/json?filters=%7Bbad", b"");
    assert_eq!(st, 400, "{body}");
    let (st, _) = http(&s.sock, "GET", "/nowhere", b"");
    assert_eq!(st, 404);
    // Conflicts: removing a running container.
    s.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "60"]);
    let (st, body) = http(&s.sock, "DELETE", "/containers/busy", b"");
    assert_eq!(st, 409, "{body}");
    assert!(body.contains("stop the container"), "{body}");
    let (st, _) = http(&s.sock, "GET", "/_ping", b"");
    assert_eq!(st, 200);

    // Followers (logs, events, stats) end when their client goes away.
    let idle = s.threads();
    for path in [
        "/containers/busy/logs?follow=1&stdout=1",
        "/events",
        "/containers/busy/stats",
    ] {
        use std::io::Write;
        let mut c = std::os::unix::net::UnixStream::connect(&s.sock).expect("connect");
        write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
        let mut first = [0u8; 64];
        let _ = c.read(&mut first);
        drop(c);
    }
    assert!(
        eventually(30, || s.threads() <= idle),
        "server threads stayed at {} (idle {idle}) after the clients left",
        s.threads()
    );
    std::thread::sleep(Duration::from_millis(10));
}
