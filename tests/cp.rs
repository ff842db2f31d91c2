//! `berth cp` end to end through the real binary, as root: stopped and running
//! containers, volumes and binds, `-` tar streams, docker's error cases, and tars that
//! try to write outside their destination. Results are checked through other commands
//! (`export`, `run ... cat`, the host filesystem), not only through cp itself.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{with_busybox, Berth, RawTar};

/// One file of a tar: its type, mode, owner and content (or link target).
#[derive(Debug, Clone, PartialEq)]
struct Item {
    kind: char,
    mode: u32,
    owner: (u64, u64),
    data: String,
}

/// A tar's members by name (without a trailing "/").
fn list_tar(bytes: &[u8]) -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(bytes);
    for e in ar.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        let h = e.header().clone();
        let name = String::from_utf8_lossy(&e.path_bytes())
            .trim_end_matches('/')
            .to_string();
        let mut data = String::new();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink | tar::EntryType::Link => {
                data = String::from_utf8_lossy(&e.link_name_bytes().unwrap_or_default()).into();
                if h.entry_type() == tar::EntryType::Symlink {
                    'l'
                } else {
                    'h'
                }
            }
            _ => {
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).expect("tar data");
                data = String::from_utf8_lossy(&bytes).into_owned();
                'f'
            }
        };
        let item = Item {
            kind,
            mode: h.mode().expect("mode") & 0o7777,
            owner: (h.uid().expect("uid"), h.gid().expect("gid")),
            data,
        };
        out.insert(name, item);
    }
    out
}

