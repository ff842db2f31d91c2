//! The user walkthroughs of reference-features.md §12 (numbers 2, 4, 5, 6, 7, 9, 12, 13,
//! 14 and 20), end to end through the real binary, as root. Each test follows one story
//! step by step, typing what the user types (on a real terminal where the story is
//! interactive) and checking what the user sees at each step: output, `ps -a` status,
//! exit codes and Docker's error messages.
//!
//! Adaptations, because there is no registry or bridge network here yet: the busybox
//! fixture stands in for ubuntu (tagged `ubuntu:14.04` and `ubuntu:latest`), `sh` for
//! `/bin/bash`, and steps that publish ports (`-P`, `-p`, the sshd image over ssh) wait
//! for the networking work.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{eventually, with_busybox, Berth, Pty, Run};

/// busybox under the names the stories pull.
fn with_ubuntu() -> Berth {
    let b = with_busybox();
    b.run(&["tag", "busybox", "ubuntu:14.04"]).ok();
    b.run(&["tag", "busybox", "ubuntu:latest"]).ok();
    b
}

fn inspect(b: &Berth, format: &str, name: &str) -> String {
    b.run(&["inspect", "-f", format, name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// The full id `run -d` / `create` print.
#[track_caller]
fn full_id(r: Run) -> String {
    let id = r.stdout.trim().to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|c| c.is_ascii_hexdigit()),
        "expected a container id, saw {:?} (stderr {:?})",
        r.stdout,
        r.stderr
    );
    id
}

/// The `ps -a` row of a container (by any id at least 12 long), as the user reads it.
#[track_caller]
fn ps_row(b: &Berth, id: &str) -> String {
    let table = b.run(&["ps", "-a"]).ok().stdout;
    table
        .lines()
        .find(|l| l.starts_with(&id[..12]))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no row for {id} in `ps -a`:\n{table}"))
}

/// The `images` row of REPOSITORY and TAG, split into its columns.
#[track_caller]
fn image_row(b: &Berth, repo: &str, tag: &str) -> Vec<String> {
    let table = b.run(&["images"]).ok().stdout;
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[0] == repo && f[1] == tag)
        .unwrap_or_else(|| panic!("no {repo}:{tag} row in `images`:\n{table}"))
}

