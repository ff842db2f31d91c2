//! The demo image, built offline from the host's statically linked busybox (Debian's
//! busybox-static), so the README's first command works with no registry at hand.

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use crate::engine::image::import::ImportOptions;
use crate::engine::image::reference::Reference;
use crate::engine::{Engine, Error, Result};

pub const DEMO_IMAGE: &str = "busybox:latest";
const DEMO_LABEL: &str = "io.berth.demo";
/// Fixed mtime so the layer (and its diff id) is the same on every machine.
const EPOCH: u64 = 1_704_067_200;

pub enum DemoImage {
    Existing(String),
    Built(String),
}

/// True when the ELF file has no program interpreter (statically linked).
fn is_static_elf(bytes: &[u8]) -> bool {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap_or([0; 8])) as usize;
    let (entsize, num) = (u16_at(0x36), u16_at(0x38));
    (0..num).all(|i| {
        let o = phoff + i * entsize;
        // PT_INTERP = 3
        bytes
            .get(o..o + 4)
            .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != 3)
            .unwrap_or(false)
    })
}

fn header(path: &str, kind: tar::EntryType, mode: u32, size: u64) -> Result<tar::Header> {
    let mut h = tar::Header::new_gnu();
    h.set_path(path)
        .map_err(|e| Error::Other(format!("demo image path {path}: {e}")))?;
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(EPOCH);
    h.set_uid(0);
    h.set_gid(0);
    Ok(h)
}

/// A root filesystem tar: busybox, its applet links, users and a web page.
pub fn demo_rootfs(busybox: &Path) -> Result<Vec<u8>> {
    let bin = fs::read(busybox).map_err(|e| {
        Error::invalid(format!(
            "reading {}: {e} (install it with: apt-get install busybox-static)",
            busybox.display()
        ))
    })?;
    if !is_static_elf(&bin) {
        return Err(Error::invalid(format!(
            "{} is not a statically linked busybox: install it with: apt-get install busybox-static",
            busybox.display()
        )));
    }
    let list = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| Error::invalid(format!("running {} --list-full: {e}", busybox.display())))?;
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str,
                   kind: tar::EntryType,
                   mode: u32,
                   data: &[u8],
                   link: Option<&str>|
     -> Result<()> {
        let mut h = header(path, kind, mode, data.len() as u64)?;
        if let Some(l) = link {
            h.set_link_name(l)
                .map_err(|e| Error::Other(format!("demo image link {path}: {e}")))?;
        }
        h.set_cksum();
        b.append(&h, data)
            .map_err(|e| Error::Other(format!("building demo rootfs: {e}")))
    };
    for d in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "var", "var/www", "proc",
        "sys", "dev", "home",
    ] {
        add(d, tar::EntryType::Directory, 0o755, &[], None)?;
    }
    add("tmp", tar::EntryType::Directory, 0o1777, &[], None)?;
    add("bin/busybox", tar::EntryType::Regular, 0o755, &bin, None)?;
    let mut seen = std::collections::BTreeSet::new();
    for a in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "bin/busybox")
    {
        if a.contains("..") || a.starts_with('/') || !seen.insert(a.to_string()) {
            continue;
        }
        add(a, tar::EntryType::Symlink, 0o777, &[], Some("/bin/busybox"))?;
    }
    add(
        "etc/passwd",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        None,
    )?;
    add(
        "etc/group",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
        None,
    )?;
    add(
        "var/www/index.html",
        tar::EntryType::Regular,
        0o644,
        b"<html><body><h1>Hello from berth</h1></body></html>\n",
        None,
    )?;
    b.into_inner()
        .map_err(|e| Error::Other(format!("building demo rootfs: {e}")))
}

/// Builds the demo image unless one made by berth is already there.
pub fn ensure_demo_image(engine: &Engine, busybox: &Path) -> Result<DemoImage> {
    // Any busybox the user already has (loaded or pulled) serves the demo as well.
    if let Ok(img) = engine.image_get(DEMO_IMAGE) {
        return Ok(DemoImage::Existing(img.id));
    }
    let rootfs = demo_rootfs(busybox)?;
    let opts = ImportOptions {
        changes: vec![
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            format!("LABEL {DEMO_LABEL}=true"),
            "CMD [\"sh\"]".into(),
        ],
        message: None,
        source: "berth demo (Debian busybox-static)".into(),
        tag: Some(Reference::parse(DEMO_IMAGE).map_err(|e| Error::invalid(e.to_string()))?),
        platform_arch: None,
    };
    let id = engine.image_import(Cursor::new(rootfs), &opts)?;
    Ok(DemoImage::Built(id))
}
