//! Path resolution inside a container's root filesystem, and the executable lookup that
//! gives `docker run` its exit codes 126/127 before the runtime is even started.
//!
//! Everything here treats the rootfs as `/`: symlinks (absolute or relative) and `..` are
//! resolved against the rootfs and can never climb out of it, like moby's
//! `FollowSymlinkInScope` and runc's in-container `exec.LookPath`.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Linux's own limit on symlinks followed while resolving one path (MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// Resolves `path` (taken as a path inside the container, relative ones from `/`) to a host
/// path under `root`, following every symlink inside the root. Missing components are kept
/// as they are, so the result names where the file would be.
pub fn resolve_in_root(root: &Path, path: &str) -> io::Result<PathBuf> {
    // `resolved` never contains a symlink or `..`, so popping it is a true "parent".
    let mut resolved = PathBuf::new();
    let mut pending: Vec<Vec<u8>> = components(path.as_bytes());
    pending.reverse();
    let mut links = 0usize;

    while let Some(part) = pending.pop() {
        match part.as_slice() {
            b"" | b"." => continue,
            b".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(OsStr::from_bytes(&part));
        let host = root.join(&candidate);
        match fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&host)?;
                let target = target.as_os_str().as_bytes();
                if target.first() == Some(&b'/') {
                    // Absolute targets restart at the container's root, not the host's.
                    resolved = PathBuf::new();
                }
                let mut more = components(target);
                more.reverse();
                pending.extend(more);
            }
            Ok(_) => resolved = candidate,
            // A missing (or non-directory) prefix: keep the rest lexically; the caller's
            // open/stat then reports ENOENT/ENOTDIR like the kernel would.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                resolved = candidate
            }
            Err(e) => return Err(e),
        }
    }
    Ok(root.join(resolved))
}

fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|b| *b == b'/').map(|c| c.to_vec()).collect()
}

/// Opens a regular file inside the root for reading. `Ok(None)` when it does not exist or
/// is not a regular file (a FIFO planted at /etc/passwd must not hang us).
pub fn open_regular_in_root(root: &Path, path: &str) -> io::Result<Option<File>> {
    let host = resolve_in_root(root, path)?;
    // O_NOFOLLOW: the path was resolved above, a symlink here means it changed under us.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&host)
    {
        Ok(f) => f,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    Ok(Some(file))
}

/// Why argv0 cannot be executed, with Docker's wording and exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// A bare name found in no `$PATH` entry (127).
    NotFound(String),
    /// A path (with a slash) that does not exist (127).
    NoSuchFile(String),
    /// A path with a non-directory where a directory should be (127, like Docker's ENOTDIR).
    NotADirectory(String),
    /// Exists but has no execute bit (126).
    PermissionDenied(String),
    /// Names a directory (126: Docker rewrites EISDIR into "permission denied").
    IsDirectory(String),
    /// Any other failure to inspect the file (125, Docker's generic start failure).
    Other { name: String, message: String },
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotFound(n) => {
                write!(f, "exec: \"{n}\": executable file not found in $PATH")
            }
            LookupError::NoSuchFile(n) => {
                write!(f, "exec: \"{n}\": stat {n}: no such file or directory")
            }
            LookupError::NotADirectory(n) => write!(f, "exec: \"{n}\": stat {n}: not a directory"),
            LookupError::PermissionDenied(n) => write!(f, "exec: \"{n}\": permission denied"),
            LookupError::IsDirectory(n) => {
                write!(f, "exec: \"{n}\": is a directory: permission denied")
            }
            LookupError::Other { name, message } => write!(f, "exec: \"{name}\": {message}"),
        }
    }
}

impl std::error::Error for LookupError {}

impl LookupError {
    /// The exit code `docker run` reports for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            LookupError::NotFound(_)
            | LookupError::NoSuchFile(_)
            | LookupError::NotADirectory(_) => 127,
            LookupError::PermissionDenied(_) | LookupError::IsDirectory(_) => 126,
            LookupError::Other { .. } => 125,
        }
    }
}

