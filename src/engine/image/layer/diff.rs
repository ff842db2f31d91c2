//! An overlay upper dir back into a layer tar.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode};
use tar::{EntryType, Header};

use super::fsutil::{
    fmt_of, get_xattr, io_err, is_opaque, is_overlay_xattr, list_xattrs, lstat_at, open_dir_at,
    open_root, proc_path, read_names, XTarget,
};
use super::pax::{self, Xattrs};
use super::LayerError;

/// Same bound as unpack: a tar we write must be one we can read back.
const MAX_NAME: usize = 4096;
const NAME_FIELD: usize = 100;

/// Writes the diff of an overlay upper dir as a layer tar (OCI whiteouts), in a
/// deterministic order (names sorted bytewise, parents before children) so identical trees
/// give identical bytes. Returns the number of bytes written.
///
/// Format: GNU headers (`L`/`K` members for names over 100 bytes, base-256 for large
/// numbers) plus a PAX header for xattrs (`SCHILY.xattr.*`, never `trusted.overlay.*`).
/// Times are whole seconds, as Docker writes them. Whiteout devices become empty `.wh.`
/// files and opaque directories get a `.wh..wh..opq` member; both are mode 0, root-owned,
/// mtime 0. Device nodes and sockets are left out: layers cannot carry them (our own
/// unpack refuses devices, and tar has no socket type).
pub fn diff_to_tar<W: Write>(upper: &Path, out: W) -> Result<u64, LayerError> {
    let root = open_root(upper).map_err(|source| LayerError::Fs {
        path: upper.to_path_buf(),
        op: "opening upper dir",
        source,
    })?;
    let mut w = Writer {
        out: Counting { inner: out, n: 0 },
        upper: upper.to_path_buf(),
        links: HashMap::new(),
    };
    let opaque = is_opaque(&XTarget::Fd(root.as_fd())).map_err(|e| w.fs(b"", e))?;
    if opaque {
        w.marker(b".wh..wh..opq")?;
    }
    w.dir(root.as_fd(), b"")?;
    // End of archive: two zero blocks.
    w.out.write_all(&[0u8; 1024]).map_err(LayerError::Write)?;
    w.out.flush().map_err(LayerError::Write)?;
    Ok(w.out.n)
}

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

/// Exactly `left` bytes of a file that may shrink or grow while a container runs: cut at
/// the size in the header, padded with zeros if it got shorter, so the archive stays valid.
struct Exact<R> {
    inner: R,
    left: u64,
    eof: bool,
    /// For errors: a failed read would otherwise be reported as a failed tar write.
    path: PathBuf,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        if !self.eof {
            let n = self.inner.read(&mut buf[..want]).map_err(|e| {
                io::Error::new(e.kind(), format!("reading {}: {e}", self.path.display()))
            })?;
            if n > 0 {
                self.left -= n as u64;
                return Ok(n);
            }
            self.eof = true;
        }
        buf[..want].fill(0);
        self.left -= want as u64;
        Ok(want)
    }
}

struct Writer<W> {
    out: Counting<W>,
    upper: PathBuf,
    /// (dev, ino) of multiply-linked files already written, and the name written.
    links: HashMap<(u64, u64), Vec<u8>>,
}

fn header(kind: EntryType, st: &FileStat) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

/// Header for `.wh.` markers: empty regular file, mode 0, root, mtime 0.
fn marker_header() -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(0);
    h
}

impl<W: Write> Writer<W> {
    fn fs(&self, rel: &[u8], source: io::Error) -> LayerError {
        LayerError::Fs {
            path: self.upper.join(std::ffi::OsStr::from_bytes(rel)),
            op: "reading upper dir",
            source,
        }
    }

