//! `docker cp` and the Docker API's `/containers/{id}/archive`: stat a path inside a
//! container (HEAD), stream it out as a tar (GET), extract a tar into it (PUT), on
//! running and stopped containers alike, plus the host-side halves the CLI needs.
//!
//! Paths are resolved inside the container's root only (see `resolve`), through a view
//! in which its volumes and binds are mounted where the container sees them (see
//! `fsview`). Extraction reuses the image layer unpacker's checks, so no tar can write
//! outside the destination directory.

mod fsview;
mod resolve;
mod tarball;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, Result};
use crate::engine::image::layer::{self, LayerError};
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::store::Store;
use fsview::View;
pub use fsview::{lock as lock_fs, FsLock};
use resolve::{fmt_of, io_err, Resolved};

/// Docker's ContainerPathStat (the `X-Docker-Container-Path-Stat` header, base64 JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: permissions plus the MODE_* type flags.
    pub mode: u32,
    /// RFC 3339, UTC.
    pub mtime: String,
    /// For a symlink: where it leads, fully resolved inside the container.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

// Go's os.FileMode type bits.
pub const MODE_DIR: u32 = 1 << 31;
pub const MODE_SYMLINK: u32 = 1 << 27;
pub const MODE_DEVICE: u32 = 1 << 26;
pub const MODE_NAMED_PIPE: u32 = 1 << 25;
pub const MODE_SOCKET: u32 = 1 << 24;
pub const MODE_SETUID: u32 = 1 << 23;
pub const MODE_SETGID: u32 = 1 << 22;
pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
pub const MODE_STICKY: u32 = 1 << 20;
pub const MODE_IRREGULAR: u32 = 1 << 19;
/// All the type bits: none set means a regular file.
pub const MODE_TYPE: u32 = MODE_DIR
    | MODE_SYMLINK
    | MODE_NAMED_PIPE
    | MODE_SOCKET
    | MODE_DEVICE
    | MODE_CHAR_DEVICE
    | MODE_IRREGULAR;

/// A Unix `st_mode` as Go's `os.FileMode`.
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & libc::S_IFMT {
        libc::S_IFREG => 0,
        libc::S_IFDIR => MODE_DIR,
        libc::S_IFLNK => MODE_SYMLINK,
        libc::S_IFBLK => MODE_DEVICE,
        libc::S_IFCHR => MODE_DEVICE | MODE_CHAR_DEVICE,
        libc::S_IFIFO => MODE_NAMED_PIPE,
        libc::S_IFSOCK => MODE_SOCKET,
        _ => MODE_IRREGULAR,
    };
    for (unix, go) in [
        (libc::S_ISUID, MODE_SETUID),
        (libc::S_ISGID, MODE_SETGID),
        (libc::S_ISVTX, MODE_STICKY),
    ] {
        if st_mode & unix != 0 {
            m |= go;
        }
    }
    m
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & MODE_SYMLINK != 0
    }
    pub fn is_regular(&self) -> bool {
        self.mode & MODE_TYPE == 0
    }
}

fn rfc3339(secs: i64, nanos: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, u32::try_from(nanos).unwrap_or(0))
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// How `PUT /archive` extracts.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// `cp -a`: keep the tar's uid/gid instead of making everything root's.
    pub copy_uid_gid: bool,
    /// Refuse to replace a directory by a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
}

/// A path as cp was given it, taken as absolute (relative paths start at `/`).
struct Request {
    /// As given, for messages.
    given: String,
    /// Lexically cleaned (`..` applied as Docker's `filepath.Clean` does), plus a final
    /// "." when the path must name a directory (it ended in "/" or "/.").
    comps: Vec<Vec<u8>>,
    /// Docker's `filepath.Base` of the path: the stat's name ("/" for the root).
    base: String,
    /// Name of the archive's top entry; None when the archive holds a directory's
    /// contents ("dir/." and "/").
    top: Option<Vec<u8>>,
}