/// Raw stdout of a command that must succeed (tars are not UTF-8).
fn raw(b: &Berth, args: &[&str]) -> Vec<u8> {
    let o = b.cmd().args(args).output().expect("running berth");
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// The container's whole filesystem, through `export`.
fn exported(b: &Berth, c: &str) -> BTreeMap<String, Item> {
    list_tar(&raw(b, &["export", c]))
}

fn file(data: &str, mode: u32) -> Item {
    Item {
        kind: 'f',
        mode,
        owner: (0, 0),
        data: data.into(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A host tree: src/a.txt (0640, owned 1234:1234), src/sub/b.txt, src/link -> a.txt.
fn host_tree(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    std::fs::write(src.join("a.txt"), "A\n").expect("write");
    std::fs::set_permissions(src.join("a.txt"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    std::os::unix::fs::chown(src.join("a.txt"), Some(1234), Some(1234)).expect("chown");
    std::fs::write(src.join("sub/b.txt"), "B\n").expect("write");
    std::os::unix::fs::symlink("a.txt", src.join("link")).expect("symlink");
    src
}

/// Nothing of a copy is left behind: no scratch dirs, no mounts under the root.
fn assert_no_leftovers(b: &Berth) {
    // A `run --rm` deletes its files just after it reports the exit: give it a moment.
    assert!(
        common::eventually(5, || b.entries("tmp").is_empty()),
        "tmp: {:?}",
        b.entries("tmp")
    );
    // cp's views are mounted under the store's scratch dir, in private namespaces.
    let scratch = format!("{}/tmp/", s(b.path()));
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .any(|mp| mp.starts_with(&scratch)),
        "a cp mount leaked:\n{info}"
    );
}

#[test]
fn files_and_dirs_into_a_stopped_container_follow_docker_rules() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();

    // File to a missing name: created as that file; into an existing dir: by its name.
    b.run(&["cp", s(&src.join("a.txt")), "box:/renamed.txt"])
        .ok();
    b.run(&["cp", s(&src.join("a.txt")), "box:/tmp"]).ok();
    // Dir to a missing name: created with the dir's contents; into a dir: as a subdir.
    b.run(&["cp", s(&src), "box:/newdir"]).ok();
    b.run(&["cp", s(&src), "box:/tmp"]).ok();
    // "dir/." copies the contents, to a new dir or into an existing one.
    b.run(&["cp", &format!("{}/.", s(&src)), "box:/dotnew"])
        .ok();
    b.run(&["cp", &format!("{}/.", s(&src)), "box:/root"]).ok();
    // Relative container paths start at /.
    b.run(&["cp", s(&src.join("sub/b.txt")), "box:root"]).ok();

    let fs = exported(&b, "box");
    // Owned by the container's root, modes kept.
    assert_eq!(fs["renamed.txt"], file("A\n", 0o640));
    assert_eq!(fs["tmp/a.txt"], file("A\n", 0o640));
    assert_eq!(fs["newdir/a.txt"], file("A\n", 0o640));
    assert_eq!(fs["newdir/sub/b.txt"].data, "B\n");
    assert_eq!(fs["newdir/link"].kind, 'l');
    assert_eq!(fs["newdir/link"].data, "a.txt");
    assert_eq!(fs["tmp/src/sub/b.txt"].data, "B\n");
    assert_eq!(fs["dotnew/sub/b.txt"].data, "B\n");
    assert_eq!(fs["root/a.txt"].data, "A\n");
    assert!(!fs.contains_key("root/src"), "dir/. copies contents only");
    assert_eq!(fs["root/b.txt"].data, "B\n");

    // -a keeps the source's owner.
    b.run(&["cp", "-a", s(&src.join("a.txt")), "box:/owned.txt"])
        .ok();
    assert_eq!(exported(&b, "box")["owned.txt"].owner, (1234, 1234));

    // What was copied in is what the container sees when it runs.
    b.run(&["create", "--name", "box2", "busybox", "cat", "/in/a.txt"])
        .ok();
    b.run(&["cp", s(&src), "box2:/in"]).ok();
    assert_eq!(b.run(&["start", "-a", "box2"]).ok().stdout, "A\n");
    assert_no_leftovers(&b);
}

#[test]
fn files_and_dirs_out_of_a_container_follow_docker_rules() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    b.run(&["cp", "-a", s(&src), "box:/data"]).ok();
    let out = host.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");

    b.run(&["cp", "box:/data/a.txt", s(&out.join("f.txt"))])
        .ok();
    assert_eq!(
        std::fs::read_to_string(out.join("f.txt")).expect("f"),
        "A\n"
    );
    let md = std::fs::metadata(out.join("f.txt")).expect("stat");
    assert_eq!(md.mode() & 0o7777, 0o640, "mode kept");
    assert_eq!((md.uid(), md.gid()), (0, 0), "owned by the caller");
    // Overwrites an existing file; goes into an existing dir by its own name.
    std::fs::write(out.join("f.txt"), "old").expect("write");
    b.run(&["cp", "box:/data/sub/b.txt", s(&out.join("f.txt"))])
        .ok();
    assert_eq!(
        std::fs::read_to_string(out.join("f.txt")).expect("f"),
        "B\n"
    );
    b.run(&["cp", "box:/data/a.txt", s(&out)]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).expect("a"),
        "A\n"
    );

    b.run(&["cp", "box:/data", s(&out.join("missing"))]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("missing/sub/b.txt")).expect("b"),
        "B\n"
    );
    b.run(&["cp", "box:/data", s(&out)]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("data/a.txt")).expect("a"),
        "A\n"
    );
    b.run(&["cp", "box:/data/.", s(&out.join("dot"))]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("dot/a.txt")).expect("a"),
        "A\n"
    );
    assert!(!out.join("dot/data").exists());

    // -a keeps the container's owner on the host.
    b.run(&["cp", "-a", "box:/data/a.txt", s(&out.join("owned"))])
        .ok();
    let md = std::fs::metadata(out.join("owned")).expect("stat");
    assert_eq!((md.uid(), md.gid()), (1234, 1234));

    // A relative host destination is relative to the current directory.
    let r = b
        .cmd()
        .current_dir(&out)
        .args(["cp", "box:/data/sub/b.txt", "rel.txt"])
        .output()
        .expect("run");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("rel.txt")).expect("rel"),
        "B\n"
    );
    assert_no_leftovers(&b);
}