    fn dir(&mut self, dir: BorrowedFd<'_>, prefix: &[u8]) -> Result<(), LayerError> {
        let names = read_names(dir).map_err(|e| self.fs(prefix, e))?;
        for name in names {
            let name = name.as_bytes();
            let mut rel = prefix.to_vec();
            rel.extend_from_slice(name);
            if rel.len() + 1 > MAX_NAME {
                return Err(self.fs(
                    &rel,
                    io::Error::new(io::ErrorKind::InvalidInput, "path too long for a layer"),
                ));
            }
            let st = match lstat_at(dir, name) {
                Ok(st) => st,
                Err(Errno::ENOENT) => continue, // deleted while we walk
                Err(e) => return Err(self.fs(&rel, io_err(e))),
            };
            match fmt_of(&st) {
                libc::S_IFDIR => {
                    let fd = match open_dir_at(dir, name) {
                        Ok(fd) => fd,
                        Err(Errno::ENOENT) => continue,
                        Err(e) => return Err(self.fs(&rel, io_err(e))),
                    };
                    // Metadata from the fd we hold, not from the name, which can change.
                    let st = fstat(&fd).map_err(|e| self.fs(&rel, io_err(e)))?;
                    let target = XTarget::Fd(fd.as_fd());
                    let xattrs = self.xattrs(&target, &rel)?;
                    let opaque = is_opaque(&target).map_err(|e| self.fs(&rel, e))?;
                    rel.push(b'/');
                    self.emit(header(EntryType::Directory, &st), &rel, None, &xattrs, None)?;
                    if opaque {
                        let mut marker = rel.clone();
                        marker.extend_from_slice(b".wh..wh..opq");
                        self.marker(&marker)?;
                    }
                    self.dir(fd.as_fd(), &rel)?;
                }
                libc::S_IFREG => {
                    let flags = OFlag::O_RDONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_NONBLOCK
                        | OFlag::O_NOCTTY
                        | OFlag::O_CLOEXEC;
                    let fd = match openat(dir, name, flags, Mode::empty()) {
                        Ok(fd) => fd,
                        Err(Errno::ENOENT) => continue,
                        Err(e) => return Err(self.fs(&rel, io_err(e))),
                    };
                    let st = fstat(&fd).map_err(|e| self.fs(&rel, io_err(e)))?;
                    if fmt_of(&st) != libc::S_IFREG {
                        return Err(self.fs(&rel, io::Error::other("replaced while reading")));
                    }
                    if self.link(&st, &rel)? {
                        continue;
                    }
                    let xattrs = self.xattrs(&XTarget::Fd(fd.as_fd()), &rel)?;
                    let size = u64::try_from(st.st_size).unwrap_or(0);
                    let mut h = header(EntryType::Regular, &st);
                    h.set_size(size);
                    let mut data = Exact {
                        inner: File::from(fd),
                        left: size,
                        eof: false,
                        path: self.upper.join(std::ffi::OsStr::from_bytes(&rel)),
                    };
                    self.emit(h, &rel, None, &xattrs, Some(&mut data))?;
                }
                libc::S_IFLNK => {
                    let target = match readlinkat(dir, name) {
                        Ok(t) => t,
                        Err(Errno::ENOENT) => continue,
                        Err(e) => return Err(self.fs(&rel, io_err(e))),
                    };
                    if self.link(&st, &rel)? {
                        continue;
                    }
                    let path = proc_path(dir, name).map_err(|e| self.fs(&rel, e))?;
                    let xattrs = self.xattrs(&XTarget::NoFollow(&path), &rel)?;
                    let h = header(EntryType::Symlink, &st);
                    self.emit(h, &rel, Some(target.as_bytes()), &xattrs, None)?;
                }
                libc::S_IFCHR if st.st_rdev == 0 => {
                    let mut wh = prefix.to_vec();
                    wh.extend_from_slice(b".wh.");
                    wh.extend_from_slice(name);
                    self.marker(&wh)?;
                }
                libc::S_IFIFO => {
                    if self.link(&st, &rel)? {
                        continue;
                    }
                    // Not opened: opening a FIFO would interfere with a running container.
                    let path = proc_path(dir, name).map_err(|e| self.fs(&rel, e))?;
                    let xattrs = self.xattrs(&XTarget::NoFollow(&path), &rel)?;
                    self.emit(header(EntryType::Fifo, &st), &rel, None, &xattrs, None)?;
                }
                _ => {} // devices and sockets: see diff_to_tar
            }
        }
        Ok(())
    }