impl Request {
    fn parse(path: &str) -> Result<Request> {
        if path.is_empty() {
            return Err(Error::invalid("path cannot be empty"));
        }
        if path.contains('\0') {
            return Err(Error::invalid("path contains a NUL byte"));
        }
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in path.as_bytes().split(|b| *b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    comps.pop();
                }
                c => comps.push(c.to_vec()),
            }
        }
        // Docker's specifiesCurrentDir: the last non-empty element is ".".
        let dot = path.split('/').rev().find(|c| !c.is_empty()) == Some(".");
        let last = comps.last().cloned();
        let base = match &last {
            _ if dot => ".".to_string(),
            Some(l) => String::from_utf8_lossy(l).into_owned(),
            None => "/".to_string(),
        };
        let top = if dot { None } else { last };
        if dot || path.ends_with('/') {
            comps.push(b".".to_vec());
        }
        Ok(Request {
            given: path.to_string(),
            comps,
            base,
            top,
        })
    }
}

/// Resolution errors in Docker's words.
fn path_error(e: io::Error, req: &Request, container: &str) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) => Error::not_found(format!(
            "Could not find the file {} in container {container}",
            req.given
        )),
        Some(libc::ENOTDIR) => Error::invalid(format!("{}: not a directory", req.given)),
        Some(libc::ELOOP) => {
            Error::invalid(format!("{}: too many levels of symbolic links", req.given))
        }
        _ => Error::io(format!("resolving {}", req.given), e),
    }
}

fn resolve_request(
    view: &View,
    req: &Request,
    container: &str,
    follow_last: bool,
) -> Result<Resolved> {
    resolve::resolve(view.root(), &req.comps, follow_last)
        .map_err(|e| path_error(e, req, container))
}

fn stat_of(view: &View, target: &Resolved, req: &Request, container: &str) -> Result<PathStat> {
    let st = target.stat().map_err(|e| path_error(e, req, container))?;
    let link_target = if fmt_of(&st) == libc::S_IFLNK {
        resolve::resolve_lexically(view.root(), &target.path)
            .map_err(|e| path_error(e, req, container))?
    } else {
        String::new()
    };
    Ok(PathStat {
        name: req.base.clone(),
        size: st.st_size,
        mode: go_file_mode(st.st_mode),
        mtime: rfc3339(st.st_mtime, st.st_mtime_nsec),
        link_target,
    })
}

/// Runs `op` on a view of the container's filesystem, on a thread of its own (the view
/// needs a private mount namespace). The container's filesystem lock is held meanwhile.
fn in_view<T: Send>(
    store: &Store,
    rec: &ContainerRecord,
    op: impl FnOnce(&View) -> Result<T> + Send,
) -> Result<T> {
    let plan = fsview::plan(store, rec)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            let view = View::enter(plan)?;
            op(&view)
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Other("the copy thread panicked".into())))
    })
}

/// `HEAD /containers/{id}/archive?path=`: what is at `path` (a symlink itself, not what
/// it points to, unless the path ends in "/" or "/."). `container` is the name the
/// caller used, for messages.
pub fn stat(store: &Store, rec: &ContainerRecord, container: &str, path: &str) -> Result<PathStat> {
    let req = Request::parse(path)?;
    in_view(store, rec, |view| {
        let target = resolve_request(view, &req, container, false)?;
        view.check_reachable(&target)?;
        stat_of(view, &target, &req, container)
    })
}

fn proc_fd(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Refuses names that would not be a single archive entry.
fn entry_name(name: &str) -> Result<Vec<u8>> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Error::invalid(format!(
            "invalid archive entry name {name:?}"
        )));
    }
    Ok(name.as_bytes().to_vec())
}

fn write_target<W: Write>(target: &Resolved, top: Option<&[u8]>, out: W) -> io::Result<u64> {
    match &target.name {
        Some(name) => tarball::write(
            tarball::Source::Entry {
                dir: target.dir.as_fd(),
                name,
            },
            top,
            out,
        ),
        None => tarball::write(tarball::Source::Dir(target.dir.as_fd()), top, out),
    }
}

fn pipe() -> Result<(File, File)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("creating a pipe", io_err(e)))?;
    Ok((File::from(r), File::from(w)))
}

fn join_worker(worker: JoinHandle<Result<()>>) -> Result<()> {
    worker
        .join()
        .unwrap_or_else(|_| Err(Error::Other("the copy thread panicked".into())))
}

/// The first half of `GET /archive`: the path was found and stat'ed, the tar has not
/// started. Dropping it cancels the copy.
pub struct ArchiveSource {
    stat: PathStat,
    go: Option<mpsc::SyncSender<Option<Vec<u8>>>>,
    pipe: Option<File>,
    worker: Option<JoinHandle<Result<()>>>,
}

