//! Shared helpers for integration tests: a private berth root per test, the berth
//! binary, fixtures, and guards that clean up mounts even when a test fails.
#![allow(dead_code)]

pub mod console;
pub mod dockerd;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Tests need root for mounts, mknod and xattrs: say so instead of failing obscurely.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "berth's tests need root (real overlay mounts, device nodes, xattrs): run scripts/test.sh as root"
    );
}

/// Fails (never skips) when `tool` is not on PATH, naming the Debian package to install.
#[track_caller]
pub fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: install Debian's {package} (scripts/install-deps.sh does)"
    );
}

pub struct Berth {
    pub root: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
    #[track_caller]
    pub fn fails(self) -> Run {
        assert_ne!(
            self.code, 0,
            "command should fail:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Berth {
    pub fn new() -> Berth {
        require_root();
        Berth {
            root: tempfile::Builder::new()
                .prefix("berth-test-")
                .tempdir()
                .expect("creating a temp root"),
        }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("--root").arg(self.root.path());
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().expect("running berth"))
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning berth");
        if let Some(mut stdin) = child.stdin.take() {
            // The command may stop reading early on bad input; that is what's tested.
            let _ = stdin.write_all(input);
        }
        Run::from(child.wait_with_output().expect("waiting for berth"))
    }

    pub fn load(&self, fixture_name: &str) -> Run {
        let p = fixture(fixture_name);
        self.run(&["load", "-i", p.to_str().expect("utf-8 path")])
            .ok()
    }

    /// Names of entries in a state dir (blobs, layers, tmp), for leak checks.
    pub fn entries(&self, rel: &str) -> Vec<String> {
        match std::fs::read_dir(self.root.path().join(rel)) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => vec![],
        }
    }

    pub fn image_id(&self, name: &str) -> String {
        self.run(&["inspect", "-f", "{{.Id}}", name])
            .ok()
            .stdout
            .trim()
            .to_string()
    }
}

impl Drop for Berth {
    /// Containers a test started (even one that failed half way) are force-removed,
    /// and anything still mounted under the root is detached, before the dir goes.
    fn drop(&mut self) {
        let ids = self.run(&["ps", "-aq", "--no-trunc"]);
        for id in ids.stdout.split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
        // The root's bridges and nftables table live on the host, not under the root.
        let _ = self.run(&["__network-teardown"]);
        let root = self.root.path().display().to_string();
        if let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") {
            let mut mounts: Vec<&str> = info
                .lines()
                .filter_map(|l| l.split_whitespace().nth(4))
                .filter(|m| m.starts_with(&root))
                .collect();
            mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in mounts {
                drop(MountGuard(PathBuf::from(m)));
            }
        }
    }
}

/// Unmounts (lazily if busy) when dropped.
pub struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let c = std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: umount2 with a valid C string.
        unsafe {
            if libc::umount2(c.as_ptr(), 0) != 0 {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

/// A tar built in memory with raw headers, so tests can write names the tar crate's
/// safe builder would refuse (`../x`, absolute paths).
pub struct RawTar {
    pub buf: Vec<u8>,
}

impl RawTar {
    pub fn new() -> RawTar {
        RawTar { buf: Vec::new() }
    }

    pub fn entry(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        data: &[u8],
        link: Option<&str>,
        mode: u32,
    ) {
        let mut h = tar::Header::new_old();
        {
            let old = h.as_old_mut();
            let n = name.as_bytes();
            old.name[..n.len()].copy_from_slice(n);
            if let Some(l) = link {
                old.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        self.buf.extend_from_slice(h.as_bytes());
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn file(&mut self, name: &str, data: &[u8]) {
        self.entry(name, tar::EntryType::Regular, data, None, 0o644);
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, tar::EntryType::Directory, &[], None, 0o755);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat_n(0u8, 1024));
        self.buf
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A classic docker-archive holding one image whose single layer is `layer`.
pub fn docker_archive_with_layer(layer: &[u8], tag: &str) -> Vec<u8> {
    let diff = sha256_hex(layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff}"]}},"history":[{{"created_by":"test"}}]}}"#
    );
    let cid = sha256_hex(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{cid}.json","RepoTags":["{tag}"],"Layers":["{diff}/layer.tar"]}}]"#
    );
    let mut t = RawTar::new();
    t.file(&format!("{cid}.json"), config.as_bytes());
    t.dir(&format!("{diff}/"));
    t.file(&format!("{diff}/layer.tar"), layer);
    t.file("manifest.json", manifest.as_bytes());
    t.finish()
}

/// berth running on a pseudo-terminal, as a user at a shell would run it: for `-it`,
/// detach keys and window sizes. The child is killed on drop.
pub struct Pty {
    master: std::fs::File,
    child: std::process::Child,
    pub output: Vec<u8>,
}

impl Pty {
    /// Starts `berth --root <root> args...` with a `rows`x`cols` terminal as its stdio.
    pub fn spawn(b: &Berth, args: &[&str], rows: u16, cols: u16) -> Pty {
        let mut cmd = b.cmd();
        cmd.args(args);
        Pty::spawn_command(cmd, rows, cols)
    }

    /// Starts any command (the docker CLI, say) with a `rows`x`cols` terminal as stdio.
    pub fn spawn_command(mut cmd: Command, rows: u16, cols: u16) -> Pty {
        use std::os::fd::{AsRawFd, OwnedFd};
        use std::os::unix::process::CommandExt;
        let ws = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&ws), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; they make the pty the
        // controlling terminal, as a login shell's would be.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning a command on a pty");
        let master = std::fs::File::from(pty.master);
        // SAFETY: fcntl on our own fd.
        unsafe {
            let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        Pty {
            master,
            child,
            output: Vec::new(),
        }
    }

    /// Resizes the terminal, as a user resizing their window would (berth gets SIGWINCH).
    pub fn resize(&mut self, rows: u16, cols: u16) {
        use std::os::fd::AsRawFd;
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the struct we pass.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }

    pub fn send(&mut self, data: &[u8]) {
        use std::io::Write;
        self.master.write_all(data).expect("writing to the pty");
    }

    fn pump(&mut self) -> bool {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.output.extend_from_slice(&buf[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                true
            }
            // EIO: every slave fd closed (berth exited).
            Err(_) => false,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Reads until the output contains `needle`; panics with what was seen after `secs`.
    #[track_caller]
    pub fn expect(&mut self, needle: &str, secs: u64) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < end {
            if self.text().contains(needle) {
                return;
            }
            if !self.pump() {
                break;
            }
        }
        assert!(
            self.text().contains(needle),
            "expected {needle:?} on the terminal, saw {:?}",
            self.text()
        );
    }

    /// Waits for berth to exit (reading what it prints) and returns its exit code.
    #[track_caller]
    pub fn wait(&mut self, secs: u64) -> i32 {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                // What it printed last may still be in the pty.
                for _ in 0..10 {
                    if !self.pump() {
                        break;
                    }
                }
                return st.code().unwrap_or(-1);
            }
            self.pump();
        }
        panic!("berth did not exit in {secs}s; terminal: {:?}", self.text());
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh root with the busybox fixture loaded (as `busybox:latest`).
pub fn with_busybox() -> Berth {
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    b
}

/// One field of a container's State, through `inspect -f`.
pub fn state(b: &Berth, name: &str, field: &str) -> String {
    b.run(&["inspect", "-f", &format!("{{{{.State.{field}}}}}"), name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// Polls until `f` holds or `secs` pass (containers change state asynchronously).
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}

/// A TCP port nobody listens on now (checked on every address).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("binding a probe port")
        .port()
}
