//! Filesystem views of a container: `diff` (changes against its image), `export`
//! (its whole filesystem as a tar) and the layer `commit` builds from its upper dir.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::error::{Error, Result};
use crate::engine::image::digest::parse_digest;
use crate::engine::image::layer::{self, Change};
use crate::engine::image::records::Images;
use crate::engine::image::snapshot;
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::runtime::paths;
use crate::engine::store::Store;

/// The digest of an empty layer tar (two zero blocks): what an upper dir without
/// changes gives, Docker's `layer.DigestSHA256EmptyTar`.
const EMPTY_TAR_DIGEST: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// The image's layer dirs, topmost first.
pub fn image_lowers(store: &Store, rec: &ContainerRecord) -> Result<Vec<PathBuf>> {
    Images::new(store)
        .get(&rec.config.image)?
        .layers
        .iter()
        .rev()
        .map(|c| Ok(store.paths.layer_diff(parse_digest(c)?)))
        .collect()
}

/// The read-only layers under the container's upper dir, topmost first: its init layer
/// (when it has one) over its image's layer dirs.
pub fn container_lowers(store: &Store, rec: &ContainerRecord) -> Result<Vec<PathBuf>> {
    let dir = paths::container_dir(store, &rec.id);
    let image = image_lowers(store, rec)?;
    let shared = rec.config.shared_init_layer;
    let mut lowers: Vec<PathBuf> = super::initlayer::lower(&dir, &image, shared)
        .into_iter()
        .collect();
    lowers.extend(image);
    Ok(lowers)
}

/// `diff`: what the container added, changed and deleted (Docker's A/C/D list), against
/// the layers below it (Docker diffs against the init layer too).
pub fn diff(store: &Store, rec: &ContainerRecord) -> Result<Vec<Change>> {
    let upper = paths::container_dir(store, &rec.id).join("upper");
    layer::changes(&upper, &container_lowers(store, rec)?)
        .map_err(|e| Error::Other(format!("computing changes of {}: {e}", rec.id)))
}

/// A read-only overlay of the container's filesystem (upper over image layers),
/// unmounted and removed on drop. Used when the container is not running.
struct ReadOnlyView {
    target: PathBuf,
    _dir: crate::engine::store::tmp::TmpDir,
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = snapshot::unmount(&self.target);
    }
}

fn read_only_view(store: &Store, rec: &ContainerRecord) -> Result<ReadOnlyView> {
    let dir = store.tmp_dir()?;
    let target = dir.path().join("view");
    std::fs::create_dir(&target).map_err(|e| Error::io("creating a mount point", e))?;
    let mut lowers = vec![paths::container_dir(store, &rec.id).join("upper")];
    lowers.extend(container_lowers(store, rec)?);
    snapshot::mount_overlay(&lowers, None, &target)
        .map_err(|e| Error::Other(format!("mounting the filesystem of {}: {e}", rec.id)))?;
    Ok(ReadOnlyView { target, _dir: dir })
}

/// `export`: the container's filesystem as a tar stream (running or not).
pub fn export<W: Write>(store: &Store, rec: &ContainerRecord, out: W) -> Result<()> {
    let view;
    let root: &Path = if rec.state.running {
        view = None;
        &paths::container_dir(store, &rec.id).join("rootfs")
    } else {
        view = Some(read_only_view(store, rec)?);
        &view.as_ref().map(|v| v.target.clone()).unwrap_or_default()
    };
    write_tree(root, out).map_err(|e| Error::Other(format!("exporting {}: {e}", rec.id)))?;
    drop(view);
    Ok(())
}

/// Tars a tree without following symlinks, in sorted order, names relative to it.
fn write_tree<W: Write>(root: &Path, out: W) -> std::io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = match entry.path().strip_prefix(root) {
            Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
            _ => continue,
        };
        b.append_path_with_name(entry.path(), &rel)?;
    }
    b.into_inner()?.flush()
}

pub struct CommitOptions {
    pub reference: Option<crate::engine::image::reference::Reference>,
    pub author: Option<String>,
    pub message: Option<String>,
    pub changes: Vec<String>,
    pub pause: bool,
}

/// The image defaults a container runs with, as an image config.
fn run_config_of(rec: &ContainerRecord) -> crate::engine::image::config::RunConfig {
    let c = &rec.config.config;
    let set =
        |v: &Option<Vec<String>>| -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
            v.as_ref().filter(|l| !l.is_empty()).map(|l| {
                l.iter()
                    .map(|k| (k.clone(), serde_json::Value::Object(Default::default())))
                    .collect()
            })
        };
    crate::engine::image::config::RunConfig {
        user: c.user.clone().filter(|u| !u.is_empty()),
        exposed_ports: set(&c.exposed_ports),
        env: c.env.clone(),
        entrypoint: c.entrypoint.clone(),
        cmd: c.cmd.clone(),
        volumes: set(&c.volumes),
        working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
        labels: c
            .labels
            .as_ref()
            .filter(|l| !l.is_empty())
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        stop_signal: c.stop_signal.clone(),
        on_build: c.on_build.clone().filter(|o| !o.is_empty()),
        shell: c.shell.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    }
}