/// The 12-hex-digit word printed right after `marker` on a terminal (the typed command
/// line shows `marker$(...)`, which is skipped).
#[track_caller]
fn short_id_after(text: &str, marker: &str) -> String {
    text.match_indices(marker)
        .map(|(i, _)| &text[i + marker.len()..])
        .filter_map(|rest| rest.get(..12))
        .find(|w| w.bytes().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no id after {marker:?} on the terminal: {text:?}"))
}

/// Lines of a terminal transcript split into words (busybox `ps` rows and the like).
fn words(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

fn tar_names(path: &Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    tar::Archive::new(f)
        .entries()
        .expect("a tar")
        .map(|e| {
            let e = e.expect("tar entry");
            e.path()
                .expect("entry path")
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

/// A field of a `/proc/<pid>/status` dump (`CapEff:`, `Seccomp:` ...), value only.
fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {status:?}"))
}

/// #2: `docker run ubuntu:14.04 echo 'hello! I am here!'` → `docker rmi ubuntu:14.04` →
/// conflict → `docker rm <id>` → rmi succeeds; or `rmi -f`.
#[test]
fn walkthrough_02_rmi_blocked_by_a_container() {
    let b = with_busybox();
    // After `docker pull ubuntu:14.04` that tag is the image's only name. With a second
    // tag rmi would only untag and nothing conflicts (Docker's rule too), so the
    // fixture's own busybox:latest name goes first.
    b.run(&["tag", "busybox", "ubuntu:14.04"]).ok();
    assert_eq!(
        b.run(&["rmi", "busybox"]).ok().stdout,
        "Untagged: busybox:latest\n"
    );
    let image = b.image_id("ubuntu:14.04");
    let short_image = &image["sha256:".len()..][..12];

    let r = b
        .run(&["run", "ubuntu:14.04", "echo", "hello! I am here!"])
        .ok();
    assert_eq!(r.stdout, "hello! I am here!\n");
    let cid = b.run(&["ps", "-lq"]).ok().stdout.trim().to_string();
    assert_eq!(cid.len(), 12, "ps -lq shows the short id: {cid:?}");
    assert!(
        ps_row(&b, &cid).contains("Exited (0) "),
        "{}",
        ps_row(&b, &cid)
    );

    let r = b.run(&["rmi", "ubuntu:14.04"]);
    let want = format!(
        "conflict: unable to remove repository reference \"ubuntu:14.04\" (must force) - container {cid} is using its referenced image {short_image}"
    );
    assert_eq!(r.code, 1, "rmi should fail like Docker's: {}", r.stderr);
    assert!(
        r.stderr.contains(&want),
        "expected {want:?}, saw {:?}",
        r.stderr
    );
    assert_eq!(image_row(&b, "ubuntu", "14.04")[2], short_image);

    // The recommended order: remove the container, then the image.
    assert_eq!(b.run(&["rm", &cid]).ok().stdout, format!("{cid}\n"));
    let r = b.run(&["rmi", "ubuntu:14.04"]).ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"Untagged: ubuntu:14.04"),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines.get(1),
        Some(&&*format!("Deleted: {image}")),
        "{}",
        r.stdout
    );
    assert!(
        lines[2..].iter().all(|l| l.starts_with("Deleted: sha256:")),
        "then the layers: {}",
        r.stdout
    );
    assert!(b.run(&["images", "-aq"]).ok().stdout.is_empty());

    // The forced route: `rmi -f` removes the name even though a stopped container uses
    // the image. (Docker also drops the image record at this point and prints
    // "Deleted: sha256:..."; berth keeps it as a dangling image until the container
    // goes, so only the Untagged line is checked.)
    b.load("busybox-docker-archive.tar");
    b.run(&["tag", "busybox", "ubuntu:14.04"]).ok();
    b.run(&["rmi", "busybox"]).ok();
    b.run(&["run", "ubuntu:14.04", "echo", "hello! I am here!"])
        .ok();
    let cid = b.run(&["ps", "-lq"]).ok().stdout.trim().to_string();
    let r = b.run(&["rmi", "-f", "ubuntu:14.04"]).ok();
    assert_eq!(
        r.stdout.lines().next(),
        Some("Untagged: ubuntu:14.04"),
        "{}",
        r.stdout
    );
    let images = b.run(&["images"]).ok().stdout;
    assert!(!images.contains("14.04"), "the tag is gone: {images}");
    // Like Docker, `ps` shows the image id once the name no longer leads to it.
    let row = ps_row(&b, &cid);
    assert!(
        row.contains(&format!("   {short_image}   ")),
        "IMAGE column: {row}"
    );
    // The container still has its filesystem and runs again.
    let r = b.run(&["start", "-a", &cid]).ok();
    assert_eq!(r.stdout, "hello! I am here!\n");
    // A running container blocks even a forced delete by id, also when an older,
    // stopped container uses the image too (berth used to look at the oldest only).
    let running = full_id(b.run(&["run", "-d", short_image, "sleep", "1000"]).ok());
    let r = b.run(&["rmi", "-f", short_image]);
    let want = format!(
        "conflict: unable to delete {short_image} (cannot be forced) - image is being used by running container {}",
        &running[..12]
    );
    assert!(
        r.code != 0 && r.stderr.contains(&want),
        "expected {want:?}, saw {:?}",
        r.stderr
    );
    b.run(&["rm", "-f", &cid, &running]).ok();
    let r = b.run(&["rmi", short_image]).ok();
    assert!(
        r.stdout.starts_with(&format!("Deleted: {image}\n")),
        "{}",
        r.stdout
    );
}

/// #4: `docker create -it ubuntu:latest` (Created) → `docker start af` →
/// `docker run -it ubuntu:14.04 /bin/bash` → `ps` → `exit` (Exited) → `docker ps -a`.
#[test]
fn walkthrough_04_interactive_container_lifecycle() {
    let b = with_ubuntu();
    let created = full_id(b.run(&["create", "-it", "ubuntu:latest"]).ok());
    let row = ps_row(&b, &created);
    assert!(
        row.contains("ubuntu:latest") && row.contains("\"sh\"") && row.contains("   Created   "),
        "{row}"
    );
    assert!(
        b.run(&["ps", "-q"]).ok().stdout.is_empty(),
        "a created container is not running"
    );

    // `docker start af`: a unique prefix is enough, and start echoes what was typed.
    let prefix = &created[..2];
    assert_eq!(b.run(&["start", prefix]).ok().stdout, format!("{prefix}\n"));
    // With -it the shell has a terminal and an open stdin, so it stays up unattended.
    assert!(
        eventually(10, || ps_row(&b, &created).contains("   Up ")),
        "{}",
        ps_row(&b, &created)
    );

    let mut t = Pty::spawn(&b, &["run", "-it", "ubuntu:14.04", "sh"], 24, 80);
    t.expect("/ # ", 20);
    // The prompt of the story shows the id (root@af8bae53bdd3:/#); busybox's does not,
    // so the user asks for the hostname, which is the short id.
    t.send(b"ps; echo id=$(hostname) end-$((2+2))\r");
    t.expect("end-4", 10);
    let text = t.text();
    let rows = words(&text);
    assert!(
        rows.iter()
            .any(|w| w.first() == Some(&"1") && w.last() == Some(&"sh")),
        "the shell is PID 1: {text:?}"
    );
    assert!(
        rows.iter()
            .any(|w| w.first().is_some_and(|p| p.parse::<u32>().is_ok())
                && w.iter().any(|c| c.contains("ps"))),
        "ps sees itself: {text:?}"
    );
    let procs = rows
        .iter()
        .filter(|w| w.first().is_some_and(|p| p.parse::<u32>().is_ok()))
        .count();
    assert_eq!(
        procs, 2,
        "only the shell and ps, no host processes: {text:?}"
    );
    let short = short_id_after(&text, "id=");
    assert_eq!(
        b.run(&["ps", "-q", "--filter", &format!("id={short}")])
            .ok()
            .stdout,
        format!("{short}\n")
    );
    t.send(b"exit\r");
    assert_eq!(t.wait(10), 0, "exit ends run -it: {:?}", t.text());

    let table = b.run(&["ps", "-a"]).ok().stdout;
    assert!(table.starts_with("CONTAINER ID   IMAGE "), "{table}");
    let row = ps_row(&b, &short);
    assert!(
        row.contains("ubuntu:14.04") && row.contains("   Exited (0) "),
        "{row}"
    );
    assert!(ps_row(&b, &created).contains("   Up "), "{table}");
}

/// #5: `docker run -d ubuntu /bin/sh -c "while true; do echo hello world; sleep 1; done"`
/// → `docker logs ce5` → `docker stop ce5` → `docker ps -qa` → `docker start ce5` →
/// `docker restart ce5` → `docker rm` fails while running → `docker rm -f`.
#[test]
fn walkthrough_05_background_container_logs_stop_start_restart_rm() {
    let b = with_ubuntu();
    let id = full_id(
        b.run(&[
            "run",
            "-d",
            "ubuntu",
            "/bin/sh",
            "-c",
            "while true; do echo hello world; sleep 0.2; done",
        ])
        .ok(),
    );
    let ce5 = &id[..3];
    let log_lines = || b.run(&["logs", ce5]).ok().stdout.lines().count();
    assert!(eventually(10, || log_lines() >= 3), "logs: {}", log_lines());
    let logs = b.run(&["logs", ce5]).ok().stdout;
    assert!(logs.lines().all(|l| l == "hello world"), "{logs:?}");

    // busybox sh as PID 1 has no SIGTERM handler, so the kernel drops the signal: stop
    // waits -t seconds, then kills.
    assert_eq!(
        b.run(&["stop", "-t", "1", ce5]).ok().stdout,
        format!("{ce5}\n")
    );
    let row = ps_row(&b, &id);
    assert!(row.contains("   Exited (137) "), "{row}");
    let signals = b
        .run(&[
            "events",
            "--since",
            "0",
            "--until",
            "0s",
            "--filter",
            &format!("container={id}"),
            "--filter",
            "event=kill",
            "--format",
            "{{index .Actor.Attributes \"signal\"}}",
        ])
        .ok()
        .stdout;
    assert_eq!(signals, "15\n9\n", "SIGTERM, then SIGKILL");
    assert_eq!(
        b.run(&["ps", "-qa"]).ok().stdout,
        format!("{}\n", &id[..12])
    );

    let stopped_lines = log_lines();
    assert_eq!(b.run(&["start", ce5]).ok().stdout, format!("{ce5}\n"));
    assert!(ps_row(&b, &id).contains("   Up "), "{}", ps_row(&b, &id));
    assert!(
        eventually(10, || log_lines() > stopped_lines),
        "the log grows again after {stopped_lines} lines"
    );

    let pid = inspect(&b, "{{.State.Pid}}", &id);
    let started = inspect(&b, "{{.State.StartedAt}}", &id);
    assert_eq!(
        b.run(&["restart", "-t", "1", ce5]).ok().stdout,
        format!("{ce5}\n")
    );
    assert_eq!(inspect(&b, "{{.State.Status}}", &id), "running");
    let (pid2, started2) = (
        inspect(&b, "{{.State.Pid}}", &id),
        inspect(&b, "{{.State.StartedAt}}", &id),
    );
    assert!(
        pid2 != pid && started2 != started,
        "restart runs a new process: pid {pid} -> {pid2}, started {started} -> {started2}"
    );

    let name = inspect(&b, "{{.Name}}", &id);
    let r = b.run(&["rm", ce5]);
    let want = format!(
        "cannot remove container \"{name}\": container is running: stop the container before removing or force remove"
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&want),
        "expected {want:?}, saw {:?}",
        r.stderr
    );
    assert_eq!(b.run(&["rm", "-f", ce5]).ok().stdout, format!("{ce5}\n"));
    assert!(b.run(&["ps", "-qa"]).ok().stdout.is_empty());
}

/// #6: `docker run -itd ubuntu` → `docker attach <name>` (Ctrl-P Ctrl-Q; mirrored
/// windows) → `docker exec -it <id> /bin/bash` → nsenter through
/// `inspect --format "{{ .State.Pid }}"`.
#[test]
fn walkthrough_06_get_into_a_running_container() {
    let b = with_ubuntu();
    let id = full_id(b.run(&["run", "-itd", "ubuntu"]).ok());
    let name = b
        .run(&["ps", "--format", "{{.Names}}"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(name.contains('_'), "a random adjective_name, saw {name:?}");

    // Two terminals attached to one container mirror each other. Each proves it is
    // connected by seeing its own command's output first (typed input waits in the
    // terminal until attach reads it; output before it connects is not replayed).
    let mut one = Pty::spawn(&b, &["attach", &name], 24, 80);
    one.send(b"echo one-$((1+1))\r");
    one.expect("one-2", 10);
    let mut two = Pty::spawn(&b, &["attach", &name], 24, 80);
    two.send(b"echo two-$((2+1))\r");
    two.expect("two-3", 10);
    one.send(b"echo mirror-$((6*7))\r");
    one.expect("mirror-42", 10);
    two.expect("mirror-42", 10);
    two.expect("echo mirror-$((6*7))", 10);

    // Ctrl-P Ctrl-Q leaves the container running; the other window stays attached.
    one.send(b"\x10\x11");
    assert_eq!(one.wait(10), 0, "detach: {:?}", one.text());
    assert_eq!(inspect(&b, "{{.State.Running}}", &name), "true");
    two.send(b"echo still-$((3+3))\r");
    two.expect("still-6", 10);
    two.send(b"\x10\x11");
    assert_eq!(two.wait(10), 0, "detach: {:?}", two.text());
    assert_eq!(inspect(&b, "{{.State.Running}}", &name), "true");

    // exec -it: a second shell beside PID 1; leaving it does not stop the container.
    let mut e = Pty::spawn(&b, &["exec", "-it", &id[..12], "sh"], 24, 80);
    e.expect("# ", 10);
    e.send(b"ps; echo exec-$((5+5))\r");
    e.expect("exec-10", 10);
    let text = e.text();
    let shells = words(&text)
        .into_iter()
        .filter(|w| w.len() == 3 && w[1] == "root" && w[2] == "sh")
        .count();
    assert!(shells >= 2, "PID 1's shell and exec's: {text:?}");
    e.send(b"exit\r");
    assert_eq!(e.wait(10), 0, "{:?}", e.text());
    assert_eq!(inspect(&b, "{{.State.Running}}", &name), "true");

    // The nsenter route: the pid inspect gives is a live host process in other
    // namespaces, and nsenter joins them.
    let pid = b
        .run(&["inspect", "--format", "{{ .State.Pid }}", &name])
        .ok()
        .stdout
        .trim()
        .to_string();
    let ns = |p: &str| {
        std::fs::read_link(format!("/proc/{p}/ns/pid"))
            .unwrap_or_else(|e| panic!("/proc/{p}/ns/pid: {e}"))
    };
    assert_ne!(
        ns(&pid),
        ns("self"),
        "the container has its own pid namespace"
    );
    let out = std::process::Command::new("nsenter")
        .args([
            "--target",
            &pid,
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--",
            "sh",
            "-c",
            "hostname; ls /sys/class/net; ps -o pid,comm",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("running nsenter failed ({e}): install util-linux (apt-get install util-linux)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "nsenter: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&&id[..12]),
        "the container's hostname: {stdout}"
    );
    assert_eq!(
        lines.get(1..3),
        Some(&["eth0", "lo"][..]),
        "its network namespace (default bridge): {stdout}"
    );
    assert!(
        words(&stdout).iter().any(|w| w[..] == ["1", "sh"]),
        "its pid namespace: {stdout}"
    );

    // `exit` typed in an attached shell stops the container.
    let mut last = Pty::spawn(&b, &["attach", &name], 24, 80);
    last.send(b"exit\r");
    assert_eq!(last.wait(10), 0, "{:?}", last.text());
    let row = ps_row(&b, &id);
    assert!(row.contains("   Exited (0) "), "{row}");
}

/// #7: `docker export -o test_for_run.tar ce5` / `docker export e81 > test_for_stop.tar`
/// → copy → `docker import test_for_run.tar - test/ubuntu:v1.0` → `docker images`;
/// compared with save/load.
#[test]
fn walkthrough_07_export_a_container_and_import_it_elsewhere() {
    let b = with_ubuntu();
    let dir = tempfile::tempdir().expect("a dir for the archives");
    let run_tar = dir.path().join("test_for_run.tar");
    let stop_tar = dir.path().join("test_for_stop.tar");
    let saved_tar = dir.path().join("saved.tar");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();

    // ce5 is running, e81 has stopped; each left a file in its filesystem.
    let ce5 = full_id(
        b.run(&[
            "run",
            "-d",
            "ubuntu",
            "sh",
            "-c",
            "echo from run > /from-run.txt; while true; do sleep 1; done",
        ])
        .ok(),
    );
    assert!(
        eventually(10, || b
            .run(&["diff", &ce5])
            .stdout
            .contains("A /from-run.txt")),
        "{}",
        b.run(&["diff", &ce5]).stdout
    );
    b.run(&[
        "run",
        "ubuntu",
        "sh",
        "-c",
        "echo from stop > /from-stop.txt",
    ])
    .ok();
    let e81 = b.run(&["ps", "-lq"]).ok().stdout.trim().to_string();

    let r = b.run(&["export", "-o", &path(&run_tar), &ce5[..3]]).ok();
    assert!(r.stdout.is_empty(), "{:?}", r.stdout);
    let file = std::fs::File::create(&stop_tar).expect("creating test_for_stop.tar");
    let out = b
        .cmd()
        .args(["export", &e81[..3]])
        .stdout(file)
        .output()
        .expect("running export");
    assert!(
        out.status.success(),
        "export > file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = tar_names(&run_tar);
    assert!(
        names.iter().any(|n| n == "from-run.txt") && names.iter().any(|n| n == "bin/busybox"),
        "{names:?}"
    );
    let names = tar_names(&stop_tar);
    assert!(
        names.iter().any(|n| n == "from-stop.txt") && !names.iter().any(|n| n == "from-run.txt"),
        "{names:?}"
    );
    assert_eq!(
        inspect(&b, "{{.State.Running}}", &ce5),
        "true",
        "export leaves a running container running"
    );

    // The archives are copied to another machine: a second, empty berth root.
    let other = Berth::new();
    // As the source writes it, with a file and `-`, import gets one argument too many.
    let r = other.run(&["import", &path(&run_tar), "-", "test/ubuntu:v1.0"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("[REPOSITORY[:TAG]]"),
        "a usage error: {:?}",
        r.stderr
    );
    assert!(other.run(&["images", "-aq"]).ok().stdout.is_empty());
    // The file form, and the stdin form (`cat test_for_stop.tar | docker import - ...`).
    let v1 = other
        .run(&["import", &path(&run_tar), "test/ubuntu:v1.0"])
        .ok()
        .stdout;
    let stop_bytes = std::fs::read(&stop_tar).expect("reading test_for_stop.tar");
    let v2 = other
        .run_stdin(&["import", "-", "test/ubuntu:v2.0"], &stop_bytes)
        .ok()
        .stdout;
    for id in [&v1, &v2] {
        assert!(
            id.starts_with("sha256:") && id.trim().len() == 71,
            "import prints the id: {id:?}"
        );
    }
    assert_eq!(image_row(&other, "test/ubuntu", "v1.0")[2], &v1[7..19]);
    assert_eq!(image_row(&other, "test/ubuntu", "v2.0")[2], &v2[7..19]);
    assert_eq!(
        other
            .run(&["run", "--rm", "test/ubuntu:v1.0", "cat", "/from-run.txt"])
            .ok()
            .stdout,
        "from run\n"
    );
    assert_eq!(
        other
            .run(&["run", "--rm", "test/ubuntu:v2.0", "cat", "/from-stop.txt"])
            .ok()
            .stdout,
        "from stop\n"
    );
    // An import is a bare filesystem: one layer, one history row, no CMD.
    assert_eq!(
        inspect(&other, "{{len .RootFS.Layers}}", "test/ubuntu:v1.0"),
        "1"
    );
    assert_eq!(
        other
            .run(&["history", "--format", "{{.Comment}}", "test/ubuntu:v1.0"])
            .ok()
            .stdout,
        "Imported from -\n"
    );
    let r = other.run(&["run", "--rm", "test/ubuntu:v1.0"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("no command specified"), "{}", r.stderr);

    // save/load instead keeps the image whole: same id, every layer, the history and
    // the config.
    b.run(&["commit", "-m", "stopped state", &e81, "test/ubuntu:saved"])
        .ok();
    let saved_id = b.image_id("test/ubuntu:saved");
    let layers = inspect(&b, "{{len .RootFS.Layers}}", "test/ubuntu:saved");
    assert_eq!(layers, "2", "busybox's layer plus the commit's");
    b.run(&["save", "-o", &path(&saved_tar), "test/ubuntu:saved"])
        .ok();
    assert_eq!(
        other
            .run(&["load", "--input", &path(&saved_tar)])
            .ok()
            .stdout,
        "Loaded image: test/ubuntu:saved\n"
    );
    assert_eq!(other.image_id("test/ubuntu:saved"), saved_id);
    assert_eq!(
        inspect(&other, "{{len .RootFS.Layers}}", "test/ubuntu:saved"),
        layers
    );
    let history = other
        .run(&["history", "--format", "{{.Comment}}", "test/ubuntu:saved"])
        .ok()
        .stdout;
    assert_eq!(history.lines().count(), 2, "{history}");
    assert!(history.starts_with("stopped state\n"), "{history}");
    assert_eq!(
        inspect(&other, "{{json .Config.Cmd}}", "test/ubuntu:saved"),
        r#"["sh","-c","echo from stop > /from-stop.txt"]"#
    );
}

/// #9: `docker run -it ubuntu:14.04 /bin/bash` → `touch test` → `exit` →
/// `docker commit -m … -a … <id> test:0.1` → `docker images`.
#[test]
fn walkthrough_09_commit_a_container_change() {
    let b = with_ubuntu();
    let mut t = Pty::spawn(&b, &["run", "-it", "ubuntu:14.04", "sh"], 24, 80);
    t.expect("/ # ", 20);
    t.send(b"touch test; echo id=$(hostname) end-$((4+5))\r");
    t.expect("end-9", 10);
    let id = short_id_after(&t.text(), "id=");
    t.send(b"exit\r");
    assert_eq!(t.wait(10), 0, "{:?}", t.text());

    let r = b
        .run(&[
            "commit",
            "-m",
            "Added a new file",
            "-a",
            "Docker Newbee",
            &id,
            "test:0.1",
        ])
        .ok();
    let image = r.stdout.trim().to_string();
    assert!(
        image.starts_with("sha256:") && image.len() == 71,
        "commit prints the new id: {:?}",
        r.stdout
    );
    assert_eq!(image_row(&b, "test", "0.1")[2], &image[7..19]);
    assert_eq!(
        b.run(&["run", "--rm", "test:0.1", "ls", "/test"])
            .ok()
            .stdout,
        "/test\n"
    );
    assert_eq!(
        inspect(&b, "{{.Comment}}|{{.Author}}", "test:0.1"),
        "Added a new file|Docker Newbee"
    );
    let history = b
        .run(&[
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Comment}}",
            "test:0.1",
        ])
        .ok()
        .stdout;
    assert!(
        history.starts_with("sh|Added a new file\n"),
        "the commit's row on top: {history}"
    );
    // The committed image keeps the container's command.
    assert_eq!(inspect(&b, "{{json .Config.Cmd}}", "test:0.1"), r#"["sh"]"#);
    // The sshd variant (`run -p 10022:22 -d sshd:ubuntu /run.sh`, then ssh) waits for
    // port publishing.
}

/// #12: `docker run -d -P --name web -v /webapp training/webapp python app.py` →
/// `-v /src/webapp:/opt/webapp` → `:ro` → single-file `-v ~/.bash_history:/.bash_history`
/// → `docker inspect … | grep Mounts -A 9`.
#[test]
fn walkthrough_12_data_volume_and_bind_mounts() {
    let b = with_ubuntu();
    let host = tempfile::tempdir().expect("a host dir");
    // training/webapp's python app is a shell that keeps running; -P is left out until
    // ports can be published.
    b.run(&[
        "run",
        "-d",
        "--name",
        "web",
        "-v",
        "/webapp",
        "ubuntu",
        "sh",
        "-c",
        "echo print > /webapp/app.py; exec sleep 1000",
    ])
    .ok();
    let text = b.run(&["inspect", "web"]).ok().stdout;
    // `grep Mounts -A 9`: the whole entry of the one volume, in Docker's key order.
    let grep: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("\"Mounts\""))
        .take(10)
        .map(str::trim)
        .collect();
    let keys: Vec<&str> = grep
        .iter()
        .filter_map(|l| l.strip_prefix('"')?.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "Mounts",
            "Type",
            "Name",
            "Source",
            "Destination",
            "Driver",
            "Mode",
            "RW",
            "Propagation"
        ],
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
    let m = &v[0]["Mounts"][0];
    assert_eq!(
        (&m["Type"], &m["Destination"], &m["Driver"], &m["RW"]),
        (
            &"volume".into(),
            &"/webapp".into(),
            &"local".into(),
            &true.into()
        ),
        "{m}"
    );
    let name = m["Name"].as_str().expect("a volume name");
    let source = b.path().join("volumes").join(name).join("_data");
    assert_eq!(m["Source"], source.to_str().expect("utf-8"), "{m}");
    assert!(
        eventually(10, || source.join("app.py").exists()),
        "the volume's data is on the host at {}",
        source.display()
    );

    // A host directory mounted over /opt/webapp: both sides see each other's files. A
    // missing host path is created, as Docker does for -v.
    let src = host.path().join("src/webapp");
    let bind = format!("{}:/opt/webapp", src.display());
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "ubuntu",
            "ls",
            "-A",
            "/opt/webapp",
        ])
        .ok();
    assert_eq!(r.stdout, "", "a fresh empty dir");
    assert!(src.is_dir(), "{} created", src.display());
    std::fs::write(src.join("index.html"), "hello from host\n").expect("writing");
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            &bind,
            "ubuntu",
            "sh",
            "-c",
            "cat /opt/webapp/index.html; echo from container > /opt/webapp/out.txt",
        ])
        .ok();
    assert_eq!(r.stdout, "hello from host\n");
    assert_eq!(
        std::fs::read_to_string(src.join("out.txt")).expect("out.txt on the host"),
        "from container\n"
    );

    // :ro — reads work, writes fail.
    let ro = format!("{bind}:ro");
    let r = b.run(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "ubuntu",
        "sh",
        "-c",
        "cat /opt/webapp/index.html; touch /opt/webapp/new",
    ]);
    assert_eq!(r.stdout, "hello from host\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("touch: /opt/webapp/new: Read-only file system"),
        "{:?}",
        r.stderr
    );
    assert!(!src.join("new").exists());

    // A single file: the container appends to the host's history file.
    let history = host.path().join(".bash_history");
    std::fs::write(&history, "ls\n").expect("writing");
    let one = format!("{}:/.bash_history", history.display());
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            &one,
            "ubuntu",
            "sh",
            "-c",
            "cat /.bash_history; echo pwd >> /.bash_history",
        ])
        .ok();
    assert_eq!(r.stdout, "ls\n");
    assert_eq!(
        std::fs::read_to_string(&history).expect("reading"),
        "ls\npwd\n"
    );

    // All three kinds in one container, as inspect's Mounts shows them.
    b.run(&[
        "create", "--name", "web2", "-v", "/webapp", "-v", &ro, "-v", &one, "ubuntu",
    ])
    .ok();
    let v: serde_json::Value =
        serde_json::from_str(&b.run(&["inspect", "web2"]).ok().stdout).expect("inspect JSON");
    let mounts = v[0]["Mounts"].as_array().expect("Mounts");
    let by_dest = |d: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == d)
            .unwrap_or_else(|| panic!("no mount at {d}: {mounts:?}"))
    };
    let m = by_dest("/webapp");
    assert_eq!(
        (&m["Type"], &m["RW"]),
        (&"volume".into(), &true.into()),
        "{m}"
    );
    let m = by_dest("/opt/webapp");
    assert_eq!(
        (&m["Type"], &m["Source"], &m["Mode"], &m["RW"]),
        (
            &"bind".into(),
            &src.to_str().expect("utf-8").into(),
            &"ro".into(),
            &false.into()
        ),
        "{m}"
    );
    let m = by_dest("/.bash_history");
    assert_eq!(
        (&m["Type"], &m["Source"], &m["RW"]),
        (
            &"bind".into(),
            &history.to_str().expect("utf-8").into(),
            &true.into()
        ),
        "{m}"
    );
}

