//! A container's mounts: `-v`, `--mount`, `--volumes-from` and anonymous volumes (from
//! `-v /path` and the image's VOLUME list), resolved once at create time into Docker's
//! MountPoint records, then turned into OCI mounts at each start.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bollard::models::{ContainerCreateBody, HostConfig, MountType};
use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::runtime::container::Containers;
use crate::engine::runtime::spec::{MountKind, ResolvedMount};
use crate::engine::store::Store;
use crate::engine::volume::Volumes;

/// Docker's MountPoint (the entries of inspect's `Mounts`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
    /// Copy the image's content at the destination into the volume on first start.
    /// Stored in the record until done; never shown by inspect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub copy_up: bool,
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

/// Parses `-v SRC:DST[:OPTS]` / `-v DST` into a mount point, creating what it names.
fn from_bind(store: &Store, spec: &str) -> Result<MountPoint> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [src, dst] => (*src, *dst, ""),
        [src, dst, opts] => (*src, *dst, *opts),
        _ => {
            return Err(Error::invalid(format!(
                "invalid volume specification: '{spec}'"
            )))
        }
    };
    if !dst.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"volume\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    let mut rw = true;
    let mut propagation = String::new();
    let mut nocopy = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => rw = false,
            "rw" => rw = true,
            "z" | "Z" => {}
            "nocopy" => nocopy = true,
            p if PROPAGATIONS.contains(&p) => propagation = p.to_string(),
            other => {
                return Err(Error::invalid(format!(
                    "invalid volume specification: '{spec}': invalid mode: {other}"
                )))
            }
        }
    }
    if src.starts_with('/') {
        // Docker creates a missing host directory for -v (not for --mount).
        if !Path::new(src).exists() {
            fs::create_dir_all(src).ctx(|| format!("creating the bind source {src}"))?;
        }
        return Ok(MountPoint {
            kind: "bind".into(),
            name: String::new(),
            source: src.to_string(),
            destination: dst.to_string(),
            driver: String::new(),
            mode: opts.to_string(),
            rw,
            propagation: if propagation.is_empty() {
                "rprivate".into()
            } else {
                propagation
            },
            copy_up: false,
        });
    }
    let vols = Volumes::new(store);
    let name = (!src.is_empty()).then_some(src);
    let fresh = name.is_none_or(|n| vols.get(n).is_err());
    let v = vols.create(name, BTreeMap::new(), BTreeMap::new(), name.is_none())?;
    Ok(MountPoint {
        kind: "volume".into(),
        name: v.name.clone(),
        source: v.mountpoint,
        destination: dst.to_string(),
        driver: "local".into(),
        mode: if opts.is_empty() {
            "z".into()
        } else {
            opts.to_string()
        },
        rw,
        propagation: String::new(),
        copy_up: fresh && !nocopy,
    })
}

fn from_mount(store: &Store, m: &bollard::models::Mount) -> Result<MountPoint> {
    let dst = m.target.clone().unwrap_or_default();
    if !dst.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid mount config: mount path must be absolute: {dst:?}"
        )));
    }
    let rw = m.read_only != Some(true);
    let src = m.source.clone().unwrap_or_default();
    match m.typ {
        Some(MountType::BIND) => {
            if !Path::new(&src).exists() {
                return Err(Error::invalid(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {src}"
                )));
            }
            let propagation = m
                .bind_options
                .as_ref()
                .and_then(|b| b.propagation.map(|p| p.to_string()))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".into());
            Ok(MountPoint {
                kind: "bind".into(),
                name: String::new(),
                source: src,
                destination: dst,
                driver: String::new(),
                mode: String::new(),
                rw,
                propagation,
                copy_up: false,
            })
        }
        Some(MountType::VOLUME) | None => {
            let vols = Volumes::new(store);
            let name = (!src.is_empty()).then_some(src.as_str());
            let fresh = name.is_none_or(|n| vols.get(n).is_err());
            let labels: BTreeMap<String, String> = m
                .volume_options
                .as_ref()
                .and_then(|o| o.labels.clone())
                .map(|l| l.into_iter().collect())
                .unwrap_or_default();
            let nocopy = m.volume_options.as_ref().and_then(|o| o.no_copy) == Some(true);
            let v = vols.create(name, labels, BTreeMap::new(), name.is_none())?;
            Ok(MountPoint {
                kind: "volume".into(),
                name: v.name,
                source: v.mountpoint,
                destination: dst,
                driver: "local".into(),
                mode: "z".into(),
                rw,
                propagation: String::new(),
                copy_up: fresh && !nocopy,
            })
        }
        Some(MountType::TMPFS) => {
            let mut opts = Vec::new();
            if let Some(t) = &m.tmpfs_options {
                if let Some(size) = t.size_bytes {
                    opts.push(format!("size={size}"));
                }
                if let Some(mode) = t.mode {
                    opts.push(format!("mode={mode:o}"));
                }
            }
            Ok(MountPoint {
                kind: "tmpfs".into(),
                name: String::new(),
                source: String::new(),
                destination: dst,
                driver: String::new(),
                mode: opts.join(","),
                rw,
                propagation: String::new(),
                copy_up: false,
            })
        }
        Some(other) => Err(Error::invalid(format!(
            "mount type {other} is not supported"
        ))),
    }
}

