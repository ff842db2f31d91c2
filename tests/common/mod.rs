//! Shared helpers for integration tests: a private berth root per test, the berth
//! binary, fixtures, and guards that clean up mounts even when a test fails.
#![allow(dead_code)]

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