/// Default `$PATH` when the container's environment has none (moby's `DefaultPathEnv`).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds argv0 inside the rootfs like runc's exec lookup: absolute/relative paths as given,
/// else each $PATH entry; symlinks resolved INSIDE the rootfs (never escaping it). Returns
/// the path to exec as the container sees it (argv0 itself when it has a slash).
///
/// The execute check is on mode bits (any x bit), as the lookup runs outside the container
/// without the container user's credentials.
pub fn lookup_executable(
    rootfs: &Path,
    argv0: &str,
    path_env: Option<&str>,
    cwd: &str,
) -> Result<String, LookupError> {
    if argv0.is_empty() {
        return Err(LookupError::NotFound(String::new()));
    }
    if argv0.contains('/') {
        let in_container = join_container(cwd, argv0);
        return check_executable(rootfs, &in_container, argv0).map(|()| argv0.to_string());
    }
    let path_env = path_env.unwrap_or(DEFAULT_PATH);
    for dir in path_env.split(':') {
        // An empty entry means the current directory, as in execvp(3) and Go's LookPath.
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{}/{}", dir.trim_end_matches('/'), argv0);
        let in_container = join_container(cwd, &candidate);
        if check_executable(rootfs, &in_container, argv0).is_ok() {
            return Ok(candidate);
        }
    }
    Err(LookupError::NotFound(argv0.to_string()))
}

/// Container-side absolute form of `path`, relative ones taken from `cwd`.
fn join_container(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let cwd = if cwd.is_empty() { "/" } else { cwd };
        format!("{}/{}", cwd.trim_end_matches('/'), path)
    }
}

fn check_executable(rootfs: &Path, in_container: &str, name: &str) -> Result<(), LookupError> {
    let other = |e: io::Error| LookupError::Other {
        name: name.to_string(),
        message: e.to_string(),
    };
    let host = resolve_in_root(rootfs, in_container).map_err(other)?;
    // Resolved already: metadata() only follows a symlink if the tree changed meanwhile,
    // and then it stays a lookup answer, not an escape (nothing is opened).
    let meta = match fs::symlink_metadata(&host) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(LookupError::NoSuchFile(name.to_string()))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(LookupError::NotADirectory(name.to_string()))
        }
        Err(e) => return Err(other(e)),
    };
    if meta.is_dir() {
        return Err(LookupError::IsDirectory(name.to_string()));
    }
    if meta.permissions().mode() & 0o111 == 0 || meta.file_type().is_symlink() {
        return Err(LookupError::PermissionDenied(name.to_string()));
    }
    Ok(())
}