impl ArchiveSource {
    pub fn stat(&self) -> &PathStat {
        &self.stat
    }

    /// Starts the tar stream. `rename` names the top entry instead of the path's base
    /// name (what Docker's client does with RebaseArchiveEntries, done at the source).
    pub fn start(mut self, rename: Option<&str>) -> Result<ArchiveReader> {
        let rename = rename.map(entry_name).transpose()?;
        if let Some(go) = self.go.take() {
            // A worker that already stopped shows its error when the stream ends.
            let _ = go.send(rename);
        }
        Ok(ArchiveReader {
            pipe: self.pipe.take(),
            worker: self.worker.take(),
        })
    }
}

impl Drop for ArchiveSource {
    fn drop(&mut self) {
        // No "go": the worker gives up, releasing the view and the lock before we return.
        self.go.take();
        self.pipe.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The tar stream of `GET /archive`. A failure while producing it is an error at its
/// end, never a silently short archive.
pub struct ArchiveReader {
    pipe: Option<File>,
    worker: Option<JoinHandle<Result<()>>>,
}

impl Read for ArchiveReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(0);
        };
        let n = pipe.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.pipe = None;
            if let Some(w) = self.worker.take() {
                join_worker(w).map_err(io::Error::other)?;
            }
        }
        Ok(n)
    }
}

impl Drop for ArchiveReader {
    fn drop(&mut self) {
        // Closing our end first makes a worker still writing fail fast with EPIPE.
        self.pipe.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// What the archive worker reports before streaming.
type Prepared = (View, Resolved, PathStat);

/// `GET /containers/{id}/archive?path=`: the path's stat now, its tar when started.
/// With `follow_link` a symlink at `path` is replaced by what it points to (`cp -L`),
/// still named after the link.
pub fn archive(
    store: &Store,
    rec: &ContainerRecord,
    container: &str,
    path: &str,
    follow_link: bool,
) -> Result<ArchiveSource> {
    let req = Request::parse(path)?;
    let plan = fsview::plan(store, rec)?;
    let (stat_tx, stat_rx) = mpsc::sync_channel::<Result<PathStat>>(1);
    let (go_tx, go_rx) = mpsc::sync_channel::<Option<Vec<u8>>>(1);
    let (pipe_r, pipe_w) = pipe()?;
    let container = container.to_string();
    let worker = std::thread::spawn(move || -> Result<()> {
        let prepared = View::enter(plan).and_then(|view| -> Result<Prepared> {
            let target = resolve_request(&view, &req, &container, follow_link)?;
            view.check_reachable(&target)?;
            let st = stat_of(&view, &target, &req, &container)?;
            Ok((view, target, st))
        });
        let (view, target, st) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let _ = stat_tx.send(Err(e));
                return Ok(());
            }
        };
        if stat_tx.send(Ok(st)).is_err() {
            return Ok(());
        }
        let Ok(rename) = go_rx.recv() else {
            return Ok(()); // cancelled
        };
        let top = rename.or(req.top);
        let out = BufWriter::with_capacity(1 << 16, pipe_w);
        write_target(&target, top.as_deref(), out)
            .map_err(|e| Error::io(format!("archiving {}", req.given), e))?;
        drop(target);
        drop(view);
        Ok(())
    });
    let stat = match stat_rx.recv() {
        Ok(Ok(stat)) => stat,
        Ok(Err(e)) => {
            let _ = worker.join();
            return Err(e);
        }
        Err(_) => {
            join_worker(worker)?;
            return Err(Error::Other("the copy thread stopped early".into()));
        }
    };
    crate::engine::runtime::container::emit(store, rec, "archive-path", &[]);
    Ok(ArchiveSource {
        stat,
        go: Some(go_tx),
        pipe: Some(pipe_r),
        worker: Some(worker),
    })
}

