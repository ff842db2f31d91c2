//! `load`: docker-archive (classic and Docker 25+), OCI archive and OCI layout dir,
//! each optionally gzip or zstd compressed. Every layer is verified against the image
//! config's diff ids and every blob against its digest before anything is recorded;
//! the image becomes visible in one transaction at the end.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::archive::files::ArchiveFiles;
use crate::engine::image::blobs::Blobs;
use crate::engine::image::compress::decompress;
use crate::engine::image::config::{host_arch, ImageConfigFile};
use crate::engine::image::digest::{chain_ids, parse_digest, sha256_digest};
use crate::engine::image::records::Images;
use crate::engine::image::reference::Reference;
use crate::engine::image::unpack::{ensure_layer, LayerSpec};
use crate::engine::store::Store;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// (image id, familiar tags) in archive order.
    pub images: Vec<(String, Vec<String>)>,
    /// (familiar tag, id it pointed at before) for tags that moved.
    pub retagged: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// One image found in an archive, before its layers are placed.
struct Candidate {
    config: Vec<u8>,
    /// (archive path, declared digest if content-addressed, media type)
    layers: Vec<(String, Option<String>, Option<String>)>,
    tags: Vec<Reference>,
}

/// Loads from a stream (file or stdin), compressed or not.
pub fn load_stream<R: Read>(store: &Store, r: R) -> Result<LoadReport> {
    let _writer = store.writer_lock()?;
    let blobs = Blobs::new(&store.paths);
    let scratch = store.tmp_dir()?;
    let (_, reader) = decompress(r).ctx(|| "reading the archive".to_string())?;
    let files = ArchiveFiles::from_tar(reader, &blobs, scratch.path())?;
    load_files(store, &files, scratch.path())
}

/// Loads an OCI image layout directory.
pub fn load_dir(store: &Store, dir: &Path) -> Result<LoadReport> {
    let _writer = store.writer_lock()?;
    let blobs = Blobs::new(&store.paths);
    let scratch = store.tmp_dir()?;
    if !dir.join("index.json").is_file() {
        return Err(Error::invalid(format!(
            "{} is not an OCI image layout: it has no index.json",
            dir.display()
        )));
    }
    let files = ArchiveFiles::from_dir(dir, &blobs, scratch.path())?;
    load_files(store, &files, scratch.path())
}

fn load_files(store: &Store, files: &ArchiveFiles, tmp: &Path) -> Result<LoadReport> {
    let blobs = Blobs::new(&store.paths);
    let candidates = if files.contains("manifest.json") {
        docker_candidates(files, &blobs)?
    } else if files.contains("index.json") {
        oci_candidates(files, &blobs)?
    } else {
        return Err(Error::invalid(
            "the archive has neither manifest.json nor index.json: expected a file written by \"save\" (docker-archive) or an OCI image archive",
        ));
    };
    if candidates.is_empty() {
        return Err(Error::invalid("the archive lists no images"));
    }
    let images = Images::new(store);
    let mut report = LoadReport::default();
    for c in candidates {
        let cfg = ImageConfigFile::parse(&c.config)?;
        let diff_ids = &cfg.rootfs.diff_ids;
        if diff_ids.len() != c.layers.len() {
            return Err(Error::invalid(format!(
                "the image config lists {} layers but the manifest has {}",
                diff_ids.len(),
                c.layers.len()
            )));
        }
        for d in diff_ids {
            parse_digest(d)?;
        }
        let chains = chain_ids(diff_ids);
        let mut layers = Vec::with_capacity(chains.len());
        for (i, (path, declared, media_type)) in c.layers.iter().enumerate() {
            let (blob, _) = files.to_blob(path, &blobs, tmp)?;
            if let Some(want) = declared {
                if *want != blob {
                    return Err(Error::invalid(format!(
                        "digest mismatch for {path}: expected {want}, content has {blob}"
                    )));
                }
            }
            layers.push(ensure_layer(
                store,
                &LayerSpec {
                    chain_id: &chains[i],
                    parent: i.checked_sub(1).map(|p| chains[p].as_str()),
                    diff_id: &diff_ids[i],
                    blob_digest: &blob,
                    media_type: media_type.as_deref(),
                },
            )?);
        }
        // The config is stored as a blob too: `save` and `push` need its exact bytes.
        blobs.put_bytes(tmp, &c.config, None)?;
        let (id, moved) = images.register(&c.config, &layers, &c.tags)?;
        for (tag, old) in moved {
            report
                .retagged
                .push((crate::engine::image::records::familiar(&tag), old));
        }
        let tags = c.tags.iter().map(|t| t.familiar()).collect();
        report.images.push((id, tags));
    }
    Ok(report)
}

fn json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("invalid {what}: {e}")))
}

/// "blobs/sha256/<hex>" -> Some("sha256:<hex>")
fn content_addressed(path: &str) -> Option<String> {
    let rest = path
        .trim_start_matches("./")
        .strip_prefix("blobs/sha256/")?;
    parse_digest(&format!("sha256:{rest}"))
        .ok()
        .map(|h| format!("sha256:{h}"))
}