/// Everything the container mounts, in Docker's order of precedence: explicit mounts
/// win over `--volumes-from`, which wins over anonymous VOLUME paths.
pub fn resolve(
    store: &Store,
    body: &ContainerCreateBody,
    hc: &HostConfig,
) -> Result<Vec<MountPoint>> {
    let mut out: Vec<MountPoint> = Vec::new();
    let push = |m: MountPoint, out: &mut Vec<MountPoint>| -> Result<()> {
        if out.iter().any(|x| x.destination == m.destination) {
            return Err(Error::invalid(format!(
                "Duplicate mount point: {}",
                m.destination
            )));
        }
        out.push(m);
        Ok(())
    };
    for b in hc.binds.iter().flatten() {
        let m = from_bind(store, b)?;
        push(m, &mut out)?;
    }
    for m in hc.mounts.iter().flatten() {
        let m = from_mount(store, m)?;
        push(m, &mut out)?;
    }
    let containers = Containers::new(store);
    for spec in hc.volumes_from.iter().flatten() {
        let (name, mode) = match spec.rsplit_once(':') {
            Some((n, m)) if m == "ro" || m == "rw" => (n, Some(m)),
            _ => (spec.as_str(), None),
        };
        let id = containers.resolve(name)?;
        let src = containers.get(&id)?;
        for mut m in src.config.mounts {
            if out.iter().any(|x| x.destination == m.destination) {
                continue;
            }
            if let Some(mode) = mode {
                m.rw = mode == "rw";
            }
            m.copy_up = false;
            out.push(m);
        }
    }
    for path in body.volumes.iter().flatten() {
        if out.iter().any(|x| x.destination == *path) {
            continue;
        }
        let m = from_bind(store, path)?;
        out.push(m);
    }
    Ok(out)
}

/// OCI mounts for a start. Tmpfs and `--tmpfs` are handled by the spec builder.
pub fn to_oci(mounts: &[MountPoint]) -> Vec<ResolvedMount> {
    mounts
        .iter()
        .map(|m| ResolvedMount {
            source: PathBuf::from(&m.source),
            destination: m.destination.clone(),
            read_only: !m.rw,
            kind: if m.kind == "tmpfs" {
                MountKind::Tmpfs {
                    options: m
                        .mode
                        .split(',')
                        .filter(|o| !o.is_empty())
                        .map(str::to_string)
                        .collect(),
                }
            } else {
                MountKind::Bind {
                    propagation: (!m.propagation.is_empty()).then(|| m.propagation.clone()),
                }
            },
        })
        .collect()
}

/// Copies what the image has at each new volume's destination into the (empty)
/// volume, as Docker does on first use; clears the flag in the record.
pub fn copy_up(store: &Store, id: &str, rootfs: &Path, mounts: &[MountPoint]) -> Result<()> {
    let mut changed = false;
    for m in mounts.iter().filter(|m| m.copy_up && m.kind == "volume") {
        let rel = m.destination.trim_start_matches('/');
        let src = rootfs.join(rel);
        let dst = Path::new(&m.source);
        let empty = fs::read_dir(dst)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        // Only a real directory inside the rootfs (never follow a symlink out of it).
        let is_dir = fs::symlink_metadata(&src)
            .map(|md| md.is_dir())
            .unwrap_or(false);
        if empty && is_dir {
            copy_tree(&src, dst)?;
        }
        changed = true;
    }
    if changed {
        Containers::new(store).update_mounts(id, |ms| {
            for m in ms.iter_mut() {
                m.copy_up = false;
            }
        })?;
    }
    Ok(())
}

/// Recursive copy keeping modes, owners and symlinks (content of an image dir).
fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let md = fs::symlink_metadata(src).ctx(|| format!("reading {}", src.display()))?;
    let _ = fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777));
    let _ = std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()));
    for entry in fs::read_dir(src).ctx(|| format!("reading {}", src.display()))? {
        let entry = entry.ctx(|| format!("reading {}", src.display()))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let md = fs::symlink_metadata(&from).ctx(|| format!("reading {}", from.display()))?;
        let ft = md.file_type();
        if ft.is_dir() {
            fs::create_dir(&to).ctx(|| format!("creating {}", to.display()))?;
            copy_tree(&from, &to)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&from).ctx(|| format!("reading {}", from.display()))?;
            std::os::unix::fs::symlink(target, &to).ctx(|| format!("creating {}", to.display()))?;
            let _ = std::os::unix::fs::lchown(&to, Some(md.uid()), Some(md.gid()));
        } else if ft.is_file() {
            fs::copy(&from, &to).ctx(|| format!("copying {}", from.display()))?;
            let _ = std::os::unix::fs::lchown(&to, Some(md.uid()), Some(md.gid()));
            let _ = fs::set_permissions(&to, fs::Permissions::from_mode(md.mode() & 0o7777));
        }
    }
    Ok(())
}