/// Extraction failures in the caller's terms.
fn extract_error(e: LayerError) -> Error {
    match e {
        LayerError::Rejected { entry, reason } => {
            Error::invalid(format!("refusing to extract {entry:?}: {reason}"))
        }
        LayerError::Tar(e) => Error::invalid(format!("reading the tar archive: {e}")),
        LayerError::Entry { entry, source, .. } if source.raw_os_error() == Some(libc::EROFS) => {
            Error::invalid(format!("{entry}: read-only file system"))
        }
        LayerError::Entry { entry, op, source } => {
            Error::io(format!("extracting {entry:?}: {op}"), source)
        }
        LayerError::Fs { path, op, source } => {
            Error::io(format!("{op} {}", path.display()), source)
        }
        LayerError::Write(e) => Error::io("writing", e),
    }
}

/// Extracts `input` into the directory `dir`, then reads the rest of the stream so a
/// writer that appends padding after the tar's end never sees a broken pipe.
fn extract_into<R: Read>(mut input: R, dir: &Path, opts: &layer::CopyOptions) -> Result<()> {
    layer::unpack_copy(&mut input, dir, opts).map_err(extract_error)?;
    io::copy(&mut input, &mut io::sink())
        .map(drop)
        .map_err(|e| Error::invalid(format!("reading the tar archive: {e}")))
}

/// `PUT /containers/{id}/archive?path=`: extracts a tar into the directory at `path`
/// (symlinks followed, the last one too). Without `copy_uid_gid` everything becomes
/// root's, as the container's root user is the owner Docker gives.
pub fn extract<R: Read + Send>(
    store: &Store,
    rec: &ContainerRecord,
    container: &str,
    path: &str,
    input: R,
    opts: &ExtractOptions,
) -> Result<()> {
    let req = Request::parse(path)?;
    let copy = layer::CopyOptions {
        owner: (!opts.copy_uid_gid).then_some((0, 0)),
        no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
    };
    in_view(store, rec, move |view| {
        let target = resolve_request(view, &req, container, true)?;
        let dir = target.open_dir().map_err(|e| match e.raw_os_error() {
            Some(libc::ENOTDIR) => Error::invalid("extraction point is not a directory"),
            _ => path_error(e, &req, container),
        })?;
        view.check_writable(&target)?;
        extract_into(input, Path::new(&proc_fd(&dir)), &copy)
    })?;
    crate::engine::runtime::container::emit(store, rec, "extract-to-dir", &[]);
    Ok(())
}

/// A file or directory on this host, to be copied into a container.
pub struct HostSource {
    target: Resolved,
    top: Option<Vec<u8>>,
    is_dir: bool,
}

/// Host paths, relative ones against the current directory, keeping a final "/" or "/."
/// (Docker's resolveLocalPath).
pub fn absolute_host_path(path: &str) -> Result<String> {
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("finding the current directory", e))?;
    Ok(format!(
        "{}/{path}",
        cwd.to_string_lossy().trim_end_matches('/')
    ))
}

/// Looks up `path` on the host: its parent's symlinks are followed, the last one only
/// with `follow_link` (or a final "/").
pub fn host_source(path: &str, follow_link: bool) -> Result<HostSource> {
    let abs = absolute_host_path(path)?;
    let req = Request::parse(&abs)?;
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::io("opening /", io_err(e)))?;
    let host_error = |e: io::Error| {
        let what = format!("lstat {abs}: {}", go_error_text(&e));
        match e.raw_os_error() {
            Some(libc::ENOENT) => Error::not_found(what),
            _ => Error::invalid(what),
        }
    };
    let target = resolve::resolve(root.as_fd(), &req.comps, follow_link).map_err(host_error)?;
    let st = target.stat().map_err(host_error)?;
    Ok(HostSource {
        target,
        top: req.top,
        is_dir: fmt_of(&st) == libc::S_IFDIR,
    })
}

/// An errno as Go prints it ("no such file or directory"), as docker's messages do.
fn go_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl HostSource {
    pub fn is_dir(&self) -> bool {
        self.is_dir
    }

    /// Writes the tar, its top entry named `rename` or the path's own base name (or, for
    /// "dir/." without `rename`, the directory's contents). Returns the bytes written.
    pub fn write_tar<W: Write>(&self, rename: Option<&str>, out: W) -> Result<u64> {
        let rename = rename.map(entry_name).transpose()?;
        let top = rename.or_else(|| self.top.clone());
        write_target(&self.target, top.as_deref(), out)
            .map_err(|e| Error::io("archiving the source", e))
    }
}