#[test]
fn symlinks_are_copied_as_links_or_followed_inside_the_container() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    let links = host.path().join("links");
    std::fs::create_dir(&links).expect("mkdir");
    // Absolute and climbing links that would mean the host's files if followed there.
    std::os::unix::fs::symlink("/etc/passwd", links.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("../../../../../../../etc", links.join("up")).expect("symlink");
    std::os::unix::fs::symlink("/tmp/target", links.join("todir")).expect("symlink");
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    b.run(&["cp", s(&links), "box:/links"]).ok();
    b.run(&["cp", s(&src), "box:/tmp/target"]).ok();
    let passwd = exported(&b, "box")["etc/passwd"].data.clone();
    assert!(passwd.starts_with("root:"), "{passwd}");
    let out = host.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");

    // Without -L the link itself comes out.
    b.run(&["cp", "box:/links/abs", s(&out.join("l1"))]).ok();
    assert_eq!(
        std::fs::read_link(out.join("l1")).expect("link"),
        Path::new("/etc/passwd")
    );
    // With -L it is followed inside the container: its /etc/passwd, not the host's.
    b.run(&["cp", "-L", "box:/links/abs", s(&out.join("l2"))])
        .ok();
    assert_eq!(std::fs::read_to_string(out.join("l2")).expect("l2"), passwd);
    // Links in the middle of a path are always followed, and `..` stops at the root.
    b.run(&["cp", "box:/links/up/passwd", s(&out.join("l3"))])
        .ok();
    assert_eq!(std::fs::read_to_string(out.join("l3")).expect("l3"), passwd);
    // A trailing slash follows a link to a directory.
    b.run(&["cp", "box:/links/todir/", s(&out.join("l4"))]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("l4/a.txt")).expect("l4"),
        "A\n"
    );
    // A destination that is a link to a directory receives the copy.
    b.run(&["cp", s(&src.join("sub/b.txt")), "box:/links/todir"])
        .ok();
    assert_eq!(exported(&b, "box")["tmp/target/b.txt"].data, "B\n");

    // Copying in: -L copies the file a host link points to.
    b.run(&["cp", "-L", s(&src.join("link")), "box:/followed"])
        .ok();
    b.run(&["cp", s(&src.join("link")), "box:/asis"]).ok();
    let fs = exported(&b, "box");
    assert_eq!(fs["followed"].kind, 'f');
    assert_eq!(fs["followed"].data, "A\n");
    assert_eq!((fs["asis"].kind, fs["asis"].data.as_str()), ('l', "a.txt"));
    assert_no_leftovers(&b);
}

/// Polls until `f` holds (containers change state asynchronously); the generous limit
/// only keeps a broken build from hanging forever.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

#[test]
fn running_container_with_a_volume_and_a_bind() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    let bind = host.path().join("bind");
    std::fs::create_dir(&bind).expect("mkdir");
    let bind_spec = format!("{}:/bind", s(&bind));
    b.run(&[
        "run",
        "-d",
        "--name",
        "live",
        "-v",
        "vol:/data",
        "-v",
        &bind_spec,
        "--tmpfs",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "echo made inside > /tmp/made; while [ ! -e /tmp/go ]; do sleep 0.05; done; \
         cat /tmp/a.txt /data/a.txt /bind/a.txt /data/sub/b.txt",
    ])
    .ok();
    // Out of the running container, once its shell wrote the file.
    let out = host.path().join("made");
    assert!(eventually(|| b
        .run(&["cp", "live:/tmp/made", s(&out)])
        .code
        == 0));
    assert_eq!(
        std::fs::read_to_string(&out).expect("made"),
        "made inside\n"
    );

    b.run(&["cp", s(&src.join("a.txt")), "live:/tmp/"]).ok();
    b.run(&["cp", s(&src.join("a.txt")), "live:/data/"]).ok();
    b.run(&["cp", s(&src.join("a.txt")), "live:/bind"]).ok();
    b.run(&["cp", s(&src.join("sub")), "live:/data"]).ok();
    // The bind's copy is on the host, and its owner is root.
    let md = std::fs::metadata(bind.join("a.txt")).expect("bind copy");
    assert_eq!((md.uid(), md.mode() & 0o777), (0, 0o640));
    // A tmpfs lives only inside the running container: refused, not faked.
    let r = b
        .run(&["cp", s(&src.join("a.txt")), "live:/scratch/"])
        .fails();
    assert!(r.stderr.contains("tmpfs"), "{}", r.stderr);
    b.run(&["cp", s(&src.join("a.txt")), "live:/tmp/go"]).ok();
    assert_eq!(b.run(&["wait", "live"]).ok().stdout.trim(), "0");
    assert_eq!(
        b.run(&["logs", "live"]).ok().stdout,
        "A\nA\nA\nB\n",
        "the container saw every copy"
    );
    // The volume holds its copy for other containers.
    let r = b
        .run(&["run", "--rm", "-v", "vol:/v", "busybox", "cat", "/v/a.txt"])
        .ok();
    assert_eq!(r.stdout, "A\n");
    assert_no_leftovers(&b);
}

