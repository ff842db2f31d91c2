//! Writing a tar of one file or directory tree, walked through directory fds with
//! `O_NOFOLLOW` so that nothing outside the tree is ever read, even while a running
//! container changes it under us.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode};
use tar::{EntryType, Header};

use super::resolve::{fmt_of, io_err, lstat_at, open_dir_at};

/// What to put in the archive.
pub(crate) enum Source<'a> {
    /// The entry `name` of `dir`, whatever it is (a symlink is stored as a symlink).
    Entry { dir: BorrowedFd<'a>, name: &'a [u8] },
    /// An open directory.
    Dir(BorrowedFd<'a>),
}

/// Writes `src` as a tar to `out`. The top entry is called `top`; with `top` None (a
/// `Dir` only) the directory's children are the top-level entries, as Docker does for
/// `path/.`. Returns the number of tar bytes written.
pub(crate) fn write<W: Write>(src: Source<'_>, top: Option<&[u8]>, out: W) -> io::Result<u64> {
    let mut w = TarWriter {
        b: tar::Builder::new(Counting { inner: out, n: 0 }),
        links: HashMap::new(),
    };
    match (src, top) {
        (Source::Entry { dir, name }, Some(top)) => w.add(dir, name, &tar_name(None, top))?,
        (Source::Entry { .. }, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an archive of a single entry needs a name",
            ))
        }
        (Source::Dir(fd), Some(top)) => {
            let st = fstat(fd).map_err(io_err)?;
            w.add_dir(fd, &st, &tar_name(None, top))?;
        }
        (Source::Dir(fd), None) => w.add_children(fd, None)?,
    }
    let mut counting = w.b.into_inner()?;
    counting.flush()?;
    Ok(counting.n)
}

fn tar_name(parent: Option<&Path>, name: &[u8]) -> PathBuf {
    let name = Path::new(OsStr::from_bytes(name));
    match parent {
        Some(p) => p.join(name),
        None => name.to_path_buf(),
    }
}

/// Counts what goes through, for "Successfully copied N".
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct TarWriter<W: Write> {
    b: tar::Builder<W>,
    /// (dev, ino) of regular files with several links, to the name they were stored as,
    /// so later names become hardlinks as in Docker's archives.
    links: HashMap<(u64, u64), PathBuf>,
}

fn header(st: &FileStat, kind: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

impl<W: Write> TarWriter<W> {
    /// One entry of `dir` and, for a directory, everything below it.
    fn add(&mut self, dir: BorrowedFd<'_>, name: &[u8], as_name: &Path) -> io::Result<()> {
        let st = match lstat_at(dir, name) {
            Ok(st) => st,
            // Removed while we walked a live container: it is simply not copied.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Err(e) => return Err(e),
        };
        match fmt_of(&st) {
            libc::S_IFDIR => {
                let fd = open_dir_at(dir, name)?;
                self.add_dir(fd.as_fd(), &st, as_name)
            }
            libc::S_IFREG => self.add_file(dir, name, &st, as_name),
            libc::S_IFLNK => {
                let target = readlinkat(dir, name).map_err(io_err)?;
                let mut h = header(&st, EntryType::Symlink);
                self.b.append_link(&mut h, as_name, Path::new(&target))
            }
            libc::S_IFCHR | libc::S_IFBLK => {
                let kind = if fmt_of(&st) == libc::S_IFCHR {
                    EntryType::Char
                } else {
                    EntryType::Block
                };
                let mut h = header(&st, kind);
                h.set_device_major(libc::major(st.st_rdev))?;
                h.set_device_minor(libc::minor(st.st_rdev))?;
                self.b.append_data(&mut h, as_name, io::empty())
            }
            libc::S_IFIFO => {
                let mut h = header(&st, EntryType::Fifo);
                self.b.append_data(&mut h, as_name, io::empty())
            }
            // Sockets cannot be archived (Docker skips them too).
            _ => Ok(()),
        }
    }

    fn add_dir(&mut self, fd: BorrowedFd<'_>, st: &FileStat, as_name: &Path) -> io::Result<()> {
        let mut h = header(st, EntryType::Directory);
        self.b.append_data(&mut h, as_name, io::empty())?;
        self.add_children(fd, Some(as_name))
    }

    fn add_children(&mut self, fd: BorrowedFd<'_>, prefix: Option<&Path>) -> io::Result<()> {
        for name in read_names(fd)? {
            self.add(fd, &name, &tar_name(prefix, &name))?;
        }
        Ok(())
    }

    fn add_file(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        st: &FileStat,
        as_name: &Path,
    ) -> io::Result<()> {
        let key = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key) {
                let mut h = header(st, EntryType::Link);
                let first = first.clone();
                return self.b.append_link(&mut h, as_name, first);
            }
        }
        // O_NONBLOCK: if a FIFO took the file's place since the lstat, opening it must
        // not hang; the fstat below then notices the swap.
        let fd = openat(
            dir,
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        let now = fstat(&fd).map_err(io_err)?;
        if fmt_of(&now) != libc::S_IFREG {
            return Ok(()); // replaced by something else meanwhile
        }
        let file = File::from(fd);
        let size = u64::try_from(now.st_size).unwrap_or(0);
        let mut h = header(&now, EntryType::Regular);
        h.set_size(size);
        // Exactly `size` bytes whatever happens to the file meanwhile: a file that
        // shrinks is padded with zeros, one that grows is cut, so the tar stays whole.
        let data = (&file).take(size).chain(io::repeat(0)).take(size);
        self.b.append_data(&mut h, as_name, data)?;
        if now.st_nlink > 1 {
            self.links.insert(key, as_name.to_path_buf());
        }
        Ok(())
    }
}

/// Names in an open directory, sorted bytewise for a deterministic archive.
pub(crate) fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    // The magic link names exactly the directory we hold, whatever happened to its path.
    let mut names = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        names.push(entry?.file_name().as_bytes().to_vec());
    }
    names.sort();
    Ok(names)
}
