//! `save`: writes images in the Docker 25+ archive layout, which is an OCI image layout
//! (index.json, blobs/sha256/*) plus the classic manifest.json, so both Docker (any
//! version) and OCI tools can read it. Layers are written uncompressed, so each layer's
//! blob digest is its diff id, as Docker does; output is deterministic.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use serde_json::json;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::compress::decompress;
use crate::engine::image::digest::{parse_digest, sha256_digest};
use crate::engine::image::records::{with_default_tag, ImageRecord, Images};
use crate::engine::image::reference::Reference;
use crate::engine::store::Store;

/// One image to write and the names it is saved under (full references).
struct Selected {
    image: ImageRecord,
    tags: Vec<String>,
}

/// Resolves the names given to `save`. A repository name without a tag selects all of
/// that repository's tags, as in Docker; an id selects the image without names.
fn select(store: &Store, names: &[String]) -> Result<Vec<Selected>> {
    let images = Images::new(store);
    let mut out: Vec<Selected> = Vec::new();
    for name in names {
        let mut picks: Vec<(String, Option<String>)> = Vec::new();
        match Reference::parse(name) {
            Ok(r) if r.tag().is_none() && r.digest().is_none() => {
                let repo = r.name();
                let all = images.list()?;
                for img in &all {
                    for t in &img.tags {
                        if Reference::parse(t)
                            .map(|x| x.name() == repo)
                            .unwrap_or(false)
                        {
                            picks.push((img.id.clone(), Some(t.clone())));
                        }
                    }
                }
                if picks.is_empty() {
                    let id = images.resolve(name)?;
                    picks.push((id, None));
                }
            }
            Ok(r) => {
                let id = images.resolve(name)?;
                // Saved under the name only if it is one of the image's tags: a full
                // id (`sha256:<hex>`) parses as a reference too (repository "sha256"),
                // and Docker saves an image named by id without names. Writing it as a
                // tag made `docker load` print "Loaded image: sha256:..." for it.
                let tag = r
                    .tag()
                    .map(|_| with_default_tag(&r).to_string())
                    .filter(|t| images.get(&id).is_ok_and(|img| img.tags.contains(t)));
                picks.push((id, tag));
            }
            Err(_) => picks.push((images.resolve(name)?, None)),
        }
        for (id, tag) in picks {
            match out.iter_mut().find(|s| s.image.id == id) {
                Some(s) => s.tags.extend(tag.filter(|t| !s.tags.contains(t))),
                None => out.push(Selected {
                    image: images.get(&id)?,
                    tags: tag.into_iter().collect(),
                }),
            }
        }
    }
    Ok(out)
}

fn header(path: &str, size: u64) -> Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)
        .map_err(|e| Error::Other(format!("archive path {path}: {e}")))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

fn dir_header(path: &str) -> Result<tar::Header> {
    let mut h = header(path, 0)?;
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_cksum();
    Ok(h)
}

fn append<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) -> Result<()> {
    b.append(&header(path, data.len() as u64)?, data)
        .ctx(|| format!("writing {path} to the archive"))
}

/// Counts bytes so a decompressed layer that differs from its record is caught.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "layer blob is shorter than recorded",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

