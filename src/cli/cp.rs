//! `berth cp`: copies files and directories between a container and the host, or
//! streams them as a tar (`-`), following the docker client's rules for where a copy
//! lands (moby's `archive.CopyInfoDestinationPath` and `PrepareArchiveCopy`).

use std::fs;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::Path;

use clap::Args;

use crate::cli::{CliError, CliResult};
use crate::engine::runtime::copy::{self, ExtractOptions};
use crate::engine::{Engine, Error as EngineError};

#[derive(Debug, Args)]
#[command(
    override_usage = "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       \
                            berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long = "archive")]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed
    /// if no terminal is attached
    #[arg(short, long)]
    quiet: bool,
    /// CONTAINER:SRC_PATH, a local path, or - (a tar on stdin)
    #[arg(value_name = "SRC")]
    source: String,
    /// CONTAINER:DEST_PATH, a local path, or - (a tar on stdout)
    #[arg(value_name = "DEST")]
    destination: String,
}

/// docker's splitCpArg: "name:path" names a container unless the argument is an
/// absolute path or starts with "." (`./file:with:colons`).
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, _)) if c.starts_with('.') => (None, arg),
        Some(("", p)) => (None, p),
        Some((c, p)) => (Some(c), p),
        None => (None, arg),
    }
}

pub fn cp(engine: &Engine, a: CpArgs) -> CliResult {
    let (src_ctr, src) = split_cp_arg(&a.source);
    let (dst_ctr, dst) = split_cp_arg(&a.destination);
    match (src_ctr, dst_ctr) {
        (Some(c), None) => from_container(engine, &a, c, src, dst),
        (None, Some(c)) => to_container(engine, &a, src, c, dst),
        (Some(_), Some(_)) => Err(CliError::failed(
            "copying between containers is not supported",
        )),
        (None, None) => Err(CliError::failed(
            "must specify at least one container source",
        )),
    }
}