/// #13: `docker run -it -v /dbdata --name dbdata ubuntu` → `--volumes-from dbdata --name
/// db1` and `db2` → `touch /dbdata/test` is visible in all three → remove the containers;
/// the data stays until `rm -v` on the last one.
#[test]
fn walkthrough_13_data_volume_container_sharing() {
    let b = with_ubuntu();
    let mut dbdata = Pty::spawn(
        &b,
        &["run", "-it", "-v", "/dbdata", "--name", "dbdata", "ubuntu"],
        24,
        80,
    );
    dbdata.expect("/ # ", 20);
    dbdata.send(b"\x10\x11");
    assert_eq!(dbdata.wait(10), 0, "{:?}", dbdata.text());

    let mut db1 = Pty::spawn(
        &b,
        &[
            "run",
            "-it",
            "--volumes-from",
            "dbdata",
            "--name",
            "db1",
            "ubuntu",
        ],
        24,
        80,
    );
    db1.expect("/ # ", 20);
    db1.send(b"touch /dbdata/test; ls /dbdata; echo end-$((3+4))\r");
    db1.expect("end-7", 10);
    assert!(
        db1.text().lines().any(|l| l.trim() == "test"),
        "{:?}",
        db1.text()
    );
    db1.send(b"\x10\x11");
    assert_eq!(db1.wait(10), 0, "{:?}", db1.text());
    b.run(&[
        "run",
        "-itd",
        "--volumes-from",
        "dbdata",
        "--name",
        "db2",
        "ubuntu",
    ])
    .ok();
    for c in ["dbdata", "db1", "db2"] {
        assert_eq!(
            b.run(&["exec", c, "ls", "/dbdata"]).ok().stdout,
            "test\n",
            "in {c}"
        );
    }

    // One anonymous volume behind all three.
    let volume = b
        .run(&["volume", "ls", "-q"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(volume.len(), 64, "one anonymous volume: {volume:?}");
    for c in ["dbdata", "db1", "db2"] {
        assert_eq!(
            inspect(&b, "{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}", c),
            format!("{volume}:/dbdata"),
            "{c}"
        );
    }
    let data = b.path().join("volumes").join(&volume).join("_data/test");
    assert!(data.exists(), "{}", data.display());

    // Removing containers keeps the data: without -v, and with -v while another
    // container still uses the volume (not an error, as in Docker).
    assert_eq!(b.run(&["rm", "-f", "dbdata"]).ok().stdout, "dbdata\n");
    assert_eq!(b.run(&["volume", "ls", "-q"]).ok().stdout.trim(), volume);
    assert_eq!(b.run(&["rm", "-fv", "db1"]).ok().stdout, "db1\n");
    assert_eq!(b.run(&["volume", "ls", "-q"]).ok().stdout.trim(), volume);
    // --volumes-from chains through db2, and --rm leaves a shared volume alone.
    assert_eq!(
        b.run(&[
            "run",
            "--rm",
            "--volumes-from",
            "db2",
            "ubuntu",
            "ls",
            "/dbdata"
        ])
        .ok()
        .stdout,
        "test\n"
    );
    assert_eq!(b.run(&["volume", "ls", "-q"]).ok().stdout.trim(), volume);
    assert!(data.exists(), "{}", data.display());

    // rm -v on the last one takes the volume with it.
    assert_eq!(b.run(&["rm", "-fv", "db2"]).ok().stdout, "db2\n");
    assert!(
        b.run(&["volume", "ls", "-q"]).ok().stdout.is_empty(),
        "{}",
        b.run(&["volume", "ls"]).stdout
    );
    assert!(!data.exists(), "{}", data.display());
}

/// #14: backup with `docker run --volumes-from dbdata -v $(pwd):/backup --name worker
/// ubuntu tar cvf /backup/backup.tar /dbdata`, restore into `dbdata2`.
///
/// `volume_container_backup_and_restore_walkthrough` in tests/containers.rs already
/// carries the data through the same three commands (with `create` and `--rm`
/// containers and a quiet `tar cf`). This test fills in what the user sees that it
/// leaves out: the story's exact commands, tar's verbose listings, the named `worker`
/// left behind as Exited (0), and `dbdata2` made by a `run` whose shell exits at once.
#[test]
fn walkthrough_14_volume_backup_and_restore_as_typed() {
    let b = with_ubuntu();
    let pwd = tempfile::tempdir().expect("the current dir");
    let backup = format!("{}:/backup", pwd.path().display());
    // The data container of #13, filled here by a one-off shell.
    b.run(&[
        "run",
        "-v",
        "/dbdata",
        "--name",
        "dbdata",
        "ubuntu",
        "sh",
        "-c",
        "echo precious > /dbdata/test",
    ])
    .ok();

    let r = b
        .run(&[
            "run",
            "--volumes-from",
            "dbdata",
            "-v",
            &backup,
            "--name",
            "worker",
            "ubuntu",
            "tar",
            "cvf",
            "/backup/backup.tar",
            "/dbdata",
        ])
        .ok();
    let listing = format!("{}{}", r.stdout, r.stderr);
    assert!(
        listing.lines().any(|l| l == "dbdata/test"),
        "tar v lists what it archives: {listing:?}"
    );
    let status = b
        .run(&[
            "ps",
            "-a",
            "--filter",
            "name=worker",
            "--format",
            "{{.Status}}",
        ])
        .ok()
        .stdout;
    assert!(status.starts_with("Exited (0) "), "worker: {status}");
    let names = tar_names(&pwd.path().join("backup.tar"));
    assert!(names.iter().any(|n| n == "dbdata/test"), "{names:?}");

    // /bin/bash without -it reads an empty stdin and exits: dbdata2 only holds a volume.
    let r = b
        .run(&[
            "run", "-v", "/dbdata", "--name", "dbdata2", "ubuntu", "/bin/sh",
        ])
        .ok();
    assert_eq!(r.stdout, "");
    let status = b
        .run(&[
            "ps",
            "-a",
            "--filter",
            "name=dbdata2",
            "--format",
            "{{.Status}}",
        ])
        .ok()
        .stdout;
    assert!(status.starts_with("Exited (0) "), "{status}");

    let r = b
        .run(&[
            "run",
            "--volumes-from",
            "dbdata2",
            "-v",
            &backup,
            "busybox",
            "tar",
            "xvf",
            "/backup/backup.tar",
        ])
        .ok();
    let listing = format!("{}{}", r.stdout, r.stderr);
    assert!(
        listing.lines().any(|l| l == "dbdata/test"),
        "tar v lists what it extracts: {listing:?}"
    );
    assert_eq!(
        b.run(&[
            "run",
            "--rm",
            "--volumes-from",
            "dbdata2",
            "ubuntu",
            "cat",
            "/dbdata/test"
        ])
        .ok()
        .stdout,
        "precious\n"
    );
}

/// #20: `-m`/`--memory-swap`/`--cpu-shares`/`--cpuset-cpus`/`--pids-limit`/`--read-only`/
/// `--cap-drop`/`--cap-add`/`--privileged`/`--restart=always`, checked with `docker stats`
/// and the cgroup files (v1 on these machines). docker-bench-security is an image from
/// Docker Hub and is left out.
#[test]
fn walkthrough_20_resource_limits_and_security_flags() {
    let b = with_ubuntu();
    let id = full_id(
        b.run(&[
            "run",
            "-d",
            "--name",
            "limited",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "30",
            "ubuntu",
            "sleep",
            "1000",
        ])
        .ok(),
    );
    let cgroup = |ctrl: &str, file: &str| {
        let p = format!("/sys/fs/cgroup/{ctrl}/berth-{id}/{file}");
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| {
                if file.starts_with("memory.memsw") {
                    panic!(
                        "{p}: {e}: swap accounting is off; boot the kernel with \
                         cgroup_enable=memory swapaccount=1"
                    )
                }
                panic!("{p}: {e}: these tests expect cgroup v1 controllers under /sys/fs/cgroup")
            })
            .trim()
            .to_string()
    };
    assert_eq!(cgroup("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(cgroup("memory", "memory.memsw.limit_in_bytes"), "134217728");
    assert_eq!(cgroup("cpu", "cpu.shares"), "512");
    assert_eq!(cgroup("cpuset", "cpuset.cpus"), "0");
    assert_eq!(cgroup("pids", "pids.max"), "30");
    let pid = inspect(&b, "{{.State.Pid}}", &id);
    let procs = cgroup("memory", "cgroup.procs");
    assert!(
        procs.lines().any(|p| p == pid),
        "PID {pid} in the cgroup: {procs:?}"
    );
    assert_eq!(
        inspect(
            &b,
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}}",
            "limited"
        ),
        "67108864 134217728 512 0 30"
    );
    let stats = b.run(&["stats", "--no-stream", "limited"]).ok().stdout;
    let row = stats.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with(&id[..12]) && row.contains(" limited ") && row.contains(" / 64MiB "),
        "{stats}"
    );
    // A swap limit below the memory limit is refused like Docker's.
    let r = b.run(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "--memory-swap",
        "32m",
        "ubuntu",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Minimum memoryswap limit should be larger than memory limit"),
        "{}",
        r.stderr
    );

    // The limits hold: a memory hog is OOM-killed, a fork loop runs out of pids.
    let r = b.run(&[
        "run",
        "--name",
        "hog",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "ubuntu",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(r.code, 137, "{}", r.stderr);
    assert_eq!(
        inspect(&b, "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"),
        "true 137"
    );
    let r = b.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "10",
        "ubuntu",
        "sh",
        "-c",
        "for i in $(seq 20); do sleep 30 & done",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("can't fork"), "{:?}", r.stderr);

    // --read-only: the root filesystem refuses writes; a volume is still writable.
    let r = b.run(&[
        "run",
        "--rm",
        "--read-only",
        "-v",
        "/data",
        "ubuntu",
        "sh",
        "-c",
        "touch /data/ok && echo volume ok; touch /x",
    ]);
    assert_eq!(r.stdout, "volume ok\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("touch: /x: Read-only file system"),
        "{:?}",
        r.stderr
    );

    // --cap-drop/--cap-add change PID 1's effective set: Docker's default 0xa80425fb
    // minus CHOWN (bit 0) plus NET_ADMIN (bit 12).
    let script = "grep CapEff /proc/1/status; chown nobody /tmp && echo chowned; \
                  ip link set lo down && echo lo down";
    let r = b.run(&["run", "--rm", "ubuntu", "sh", "-c", script]);
    assert!(
        r.stdout.contains("CapEff:\t00000000a80425fb\nchowned\n") && !r.stdout.contains("lo down"),
        "default caps: {:?}",
        r.stdout
    );
    assert!(
        r.stderr.contains("Operation not permitted"),
        "no NET_ADMIN by default: {:?}",
        r.stderr
    );
    let r = b.run(&[
        "run",
        "--rm",
        "--cap-drop",
        "CHOWN",
        "--cap-add",
        "NET_ADMIN",
        "ubuntu",
        "sh",
        "-c",
        script,
    ]);
    let want = format!(
        "CapEff:\t{:016x}\nlo down\n",
        (0xa80425fbu64 & !1) | 1 << 12
    );
    assert_eq!(r.stdout, want, "stderr: {:?}", r.stderr);
    assert!(
        r.stderr.contains("chown: /tmp: Operation not permitted"),
        "{:?}",
        r.stderr
    );

    // --privileged: every capability berth itself holds, and no seccomp filter.
    let ours = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let r = b
        .run(&[
            "run",
            "--rm",
            "--privileged",
            "ubuntu",
            "grep",
            "-E",
            "^(CapEff|Seccomp):",
            "/proc/1/status",
        ])
        .ok();
    assert_eq!(
        status_field(&r.stdout, "CapEff:"),
        status_field(&ours, "CapBnd:"),
        "{:?}",
        r.stdout
    );
    assert_eq!(status_field(&r.stdout, "Seccomp:"), "0");

    // --restart=always brings the container back every time its process ends, even
    // with exit 0; a manual stop ends that.
    b.run(&[
        "run",
        "-d",
        "--name",
        "always",
        "--restart=always",
        "ubuntu",
        "sh",
        "-c",
        "echo started; sleep 0.3",
    ])
    .ok();
    assert_eq!(
        inspect(&b, "{{.HostConfig.RestartPolicy.Name}}", "always"),
        "always"
    );
    assert!(
        eventually(30, || b
            .run(&["logs", "always"])
            .stdout
            .lines()
            .filter(|l| *l == "started")
            .count()
            >= 3),
        "logs: {:?}, restarts: {}",
        b.run(&["logs", "always"]).stdout,
        inspect(&b, "{{.RestartCount}}", "always")
    );
    let count: u32 = inspect(&b, "{{.RestartCount}}", "always")
        .parse()
        .expect("RestartCount");
    assert!(count >= 2, "RestartCount {count}");
    b.run(&["stop", "-t", "1", "always"]).ok();
    assert_eq!(inspect(&b, "{{.State.Status}}", "always"), "exited");
    // Give a wrongful restart time to happen (nothing to poll for: it must not).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        inspect(&b, "{{.State.Status}}", "always"),
        "exited",
        "a stopped container stays stopped"
    );
}