fn docker_candidates(files: &ArchiveFiles, blobs: &Blobs<'_>) -> Result<Vec<Candidate>> {
    let entries: Vec<DockerManifestEntry> =
        json(&files.read("manifest.json", blobs)?, "manifest.json")?;
    let mut out = Vec::new();
    for e in entries {
        let config = files.read(&e.config, blobs)?;
        let id = sha256_digest(&config);
        // Classic archives name configs "<hex>.json"; 25+ ones "blobs/sha256/<hex>".
        let declared = content_addressed(&e.config).or_else(|| {
            let hex = e.config.trim_end_matches(".json");
            parse_digest(&format!("sha256:{hex}"))
                .ok()
                .map(|h| format!("sha256:{h}"))
        });
        if let Some(want) = declared {
            if want != id {
                return Err(Error::invalid(format!(
                    "digest mismatch for {}: expected {want}, content has {id}",
                    e.config
                )));
            }
        }
        let mut tags = Vec::new();
        for t in e.repo_tags.unwrap_or_default() {
            tags.push(Reference::parse(&t).map_err(|err| {
                Error::invalid(format!("invalid tag {t:?} in manifest.json: {err}"))
            })?);
        }
        let layers = e
            .layers
            .iter()
            .map(|p| (p.clone(), content_addressed(p), None))
            .collect();
        out.push(Candidate {
            config,
            layers,
            tags,
        });
    }
    Ok(out)
}

fn blob_path(digest: &str) -> Result<String> {
    Ok(format!("blobs/sha256/{}", parse_digest(digest)?))
}

/// Reads a descriptor's target and checks its digest and size.
fn read_descriptor(files: &ArchiveFiles, blobs: &Blobs<'_>, d: &Descriptor) -> Result<Vec<u8>> {
    let path = blob_path(&d.digest)?;
    let actual = files.size(&path)?;
    if d.size.is_some_and(|s| s != actual) {
        return Err(Error::invalid(format!(
            "size mismatch for {path}: descriptor says {} bytes, content has {actual}",
            d.size.unwrap_or(0)
        )));
    }
    let bytes = files.read(&path, blobs)?;
    let got = sha256_digest(&bytes);
    if got != d.digest {
        return Err(Error::invalid(format!(
            "digest mismatch for {path}: expected {}, content has {got}",
            d.digest
        )));
    }
    Ok(bytes)
}

fn is_index(media_type: Option<&str>, bytes: &[u8]) -> bool {
    match media_type {
        Some(m) if m.contains("index") || m.contains("manifest.list") => true,
        Some(_) => false,
        None => serde_json::from_slice::<Value>(bytes)
            .map(|v| v.get("manifests").is_some())
            .unwrap_or(false),
    }
}

/// Picks the manifest for this host from a nested index (linux/<arch>), or the only one.
fn pick_platform(manifests: &[Descriptor]) -> Option<&Descriptor> {
    let usable: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| {
            // Attestation manifests (buildkit) are not images.
            d.annotations
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_none()
        })
        .collect();
    if usable.len() == 1 {
        return usable.first().copied();
    }
    usable.iter().copied().find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == host_arch())
    })
}

fn tag_from_annotations(d: &Descriptor) -> Option<Reference> {
    let a = d.annotations.as_ref()?;
    if let Some(r) = a
        .get("io.containerd.image.name")
        .and_then(|n| Reference::parse(n).ok())
    {
        return Some(r);
    }
    // skopeo and others write either a bare tag ("latest") or a full "name:tag".
    let name = a.get("org.opencontainers.image.ref.name")?;
    if name.contains(':') || name.contains('/') {
        Reference::parse(name).ok().filter(|r| r.tag().is_some())
    } else {
        None
    }
}

fn oci_candidates(files: &ArchiveFiles, blobs: &Blobs<'_>) -> Result<Vec<Candidate>> {
    let index: Index = json(&files.read("index.json", blobs)?, "index.json")?;
    let mut out: Vec<Candidate> = Vec::new();
    for top in &index.manifests {
        let mut desc = top.clone();
        let mut bytes = read_descriptor(files, blobs, &desc)?;
        // Follow nested indexes (multi-platform) down to one image manifest.
        for _ in 0..4 {
            if !is_index(desc.media_type.as_deref(), &bytes) {
                break;
            }
            let nested: Index = json(&bytes, "image index")?;
            let Some(inner) = pick_platform(&nested.manifests).cloned() else {
                return Err(Error::invalid(format!(
                    "image index {} has no image for this machine's platform (linux/{})",
                    desc.digest,
                    host_arch()
                )));
            };
            bytes = read_descriptor(files, blobs, &inner)?;
            desc = inner;
        }
        let manifest: Manifest = json(&bytes, "image manifest")?;
        let config = read_descriptor(files, blobs, &manifest.config)?;
        let layers = manifest
            .layers
            .iter()
            .map(|l| {
                Ok((
                    blob_path(&l.digest)?,
                    Some(l.digest.clone()),
                    l.media_type.clone(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let tag = tag_from_annotations(top);
        // Docker 25+ archives repeat a manifest once per tag: merge them.
        let id = sha256_digest(&config);
        if let Some(existing) = out.iter_mut().find(|c| sha256_digest(&c.config) == id) {
            existing.tags.extend(tag);
            continue;
        }
        out.push(Candidate {
            config,
            layers,
            tags: tag.into_iter().collect(),
        });
    }
    Ok(out)
}