/// Lexical clean of a slash path (Go's `filepath.Clean`).
fn clean(path: &str) -> String {
    let abs = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if abs => {}
            c => out.push(c),
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The last non-empty element is "." (docker's specifiesCurrentDir).
fn specifies_current_dir(path: &str) -> bool {
    path.split('/').rev().find(|c| !c.is_empty()).unwrap_or(".") == "."
}

/// The path must name a directory: it ends in "/" or "/.".
fn asserts_directory(path: &str) -> bool {
    path.ends_with('/') || specifies_current_dir(path)
}

/// docker's SplitPathDirEntry: the directory holding the entry, and the entry's name
/// ("." for "dir/.").
fn split_path_dir_entry(path: &str) -> (String, String) {
    let mut cleaned = clean(path);
    if specifies_current_dir(path) {
        if !cleaned.ends_with('/') {
            cleaned.push('/');
        }
        cleaned.push('.');
    }
    match cleaned.rfind('/') {
        Some(0) => ("/".into(), cleaned[1..].to_string()),
        Some(i) => (cleaned[..i].to_string(), cleaned[i + 1..].to_string()),
        None => (".".into(), cleaned),
    }
}

/// What is at the destination of a copy.
struct Destination {
    path: String,
    exists: bool,
    is_dir: bool,
}

/// Where the archive is extracted, and the name its top entry must take so the copy
/// lands where docker would put it (PrepareArchiveCopy).
fn prepare_copy(src_is_dir: bool, dst: &Destination) -> CliResult<(String, Option<String>)> {
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src_is_dir {
        return Err(CliError::failed("cannot copy directory"));
    }
    if !dst.exists && !src_is_dir && asserts_directory(&dst.path) {
        return Err(CliError::failed("no such directory"));
    }
    let (dir, base) = split_path_dir_entry(&dst.path);
    let rename = (base != "." && base != "/").then_some(base);
    Ok((dir, rename))
}

/// docker's ValidateOutputPath: the parent must exist, and an existing destination must
/// be a directory or a regular file.
fn validate_output_path(path: &str) -> CliResult {
    let (dir, _) = split_path_dir_entry(&clean(path));
    if !Path::new(&dir).exists() {
        return Err(CliError::failed(format!(
            "invalid output path: directory {dir:?} does not exist"
        )));
    }
    match fs::metadata(path) {
        Ok(m) if m.is_dir() || m.is_file() => Ok(()),
        Ok(_) => Err(CliError::failed(format!(
            "invalid output path: {path:?} must be a directory or a regular file"
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::failed(format!("stat {path}: {e}"))),
    }
}

/// docker's CopyInfoDestinationPath: a symlink at the destination is followed (up to
/// 10 times); a missing destination needs an existing parent directory.
fn host_destination(original: &str) -> CliResult<Destination> {
    let mut path = original.to_string();
    for _ in 0..=10 {
        match fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_symlink() => {
                return Ok(Destination {
                    path,
                    exists: true,
                    is_dir: m.is_dir(),
                })
            }
            Ok(_) => {
                let target = fs::read_link(&path)
                    .map_err(|e| CliError::failed(format!("readlink {path}: {e}")))?;
                let target = target.to_string_lossy().into_owned();
                path = if target.starts_with('/') {
                    target
                } else {
                    format!("{}/{target}", split_path_dir_entry(&path).0)
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (parent, _) = split_path_dir_entry(&path);
                let m = fs::metadata(&parent)
                    .map_err(|e| CliError::failed(format!("stat {parent}: {e}")))?;
                if !m.is_dir() {
                    return Err(CliError::failed("not a directory"));
                }
                return Ok(Destination {
                    path,
                    exists: false,
                    is_dir: false,
                });
            }
            Err(e) => return Err(CliError::failed(format!("lstat {path}: {e}"))),
        }
    }
    Err(CliError::failed(format!("too many symlinks in {original}")))
}

/// Counts the bytes of the tar stream, for "Successfully copied".
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// docker reports the size copied when stderr is a terminal, unless -q.
fn report(a: &CpArgs, bytes: u64, to: &str) {
    if !a.quiet && io::stderr().is_terminal() {
        eprintln!(
            "Successfully copied {} to {to}",
            crate::cli::units::size4(bytes)
        );
    }
}

fn from_container(engine: &Engine, a: &CpArgs, ctr: &str, src: &str, dst: &str) -> CliResult {
    if dst == "-" {
        return to_stdout(engine, a, ctr, src);
    }
    let dst_abs = copy::absolute_host_path(dst)?;
    validate_output_path(&dst_abs)?;
    let source = engine.container_archive_get(ctr, src, a.follow_link)?;
    let dst_info = host_destination(&dst_abs)?;
    let (dir, rename) = prepare_copy(source.stat().is_dir(), &dst_info)?;
    let mut tar = Counting {
        inner: source.start(rename.as_deref())?,
        n: 0,
    };
    copy::host_extract(&mut tar, Path::new(&dir), a.archive)?;
    report(a, tar.n, &dst_abs);
    Ok(())
}

fn to_stdout(engine: &Engine, a: &CpArgs, ctr: &str, src: &str) -> CliResult {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        return Err(CliError::failed(
            "cowardly refusing to write a tar archive to a terminal: redirect the output",
        ));
    }
    let source = engine.container_archive_get(ctr, src, a.follow_link)?;
    let mut tar = source.start(None)?;
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match io::copy(&mut tar, &mut out).and_then(|_| out.flush()) {
        // `| head`: the reader left, which is not our failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failed(e.to_string())),
        Ok(()) => Ok(()),
    }
}

/// Stat of a container path; None when nothing is there. (docker takes any failure as
/// "missing"; other failures, like a tmpfs cp cannot reach, say more as they are.)
fn container_stat(engine: &Engine, ctr: &str, path: &str) -> CliResult<Option<copy::PathStat>> {
    match engine.container_archive_stat(ctr, path) {
        Ok(s) => Ok(Some(s)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The container-side destination: stat'ed, a symlink followed once (its target comes
/// back fully resolved).
fn container_destination(engine: &Engine, ctr: &str, dst: &str) -> CliResult<Destination> {
    let mut path = dst.to_string();
    let mut stat = container_stat(engine, ctr, &path)?;
    if let Some(link) = stat.as_ref().filter(|s| s.is_symlink()) {
        path = link.link_target.clone();
        stat = container_stat(engine, ctr, &path)?;
    }
    if let Some(s) = &stat {
        if !s.is_dir() && !s.is_regular() {
            return Err(CliError::failed(format!(
                "destination \"{ctr}:{dst}\" must be a directory or a regular file"
            )));
        }
    }
    Ok(Destination {
        path,
        exists: stat.is_some(),
        is_dir: stat.is_some_and(|s| s.is_dir()),
    })
}

fn to_container(engine: &Engine, a: &CpArgs, src: &str, ctr: &str, dst: &str) -> CliResult {
    // A missing container is the first thing to report.
    engine.container_get(ctr)?;
    let dst_info = container_destination(engine, ctr, dst)?;
    let opts = ExtractOptions {
        copy_uid_gid: a.archive,
        no_overwrite_dir_non_dir: true,
    };
    if src == "-" {
        return from_stdin(engine, ctr, dst, &dst_info, &opts);
    }
    let source = copy::host_source(src, a.follow_link)?;
    let (dir, rename) = prepare_copy(source.is_dir(), &dst_info)?;
    let (r, w) = pipe()?;
    // The tar is produced on one thread and extracted by the engine on this one.
    let (put, written) = std::thread::scope(|s| {
        let producer = s.spawn(move || source.write_tar(rename.as_deref(), BufWriter::new(w)));
        let put = engine.container_archive_put(ctr, &dir, r, &opts);
        (put, producer.join())
    });
    put?;
    let bytes = match written {
        Ok(r) => r?,
        Err(_) => return Err(CliError::failed("the archiving thread panicked")),
    };
    report(a, bytes, &format!("{ctr}:{}", dst_info.path));
    Ok(())
}

fn from_stdin(
    engine: &Engine,
    ctr: &str,
    dst: &str,
    dst_info: &Destination,
    opts: &ExtractOptions,
) -> CliResult {
    if !dst_info.is_dir {
        return Err(CliError::failed(format!(
            "destination \"{ctr}:{dst}\" must be a directory"
        )));
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(CliError::failed(
            "cowardly refusing to read a tar archive from a terminal: redirect the input",
        ));
    }
    engine.container_archive_put(ctr, &dst_info.path, stdin, opts)?;
    Ok(())
}

fn pipe() -> CliResult<(fs::File, fs::File)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| CliError::from(EngineError::io("creating a pipe", e.into())))?;
    Ok((fs::File::from(r), fs::File::from(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_args_split_like_docker() {
        assert_eq!(split_cp_arg("c:/etc"), (Some("c"), "/etc"));
        assert_eq!(split_cp_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_cp_arg("./f:x"), (None, "./f:x"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
    }

    #[test]
    fn paths_split_like_docker() {
        assert_eq!(split_path_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_path_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/a"), ("/".into(), "a".into()));
        assert_eq!(split_path_dir_entry("x"), (".".into(), "x".into()));
        assert_eq!(clean("/a/../../b//c/."), "/b/c");
        assert!(asserts_directory("/a/") && asserts_directory("/a/.") && !asserts_directory("/a"));
    }

    #[test]
    fn copies_land_where_docker_puts_them() {
        let d = |path: &str, exists, is_dir| Destination {
            path: path.into(),
            exists,
            is_dir,
        };
        assert_eq!(
            prepare_copy(false, &d("/t", true, true)).ok(),
            Some(("/t".into(), None))
        );
        assert_eq!(
            prepare_copy(false, &d("/t/f", true, false)).ok(),
            Some(("/t".into(), Some("f".into())))
        );
        assert_eq!(
            prepare_copy(true, &d("/t/new", false, false)).ok(),
            Some(("/t".into(), Some("new".into())))
        );
        assert!(prepare_copy(true, &d("/t/f", true, false)).is_err());
        assert!(prepare_copy(false, &d("/t/new/", false, false)).is_err());
    }
}