/// Extracts a tar from a container into the host directory `dir`, refusing to replace a
/// directory by a file or the reverse. Files belong to the caller, or with `keep_owner`
/// (`cp -a`) to the uid/gid they had in the container.
pub fn host_extract<R: Read>(input: R, dir: &Path, keep_owner: bool) -> Result<()> {
    let owner = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let opts = layer::CopyOptions {
        owner: (!keep_owner).then_some(owner),
        no_overwrite_dir_non_dir: true,
    };
    extract_into(input, dir, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_docker_path_rules() {
        let r = Request::parse("etc/../etc/hosts").expect("parse");
        assert_eq!(r.comps, vec![b"etc".to_vec(), b"hosts".to_vec()]);
        assert_eq!(
            (r.base.as_str(), r.top.as_deref()),
            ("hosts", Some(&b"hosts"[..]))
        );
        let r = Request::parse("/etc/").expect("parse");
        assert_eq!(r.comps, vec![b"etc".to_vec(), b".".to_vec()]);
        assert_eq!(r.base, "etc");
        let r = Request::parse("/etc/.").expect("parse");
        assert_eq!((r.base.as_str(), r.top.as_deref()), (".", None));
        let r = Request::parse("/").expect("parse");
        assert_eq!((r.base.as_str(), r.top.as_deref()), ("/", None));
        let r = Request::parse("/a/..").expect("parse");
        assert_eq!(r.base, "/");
        assert!(Request::parse("").is_err());
    }

    #[test]
    fn go_modes() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), MODE_DIR | 0o755);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), MODE_SYMLINK | 0o777);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o4755), MODE_SETUID | 0o755);
        assert_eq!(
            go_file_mode(libc::S_IFCHR | 0o666),
            MODE_DEVICE | MODE_CHAR_DEVICE | 0o666
        );
        assert_eq!(
            go_file_mode(libc::S_IFDIR | 0o1777),
            MODE_DIR | MODE_STICKY | 0o777
        );
    }

    #[test]
    fn stat_serializes_like_docker() {
        let s = PathStat {
            name: "hosts".into(),
            size: 3,
            mode: 0o644,
            mtime: rfc3339(0, 0),
            link_target: String::new(),
        };
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"{"name":"hosts","size":3,"mode":420,"mtime":"1970-01-01T00:00:00Z","linkTarget":""}"#
        );
    }

    /// The host halves round-trip a tree, and a hostile tar cannot leave the destination.
    #[test]
    fn host_round_trip_and_hostile_tars() {
        let d = tempfile::tempdir().expect("tempdir");
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("sub")).expect("mkdir");
        std::fs::write(src.join("sub/f"), "data").expect("write");
        std::fs::write(src.join(".wh.kept"), "plain").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).expect("symlink");
        std::fs::hard_link(src.join("sub/f"), src.join("hard")).expect("hardlink");
        let s = host_source(src.to_str().expect("utf-8"), false).expect("source");
        assert!(s.is_dir());
        let mut tar = Vec::new();
        s.write_tar(Some("copy"), &mut tar).expect("tar");
        let out = d.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        host_extract(&tar[..], &out, false).expect("extract");
        assert_eq!(
            std::fs::read_to_string(out.join("copy/sub/f")).expect("read"),
            "data"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("copy/.wh.kept")).expect("read"),
            "plain"
        );
        assert_eq!(
            std::fs::read_link(out.join("copy/link")).expect("readlink"),
            Path::new("/etc/passwd")
        );
        // Hardlinks stay links of one file, under the renamed top entry.
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &str| std::fs::metadata(out.join(p)).expect("stat").ino();
        assert_eq!(ino("copy/hard"), ino("copy/sub/f"));
        // Writing through the symlink just extracted must be refused.
        let evil = one_entry_tar(tar::EntryType::Regular, "copy/link/x", b"x");
        let e = host_extract(&evil[..], &out, false).expect_err("through a symlink");
        assert!(e.to_string().contains("symlink"), "{e}");
        // A directory may not replace a file.
        let clash = one_entry_tar(tar::EntryType::Directory, "copy/sub/f", b"");
        let e = host_extract(&clash[..], &out, false).expect_err("clash");
        assert!(e.to_string().contains("cannot overwrite"), "{e}");
    }

    fn one_entry_tar(kind: tar::EntryType, name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(&mut h, name, data).expect("append");
        b.into_inner().expect("tar")
    }
}