#[test]
fn stopped_container_volumes_binds_and_read_only_mounts() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    let bind = host.path().join("bind");
    let ro = host.path().join("ro");
    std::fs::create_dir(&bind).expect("mkdir");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::write(ro.join("keep"), "host\n").expect("write");
    let bind_spec = format!("{}:/bind", s(&bind));
    let ro_spec = format!("{}:/ro:ro", s(&ro));
    b.run(&["volume", "create", "vol"]).ok();
    b.run(&[
        "run",
        "--rm",
        "-v",
        "vol:/v",
        "busybox",
        "sh",
        "-c",
        "echo in vol > /v/f",
    ])
    .ok();
    b.run(&[
        "create",
        "--name",
        "box",
        "-v",
        "vol:/data",
        "-v",
        &bind_spec,
        "-v",
        &ro_spec,
        "busybox",
        "true",
    ])
    .ok();

    // Reads come from the mounts, not from the rootfs dirs beneath them.
    assert_eq!(
        list_tar(&raw(&b, &["cp", "box:/data/f", "-"]))["f"].data,
        "in vol\n"
    );
    assert_eq!(
        list_tar(&raw(&b, &["cp", "box:/ro/keep", "-"]))["keep"].data,
        "host\n"
    );
    // Writes land in the volume and in the bind's host dir.
    b.run(&["cp", s(&src), "box:/data/"]).ok();
    b.run(&["cp", s(&src.join("a.txt")), "box:/bind/x.txt"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(bind.join("x.txt")).expect("x"),
        "A\n"
    );
    let r = b
        .run(&[
            "run",
            "--rm",
            "-v",
            "vol:/v",
            "busybox",
            "cat",
            "/v/src/sub/b.txt",
        ])
        .ok();
    assert_eq!(r.stdout, "B\n");
    assert!(
        !b.run(&["diff", "box"]).ok().stdout.contains("/data/src"),
        "nothing was hidden under the mount point"
    );
    // A read-only mount refuses, and stays untouched.
    let r = b.run(&["cp", s(&src.join("a.txt")), "box:/ro/"]).fails();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("mounted volume is marked read-only"),
        "{}",
        r.stderr
    );
    assert!(!ro.join("a.txt").exists());

    // --read-only: the rootfs refuses, a volume of it still takes copies.
    b.run(&[
        "create",
        "--name",
        "rofs",
        "--read-only",
        "-v",
        "vol:/data",
        "busybox",
        "true",
    ])
    .ok();
    let r = b.run(&["cp", s(&src.join("a.txt")), "rofs:/tmp/"]).fails();
    assert!(
        r.stderr.contains("container rootfs is marked read-only"),
        "{}",
        r.stderr
    );
    b.run(&["cp", s(&src.join("sub/b.txt")), "rofs:/data/"])
        .ok();
    let r = b
        .run(&["run", "--rm", "-v", "vol:/v", "busybox", "cat", "/v/b.txt"])
        .ok();
    assert_eq!(r.stdout, "B\n");
    assert_no_leftovers(&b);
}