pub fn save<W: Write>(store: &Store, names: &[String], out: W) -> Result<()> {
    if names.is_empty() {
        return Err(Error::invalid("save needs at least one image name or id"));
    }
    let selected = select(store, names)?;
    let images = Images::new(store);
    let blobs = Blobs::new(&store.paths);
    let mut b = tar::Builder::new(out);
    b.mode(tar::HeaderMode::Deterministic);
    b.append(&dir_header("blobs/")?, io::empty())
        .ctx(|| "writing the archive".to_string())?;
    b.append(&dir_header("blobs/sha256/")?, io::empty())
        .ctx(|| "writing the archive".to_string())?;

    let mut written: HashSet<String> = HashSet::new();
    let mut index_entries = Vec::new();
    let mut manifest_json = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    for sel in &selected {
        let img = &sel.image;
        let id_hex = parse_digest(&img.id)?;
        let mut layer_descs = Vec::new();
        let mut layer_paths = Vec::new();
        for chain in &img.layers {
            let l = images.layer(chain)?.ok_or_else(|| {
                Error::not_found(format!(
                    "layer {chain} of image {} is missing from the store",
                    img.id
                ))
            })?;
            let diff_hex = parse_digest(&l.diff_id)?;
            let path = format!("blobs/sha256/{diff_hex}");
            if written.insert(l.diff_id.clone()) {
                let blob = l.blob_digest.as_deref().ok_or_else(|| {
                    Error::not_found(format!("layer {} has no stored blob to save", l.diff_id))
                })?;
                let file = blobs.open(blob)?;
                let (_, reader) = decompress(file).ctx(|| format!("reading layer {blob}"))?;
                let mut hashed = crate::engine::image::digest::HashingReader::new(Exact {
                    inner: reader,
                    left: l.tar_size,
                });
                b.append(&header(&path, l.tar_size)?, &mut hashed)
                    .ctx(|| format!("writing layer {} to the archive", l.diff_id))?;
                // A damaged store must not produce an archive that claims the old digest.
                let (got, _) = hashed
                    .finish()
                    .ctx(|| format!("reading layer {}", l.diff_id))?;
                if got != l.diff_id {
                    return Err(Error::Other(format!(
                        "layer {} in the store is damaged (its content hashes to {got}); remove the image and load it again",
                        l.diff_id
                    )));
                }
            }
            layer_descs.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": l.diff_id,
                "size": l.tar_size,
            }));
            layer_paths.push(path);
        }
        let config_path = format!("blobs/sha256/{id_hex}");
        if written.insert(img.id.clone()) {
            append(&mut b, &config_path, &img.config_bytes)?;
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": img.id,
                "size": img.config_bytes.len(),
            },
            "layers": layer_descs,
        });
        let manifest_bytes = serde_json::to_vec(&manifest)
            .map_err(|e| Error::Other(format!("encoding manifest: {e}")))?;
        let manifest_digest = sha256_digest(&manifest_bytes);
        if written.insert(manifest_digest.clone()) {
            append(
                &mut b,
                &format!("blobs/sha256/{}", parse_digest(&manifest_digest)?),
                &manifest_bytes,
            )?;
        }
        let desc = |annotations: Option<serde_json::Value>| {
            let mut d = json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_bytes.len(),
            });
            if let Some(a) = annotations {
                d["annotations"] = a;
            }
            d
        };
        let mut familiar_tags = Vec::new();
        if sel.tags.is_empty() {
            index_entries.push(desc(None));
        }
        for t in &sel.tags {
            let r = Reference::parse(t).map_err(|e| Error::invalid(e.to_string()))?;
            let tag = r.tag().unwrap_or("latest").to_string();
            index_entries.push(desc(Some(json!({
                "io.containerd.image.name": t,
                "org.opencontainers.image.ref.name": tag,
            }))));
            repositories
                .entry(r.familiar_name())
                .or_default()
                .insert(tag, id_hex.to_string());
            familiar_tags.push(r.familiar());
        }
        manifest_json.push(json!({
            "Config": config_path,
            "RepoTags": if familiar_tags.is_empty() { serde_json::Value::Null } else { json!(familiar_tags) },
            "Layers": layer_paths,
        }));
    }

    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": index_entries,
    });
    let enc = |v: &serde_json::Value| {
        serde_json::to_vec(v).map_err(|e| Error::Other(format!("encoding archive index: {e}")))
    };
    append(&mut b, "index.json", &enc(&index)?)?;
    append(&mut b, "manifest.json", &enc(&json!(manifest_json))?)?;
    append(
        &mut b,
        "oci-layout",
        &enc(&json!({"imageLayoutVersion": "1.0.0"}))?,
    )?;
    if !repositories.is_empty() {
        append(&mut b, "repositories", &enc(&json!(repositories))?)?;
    }
    let mut out = b.into_inner().ctx(|| "finishing the archive".to_string())?;
    out.flush().ctx(|| "finishing the archive".to_string())?;
    Ok(())
}