/// `commit`: the container's changes become a new layer on top of its image.
/// Returns the new image id.
pub fn commit(store: &Store, rec: &ContainerRecord, opts: &CommitOptions) -> Result<String> {
    use crate::engine::image::blobs::Blobs;
    use crate::engine::image::config::{now_rfc3339, History, ImageConfigFile};
    use crate::engine::image::digest::{chain_ids, sha256_digest};
    use crate::engine::image::records::NewLayer;
    use crate::engine::image::unpack::{ensure_layer, LayerSpec};

    if opts
        .reference
        .as_ref()
        .is_some_and(|r| r.digest().is_some())
    {
        return Err(Error::invalid(
            "cannot commit to a digest reference: give a name[:tag]",
        ));
    }
    let mut cfg = run_config_of(rec);
    for c in &opts.changes {
        crate::engine::image::changes::apply(&mut cfg, c)?;
    }
    let _writer = store.writer_lock()?;
    let scratch = store.tmp_dir()?;
    let tar_path = scratch.path().join("layer.tar");
    let upper = paths::container_dir(store, &rec.id).join("upper");
    let cg = crate::engine::runtime::cgroups::Cgroups::detect().ok();
    let cg_path = crate::engine::runtime::cgroups::container_path(&rec.id);
    let freeze = opts.pause && rec.state.running && !rec.state.paused;
    if freeze {
        if let Some(cg) = &cg {
            cg.freeze(&cg_path, true)
                .map_err(|e| Error::Other(format!("pausing {} for commit: {e}", rec.id)))?;
        }
    }
    let written = (|| {
        let f = std::fs::File::create(&tar_path).map_err(|e| Error::io("writing the layer", e))?;
        let mut w = std::io::BufWriter::new(f);
        layer::diff_to_tar(&upper, &mut w)
            .map_err(|e| Error::Other(format!("reading the changes of {}: {e}", rec.id)))?;
        w.flush().map_err(|e| Error::io("writing the layer", e))
    })();
    if freeze {
        if let Some(cg) = &cg {
            let _ = cg.freeze(&cg_path, false);
        }
    }
    written?;
    let blobs = Blobs::new(&store.paths);
    let file = std::fs::File::open(&tar_path).map_err(|e| Error::io("reading the layer", e))?;
    let (diff_id, _) = blobs.put(scratch.path(), file, None)?;

    // No changes: Docker adds no layer, only a history entry marked empty_layer.
    let empty = diff_id == EMPTY_TAR_DIGEST;
    let images = Images::new(store);
    let base = images.get(&rec.config.image)?;
    let mut diff_ids = base.config.rootfs.diff_ids.clone();
    if !empty {
        diff_ids.push(diff_id.clone());
    }
    let chains = chain_ids(&diff_ids);
    let mut layers: Vec<NewLayer> = Vec::new();
    for (i, chain) in base.layers.iter().enumerate() {
        let l = images.layer(chain)?.ok_or_else(|| {
            Error::not_found(format!("layer {chain} of image {} is missing", base.id))
        })?;
        layers.push(NewLayer {
            chain_id: l.chain_id,
            diff_id: l.diff_id,
            parent: i.checked_sub(1).map(|p| base.layers[p].clone()),
            size: l.size,
            tar_size: l.tar_size,
            blob_digest: l.blob_digest,
            blob_size: l.blob_size,
            media_type: l.media_type,
        });
    }
    if !empty {
        let top = chains.last().cloned().unwrap_or_else(|| diff_id.clone());
        layers.push(ensure_layer(
            store,
            &LayerSpec {
                chain_id: &top,
                parent: base.layers.last().map(String::as_str),
                diff_id: &diff_id,
                blob_digest: &diff_id,
                media_type: Some("application/vnd.oci.image.layer.v1.tar"),
            },
        )?);
    }
    let created = now_rfc3339();
    let mut history = base.config.history.clone();
    let mut created_by = rec.config.path.clone();
    for a in &rec.config.args {
        created_by.push(' ');
        created_by.push_str(a);
    }
    history.push(History {
        created: Some(created.clone()),
        created_by: Some(created_by),
        author: opts.author.clone(),
        comment: opts.message.clone(),
        empty_layer: empty,
    });
    let config = ImageConfigFile {
        architecture: base.config.architecture.clone(),
        os: base.config.os.clone(),
        variant: base.config.variant.clone(),
        author: opts.author.clone(),
        comment: opts.message.clone(),
        created: Some(created),
        container: Some(rec.id.clone()),
        config: Some(cfg),
        parent: Some(base.id.clone()),
        rootfs: crate::engine::image::config::RootFs {
            kind: "layers".into(),
            diff_ids,
        },
        history,
        ..Default::default()
    };
    let bytes = serde_json::to_vec(&config)
        .map_err(|e| Error::Other(format!("encoding image config: {e}")))?;
    blobs.put_bytes(scratch.path(), &bytes, Some(&sha256_digest(&bytes)))?;
    let tags: Vec<_> = opts.reference.iter().cloned().collect();
    let (id, _) = images.register(&bytes, &layers, &tags)?;
    Ok(id)
}