/// `Path` helper for callers holding a container path: lexical clean, always absolute.
pub fn clean_container_path(path: &str) -> String {
    let mut out: Vec<&OsStr> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    let mut s = String::from("/");
    s.push_str(
        &out.iter()
            .map(|c| c.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    );
    s
}

/// Where `--init` puts the init inside the container (Docker's path).
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// The host's init for `--init`: `BERTH_INIT_PATH`, else Docker's docker-init, else
/// Debian's static tini. It must be static: it runs inside any image.
pub fn host_init_binary() -> Result<PathBuf, String> {
    let candidates = std::env::var_os("BERTH_INIT_PATH")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/libexec/docker/docker-init",
                "/usr/bin/docker-init",
                "/usr/bin/tini-static",
                "/usr/local/bin/tini-static",
            ]
            .iter()
            .map(PathBuf::from),
        );
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
    }
    Err("--init needs a static init binary on the host: install Debian's tini package (apt-get install tini), or point BERTH_INIT_PATH at docker-init".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write_exec(path: &Path, mode: u32) {
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).unwrap();
        }
        fs::write(path, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write_exec(&r.join("bin/busybox"), 0o755);
        symlink("busybox", r.join("bin/sh")).unwrap();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        // Absolute target: must resolve to <rootfs>/bin/busybox, never the host's /bin.
        symlink("/bin/busybox", r.join("usr/bin/env")).unwrap();
        write_exec(&r.join("etc/passwd"), 0o644);
        write_exec(&r.join("app/run.sh"), 0o700);
        fs::create_dir_all(r.join("app/dir")).unwrap();
        dir
    }

    #[test]
    fn found_via_path() {
        let r = rootfs();
        let got = lookup_executable(r.path(), "sh", Some("/usr/local/bin:/bin"), "/").unwrap();
        assert_eq!(got, "/bin/sh");
        // Default PATH when the env has none.
        let got = lookup_executable(r.path(), "env", None, "/").unwrap();
        assert_eq!(got, "/usr/bin/env");
    }

    #[test]
    fn absolute_and_relative() {
        let r = rootfs();
        assert_eq!(
            lookup_executable(r.path(), "/bin/busybox", None, "/").unwrap(),
            "/bin/busybox"
        );
        assert_eq!(
            lookup_executable(r.path(), "./run.sh", None, "/app").unwrap(),
            "./run.sh"
        );
        assert_eq!(
            lookup_executable(r.path(), "app/run.sh", None, "/").unwrap(),
            "app/run.sh"
        );
    }

    #[test]
    fn symlink_chain_inside_rootfs() {
        let r = rootfs();
        let p = r.path();
        // /usr/bin/python -> ../../opt/py -> /usr/bin/env -> /bin/busybox (all inside).
        symlink("../../opt/py", p.join("usr/bin/python")).unwrap();
        fs::create_dir_all(p.join("opt")).unwrap();
        symlink("/usr/bin/env", p.join("opt/py")).unwrap();
        assert_eq!(
            lookup_executable(p, "python", Some("/usr/bin"), "/").unwrap(),
            "/usr/bin/python"
        );
        // A symlink climbing with .. past / stays in the rootfs.
        symlink("../../../../../../bin/busybox", p.join("usr/bin/climb")).unwrap();
        assert!(lookup_executable(p, "/usr/bin/climb", None, "/").is_ok());
        assert_eq!(
            resolve_in_root(p, "/usr/bin/climb").unwrap(),
            p.join("bin/busybox")
        );
    }

    #[test]
    fn absolute_symlink_to_host_only_path_is_not_found() {
        let r = rootfs();
        // /bin/ls on the host exists, but not in the rootfs: the link must not reach it.
        symlink("/usr/bin/ls", r.path().join("bin/ls")).unwrap();
        let e = lookup_executable(r.path(), "ls", Some("/bin"), "/").unwrap_err();
        assert_eq!(e, LookupError::NotFound("ls".into()));
        let e = lookup_executable(r.path(), "/bin/ls", None, "/").unwrap_err();
        assert_eq!(e.exit_code(), 127);
    }

    #[test]
    fn not_found_is_127() {
        let r = rootfs();
        let e = lookup_executable(r.path(), "foo", Some("/bin:/usr/bin"), "/").unwrap_err();
        assert_eq!(e.exit_code(), 127);
        assert_eq!(
            e.to_string(),
            "exec: \"foo\": executable file not found in $PATH"
        );
        let e = lookup_executable(r.path(), "/nope", None, "/").unwrap_err();
        assert_eq!(e.exit_code(), 127);
        assert!(e.to_string().contains("no such file or directory"));
        let e = lookup_executable(r.path(), "/etc/passwd/x", None, "/").unwrap_err();
        assert_eq!(e.exit_code(), 127);
    }

    #[test]
    fn not_executable_or_directory_is_126() {
        let r = rootfs();
        let e = lookup_executable(r.path(), "/etc/passwd", None, "/").unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert_eq!(e.to_string(), "exec: \"/etc/passwd\": permission denied");
        let e = lookup_executable(r.path(), "/app/dir", None, "/").unwrap_err();
        assert_eq!(e.exit_code(), 126);
        assert!(e.to_string().contains("permission denied"));
        // In a PATH search a non-executable match is skipped, as in Go's LookPath.
        let e = lookup_executable(r.path(), "passwd", Some("/etc"), "/").unwrap_err();
        assert_eq!(e.exit_code(), 127);
    }

    #[test]
    fn symlink_loop_is_an_error_not_a_hang() {
        let r = rootfs();
        symlink("b", r.path().join("bin/a")).unwrap();
        symlink("a", r.path().join("bin/b")).unwrap();
        let e = lookup_executable(r.path(), "/bin/a", None, "/").unwrap_err();
        assert!(matches!(e, LookupError::Other { .. }), "{e:?}");
    }

    #[test]
    fn open_regular_skips_missing_and_special() {
        let r = rootfs();
        assert!(open_regular_in_root(r.path(), "/etc/passwd")
            .unwrap()
            .is_some());
        assert!(open_regular_in_root(r.path(), "/etc/group")
            .unwrap()
            .is_none());
        assert!(open_regular_in_root(r.path(), "/app/dir")
            .unwrap()
            .is_none());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_container_path("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_container_path("a"), "/a");
        assert_eq!(clean_container_path("/../.."), "/");
    }
}