    /// For a file with several links: the second and later names become hardlink members
    /// pointing at the first. Returns true if a hardlink member was written.
    fn link(&mut self, st: &FileStat, rel: &[u8]) -> Result<bool, LayerError> {
        if st.st_nlink <= 1 {
            return Ok(false);
        }
        let key = (st.st_dev, st.st_ino);
        if let Some(first) = self.links.get(&key).cloned() {
            let h = header(EntryType::Link, st);
            self.emit(h, rel, Some(&first), &[], None)?;
            return Ok(true);
        }
        self.links.insert(key, rel.to_vec());
        Ok(false)
    }

    /// Sorted xattrs worth keeping in a layer.
    fn xattrs(&self, t: &XTarget<'_>, rel: &[u8]) -> Result<Xattrs, LayerError> {
        let mut names = list_xattrs(t).map_err(|e| self.fs(rel, e))?;
        names.retain(|n| !is_overlay_xattr(n) && !n.contains(&b'='));
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(v) = get_xattr(t, &n).map_err(|e| self.fs(rel, e))? {
                out.push((n, v));
            }
        }
        Ok(out)
    }

    fn marker(&mut self, rel: &[u8]) -> Result<(), LayerError> {
        self.emit(marker_header(), rel, None, &[], None)
    }

    /// Writes one member: PAX xattrs, GNU long name/link members as needed, the header,
    /// the data and its padding.
    fn emit(
        &mut self,
        mut h: Header,
        name: &[u8],
        link: Option<&[u8]>,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        data: Option<&mut dyn Read>,
    ) -> Result<(), LayerError> {
        if !xattrs.is_empty() {
            let mut recs = Vec::new();
            for (k, v) in xattrs {
                let mut key = b"SCHILY.xattr.".to_vec();
                key.extend_from_slice(k);
                recs.extend(pax::record(&key, v));
            }
            let mut x = Header::new_ustar();
            set_field(&mut x.as_old_mut().name, b"././@PaxHeader");
            x.set_entry_type(EntryType::XHeader);
            x.set_mode(0o644);
            x.set_mtime(0);
            x.set_size(recs.len() as u64);
            self.raw(&mut x, &mut &recs[..], recs.len() as u64)?;
        }
        if name.len() > NAME_FIELD {
            self.long(b'L', name)?;
        }
        set_field(
            &mut h.as_old_mut().name,
            &name[..name.len().min(NAME_FIELD)],
        );
        if let Some(link) = link {
            if link.len() > NAME_FIELD {
                self.long(b'K', link)?;
            }
            set_field(
                &mut h.as_old_mut().linkname,
                &link[..link.len().min(NAME_FIELD)],
            );
        }
        let size = h.size().map_err(LayerError::Write)?;
        match data {
            Some(d) => self.raw(&mut h, d, size),
            None => self.raw(&mut h, &mut io::empty(), 0),
        }
    }

    /// A GNU `././@LongLink` member carrying a long name (`L`) or link target (`K`).
    fn long(&mut self, kind: u8, value: &[u8]) -> Result<(), LayerError> {
        let mut h = Header::new_gnu();
        set_field(&mut h.as_old_mut().name, b"././@LongLink");
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(EntryType::new(kind));
        let mut data = value.to_vec();
        data.push(0); // NUL-terminated, as GNU tar writes it
        h.set_size(data.len() as u64);
        self.raw(&mut h, &mut &data[..], data.len() as u64)
    }

    fn raw(&mut self, h: &mut Header, data: &mut dyn Read, size: u64) -> Result<(), LayerError> {
        h.set_cksum();
        self.out
            .write_all(h.as_bytes())
            .map_err(LayerError::Write)?;
        let copied = io::copy(data, &mut self.out).map_err(LayerError::Write)?;
        if copied != size {
            return Err(LayerError::Write(io::Error::other(format!(
                "member data is {copied} bytes, header says {size}"
            ))));
        }
        let pad = (512 - size % 512) % 512;
        self.out
            .write_all(&[0u8; 512][..pad as usize])
            .map_err(LayerError::Write)
    }
}

/// Copies `value` into a fixed header field, NUL-filling the rest.
fn set_field(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}