#[test]
fn tar_streams_both_ways() {
    let b = with_busybox();
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    let mut t = RawTar::new();
    t.dir("pkg/");
    t.file("pkg/readme", b"hello\n");
    t.entry(
        "pkg/run.sh",
        tar::EntryType::Regular,
        b"#!/bin/sh\n",
        None,
        0o755,
    );
    t.entry(
        "pkg/latest",
        tar::EntryType::Symlink,
        b"",
        Some("readme"),
        0o777,
    );
    // A copy is not a layer: whiteout names are ordinary files.
    t.file("pkg/.wh.readme", b"not a whiteout\n");
    b.run_stdin(&["cp", "-", "box:/root"], &t.finish()).ok();

    let fs = exported(&b, "box");
    assert_eq!(fs["root/pkg/readme"], file("hello\n", 0o644));
    assert_eq!(fs["root/pkg/run.sh"].mode, 0o755);
    assert_eq!(fs["root/pkg/latest"].data, "readme");
    assert_eq!(fs["root/pkg/.wh.readme"].data, "not a whiteout\n");

    // Out as a tar named after the path's last element.
    let tar = list_tar(&raw(&b, &["cp", "box:/root/pkg", "-"]));
    let names: Vec<&str> = tar.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "pkg",
            "pkg/.wh.readme",
            "pkg/latest",
            "pkg/readme",
            "pkg/run.sh"
        ]
    );
    assert_eq!(tar["pkg/readme"].data, "hello\n");
    // "dir/." gives the contents.
    let tar = list_tar(&raw(&b, &["cp", "box:/root/pkg/.", "-"]));
    assert!(tar.contains_key("readme") && !tar.contains_key("pkg"));
    // The destination of a stream must be an existing directory.
    let r = b.run_stdin(
        &["cp", "-", "box:/root/pkg/readme"],
        &RawTar::new().finish(),
    );
    assert!(r.stderr.contains("must be a directory"), "{}", r.stderr);
    let r = b.run_stdin(&["cp", "-", "box:/nowhere"], &RawTar::new().finish());
    assert!(r.stderr.contains("must be a directory"), "{}", r.stderr);
    assert_no_leftovers(&b);
}

#[test]
fn errors_read_like_docker() {
    let b = with_busybox();
    let host = tempfile::tempdir().expect("tempdir");
    let src = host_tree(host.path());
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    let out = host.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let expect = |args: &[&str], msg: &str| {
        let r = b.run(args).fails();
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
    };
    expect(&["cp", s(&src), "nope:/tmp"], "No such container: nope");
    expect(&["cp", "nope:/etc", s(&out)], "No such container: nope");
    expect(
        &["cp", "box:/nope", s(&out)],
        "Could not find the file /nope in container box",
    );
    expect(&["cp", "box:/etc/hostname/", s(&out)], "not a directory");
    expect(
        &["cp", &format!("{}/", s(&src.join("a.txt"))), "box:/tmp"],
        "not a directory",
    );
    // A file to "missing/" cannot make the directory; a dir cannot replace a file.
    expect(
        &["cp", s(&src.join("a.txt")), "box:/nodir/"],
        "no such directory",
    );
    expect(
        &[
            "cp",
            "box:/etc/passwd",
            &format!("{}/", s(&out.join("nodir"))),
        ],
        "no such directory",
    );
    expect(&["cp", s(&src), "box:/etc/passwd"], "cannot copy directory");
    std::fs::write(out.join("file"), "x").expect("write");
    expect(
        &["cp", "box:/etc", s(&out.join("file"))],
        "cannot copy directory",
    );
    // Nor may a file replace an existing directory inside the container.
    let tmpfile = host.path().join("tmp");
    std::fs::write(&tmpfile, "x").expect("write");
    expect(&["cp", s(&tmpfile), "box:/"], "cannot overwrite directory");
    expect(
        &["cp", "box:/etc/passwd", "other:/x"],
        "copying between containers is not supported",
    );
    expect(
        &["cp", s(&src), s(&out)],
        "must specify at least one container source",
    );
    expect(
        &["cp", "box:/etc/passwd", s(&host.path().join("no/such/dir"))],
        "invalid output path",
    );
    assert_no_leftovers(&b);
}

/// A pseudo-terminal pair (master, slave): the slave is a terminal for a child.
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty stores two new fds in the ints we pass; the other pointers may be
    // null (no name, default termios and window size).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just opened for us and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn tar_streams_refuse_a_terminal() {
    let b = with_busybox();
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    let (_master, slave) = pty();
    let tty = || Stdio::from(slave.try_clone().expect("dup"));
    let o = b
        .cmd()
        .args(["cp", "box:/etc/passwd", "-"])
        .stdout(tty())
        .output()
        .expect("cp");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to write a tar archive"));
    let o = b
        .cmd()
        .args(["cp", "-", "box:/tmp"])
        .stdin(tty())
        .output()
        .expect("cp");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to read a tar archive"));
}

/// Tars from stdin that try to write outside the destination: every one is refused
/// and nothing lands outside, neither in the container nor on the host.
#[test]
fn hostile_tars_never_write_outside_the_destination() {
    let b = with_busybox();
    let marker = format!("berth-cp-escape-{}", std::process::id());
    b.run(&["create", "--name", "box", "busybox", "true"]).ok();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dotdot", {
            let mut t = RawTar::new();
            t.file(&format!("../../../../../../tmp/{marker}"), b"x");
            t.finish()
        }),
        ("absolute", {
            let mut t = RawTar::new();
            t.file(&format!("/tmp/{marker}"), b"x");
            t.finish()
        }),
        ("symlink then write through it", {
            let mut t = RawTar::new();
            t.entry("esc", tar::EntryType::Symlink, b"", Some("/"), 0o777);
            t.file(&format!("esc/tmp/{marker}"), b"x");
            t.finish()
        }),
        ("relative symlink then write through it", {
            let mut t = RawTar::new();
            t.entry(
                "up",
                tar::EntryType::Symlink,
                b"",
                Some("../../../.."),
                0o777,
            );
            t.file(&format!("up/tmp/{marker}"), b"x");
            t.finish()
        }),
        ("hardlink outside", {
            let mut t = RawTar::new();
            t.entry(
                "hl",
                tar::EntryType::Link,
                b"",
                Some("../etc/passwd"),
                0o644,
            );
            t.finish()
        }),
        ("absolute hardlink", {
            let mut t = RawTar::new();
            t.entry("hl2", tar::EntryType::Link, b"", Some("/etc/shadow"), 0o644);
            t.finish()
        }),
    ];
    for (what, tar) in cases {
        let r = b.run_stdin(&["cp", "-", "box:/root"], &tar);
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(r.stderr.contains("refusing"), "{what}: {}", r.stderr);
    }
    assert!(
        !Path::new("/tmp").join(&marker).exists(),
        "escaped to the host"
    );
    let fs = exported(&b, "box");
    assert!(
        !fs.keys()
            .any(|k| k.contains(&marker) && !k.starts_with("root/")),
        "escaped inside the container: {:?}",
        fs.keys()
            .filter(|k| k.contains(&marker))
            .collect::<Vec<_>>()
    );
    assert!(!fs.contains_key("root/hl") && !fs.contains_key("root/hl2"));
    // The same through a running container's live rootfs.
    b.run(&["run", "-d", "--name", "live", "busybox", "sleep", "300"])
        .ok();
    let mut t = RawTar::new();
    t.entry("esc", tar::EntryType::Symlink, b"", Some("/"), 0o777);
    t.file(&format!("esc/tmp/{marker}"), b"x");
    let r = b.run_stdin(&["cp", "-", "live:/root"], &t.finish());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        !Path::new("/tmp").join(&marker).exists(),
        "escaped to the host"
    );
    assert_no_leftovers(&b);
}

/// A start waits while a copy into the stopped container is under way (both would
/// mount the same upper dir), then sees what was copied.
#[test]
fn start_waits_for_a_copy_into_the_stopped_container() {
    let b = with_busybox();
    b.run(&["create", "--name", "box", "busybox", "cat", "/big"])
        .ok();
    let size = 1 << 20;
    let mut t = RawTar::new();
    t.file("big", &vec![b'x'; size]);
    let tar = t.finish();
    let mut cp = b
        .cmd()
        .args(["cp", "-", "box:/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning cp");
    let mut stdin = cp.stdin.take().expect("stdin");
    // More than a pipe holds: once written, cp is extracting, with the lock held.
    let (head, rest) = tar.split_at(512 * 1024);
    stdin.write_all(head).expect("writing the tar head");
    let mut start = b
        .cmd()
        .args(["start", "-a", "box"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning start");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        start.try_wait().expect("polling start").is_none(),
        "start finished while cp held the container's filesystem"
    );
    stdin.write_all(rest).expect("writing the tar rest");
    drop(stdin);
    let cp = cp.wait_with_output().expect("cp");
    assert!(
        cp.status.success(),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );
    let start = start.wait_with_output().expect("start");
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    assert_eq!(start.stdout.len(), size, "the container saw the whole copy");
    assert_no_leftovers(&b);
}
