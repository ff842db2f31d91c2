//! `push`: uploads an image's layers (up to five at once, see `upload`) and config, then
//! its manifest: the one it was pulled with when berth pulled it, else Docker schema2 or
//! OCI as the image's layers were recorded. Uncompressed layer blobs (from docker-archive loads, import,
//! commit) are gzipped on the way, as Docker does, deterministically so a second push
//! finds them already there.

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use bollard::models::PushImageInfo;

use super::client::{read_small, Client};
use super::manifest::{self, Descriptor, Manifest};
use super::progress;
use super::pull::record_digest;
use super::settings::Settings;
use super::upload::{push_blob, push_error, Target};
use super::{creds, workers, PushOptions};
use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::compress::Compression;
use crate::engine::image::digest::HashingWriter;
use crate::engine::image::records::{with_default_tag, ImageRecord, Images};
use crate::engine::image::reference::Reference;
use crate::engine::store::Store;

/// Docker's default max-concurrent-uploads.
const PARALLEL_UPLOADS: usize = 5;

pub fn push(
    store: &Store,
    settings: &Settings,
    reference: &str,
    opts: &PushOptions,
    progress: &mut dyn FnMut(&PushImageInfo),
) -> Result<String> {
    let r = Reference::parse(reference).map_err(|e| Error::invalid(e.to_string()))?;
    if r.digest().is_some() {
        return Err(Error::invalid(format!(
            "cannot push a digest reference ({}): push a tag",
            r.familiar()
        )));
    }
    if opts.all_tags && r.tag().is_some() {
        return Err(Error::invalid("tag can't be used with --all-tags/-a"));
    }
    let images = Images::new(store);
    let targets: Vec<(Reference, ImageRecord)> = if opts.all_tags {
        let mut v = Vec::new();
        for img in images.list()? {
            for t in &img.tags {
                if let Ok(tr) = Reference::parse(t) {
                    if tr.name() == r.name() {
                        v.push((tr, img.clone()));
                    }
                }
            }
        }
        v.sort_by_key(|a| a.0.to_string());
        v
    } else {
        let t = with_default_tag(&r);
        match images.resolve(&t.to_string()) {
            Ok(id) => vec![(t, images.get(&id)?)],
            Err(Error::NotFound(_)) => vec![],
            Err(e) => return Err(e),
        }
    };
    if targets.is_empty() {
        return Err(Error::NotFound(format!(
            "An image does not exist locally with the tag: {}",
            r.familiar_name()
        )));
    }
    progress(&progress::push_status(
        None,
        &format!("The push refers to repository [{}]", r.name()),
    ));
    let host = r.registry_host().to_string();
    let c = match &opts.credentials {
        Some(c) => Some(c.clone()),
        None => creds::lookup(&settings.docker_config, &host)?,
    };
    let client = Client::connect(settings, &host, c)?;
    let scratch = store.tmp_dir()?;
    let target = Target {
        client: &client,
        path: r.path().to_string(),
        scratch: scratch.path(),
    };
    let mut last = String::new();
    for (tagged, img) in &targets {
        last = push_image(store, &target, tagged, img, progress)?;
    }
    Ok(last)
}

fn push_image(
    store: &Store,
    t: &Target<'_>,
    tagged: &Reference,
    img: &ImageRecord,
    progress: &mut dyn FnMut(&PushImageInfo),
) -> Result<String> {
    let images = Images::new(store);
    let blobs = Blobs::new(&store.paths);
    let mut records = Vec::new();
    for c in &img.layers {
        records.push(images.layer(c)?.ok_or_else(|| {
            Error::not_found(format!(
                "layer {c} of image {} is missing from the store: remove the image and load or pull it again",
                img.id
            ))
        })?);
    }
    let oci = records.iter().any(|l| {
        l.media_type
            .as_deref()
            .is_some_and(|m| m.starts_with("application/vnd.oci."))
    });
    let mount_from = mount_sources(&images.list()?, tagged);
    for l in &records {
        progress(&progress::push_status(
            Some(&progress::short(&l.diff_id)),
            "Preparing",
        ));
    }
    // A pulled image goes back up with the very manifest it came with (same digest),
    // when every layer blob it names is still here.
    let original = pulled_manifest(store, img).filter(|(_, m)| {
        m.layers.len() == records.len()
            && m.layers.iter().zip(&records).all(|(d, l)| {
                l.blob_digest.as_deref() == Some(d.digest.as_str()) && blobs.exists(&d.digest)
            })
    });
    let jobs: Vec<usize> = (0..records.len()).collect();
    let work = |i: usize, send: &dyn Fn(PushImageInfo), _: &AtomicBool| {
        let l = &records[i];
        let id = progress::short(&l.diff_id);
        let blob = l.blob_digest.as_deref().ok_or_else(|| {
            Error::not_found(format!(
                "layer {} has no stored blob to push: remove the image and load or pull it again",
                l.diff_id
            ))
        })?;
        let (desc, file) = match &original {
            Some((_, m)) => (m.layers[i].clone(), blobs.path(&m.layers[i].digest)?),
            None => layer_blob(&blobs, t.scratch, blob, l.media_type.as_deref(), oci)?,
        };
        let from = mount_from
            .get(&l.chain_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        push_blob(t, &desc, &file, &id, from, &mut |p| send(p.clone()))?;
        Ok(desc)
    };
    let relay = &mut |p: PushImageInfo| progress(&p);
    let mut done = workers::run(PARALLEL_UPLOADS, &jobs, &work, relay)?;
    done.sort_by_key(|(i, _)| *i);
    let descriptors: Vec<Descriptor> = done.into_iter().map(|(_, d)| d).collect();
    let config = match &original {
        Some((_, m)) => m.config.clone(),
        None => Descriptor {
            media_type: if oci {
                manifest::OCI_CONFIG
            } else {
                manifest::DOCKER_CONFIG
            }
            .into(),
            digest: img.id.clone(),
            size: img.config_bytes.len() as u64,
            platform: None,
            annotations: None,
        },
    };
    blobs.put_bytes(t.scratch, &img.config_bytes, Some(&img.id))?;
    let config_file = blobs.path(&img.id)?;
    push_blob(t, &config, &config_file, "", &[], &mut |_| {})?;
    let m = Manifest {
        schema_version: 2,
        media_type: Some(
            if oci {
                manifest::OCI_MANIFEST
            } else {
                manifest::DOCKER_MANIFEST
            }
            .into(),
        ),
        config,
        layers: descriptors,
    };
    let (body, m) = match original {
        Some((bytes, orig)) => (bytes, orig),
        None => (
            serde_json::to_vec_pretty(&m)
                .map_err(|e| Error::Other(format!("encoding the manifest: {e}")))?,
            m,
        ),
    };
    let digest = crate::engine::image::digest::sha256_digest(&body);
    let tag = tagged.tag().unwrap_or("latest");
    let url = t.client.url(&format!("/v2/{}/manifests/{tag}", t.path));
    let media = m.media_type.clone().unwrap_or_else(|| {
        // OCI manifests may leave mediaType out; the config's type tells the family.
        if m.config.media_type.starts_with("application/vnd.oci.") {
            manifest::OCI_MANIFEST.into()
        } else {
            manifest::DOCKER_MANIFEST.into()
        }
    });
    let mut resp = t
        .client
        .execute("PUT", &url, &t.scopes(None), &mut |auth| {
            let mut r = t.client.agent().put(&url).header("Content-Type", &media);
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r.send(&body[..])
        })?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let b = read_small(&mut resp, 1 << 20).unwrap_or_default();
        return Err(push_error(status, &b, tagged, "pushing the manifest"));
    }
    progress(&progress::push_status(
        None,
        &format!("{tag}: digest: {digest} size: {}", body.len()),
    ));
    let repo_digest = tagged
        .with_digest(&digest)
        .map_err(|e| Error::invalid(e.to_string()))?;
    record_digest(store, &img.id, &repo_digest)?;
    Ok(digest)
}

/// The manifest an image was pulled with, if berth pulled it (see `pull::keep_manifest`).
fn pulled_manifest(store: &Store, img: &ImageRecord) -> Option<(Vec<u8>, Manifest)> {
    let bytes = std::fs::read(super::pull::manifest_path(store, &img.id).ok()?).ok()?;
    let m: Manifest = serde_json::from_slice(&bytes).ok()?;
    (m.config.digest == img.id).then_some((bytes, m))
}

/// Per layer (by chain id), the other repositories on the same registry that a local
/// image holding that layer is known under: candidates for a cross-repository mount.
fn mount_sources(
    all: &[ImageRecord],
    target: &Reference,
) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for img in all {
        let repos: Vec<String> = img
            .tags
            .iter()
            .chain(&img.digests)
            .filter_map(|s| Reference::parse(s).ok())
            .filter(|r| r.domain() == target.domain() && r.path() != target.path())
            .map(|r| r.path().to_string())
            .collect();
        for chain in &img.layers {
            out.entry(chain.clone())
                .or_default()
                .extend(repos.iter().cloned());
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

/// The blob to upload for a layer and its descriptor: compressed blobs as stored,
/// uncompressed ones gzipped into scratch space.
fn layer_blob(
    blobs: &Blobs<'_>,
    scratch: &Path,
    digest: &str,
    media_type: Option<&str>,
    oci: bool,
) -> Result<(Descriptor, PathBuf)> {
    let path = blobs.path(digest)?;
    let mut f = blobs.open(digest)?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).ctx(|| format!("reading blob {digest}"))?;
    let kind = Compression::detect(&head[..n]);
    let size = f.metadata().ctx(|| format!("reading blob {digest}"))?.len();
    let media = |k: Compression| -> String {
        match (k, oci) {
            (Compression::Zstd, true) => "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            (Compression::Zstd, false) => {
                "application/vnd.docker.image.rootfs.diff.tar.zstd".into()
            }
            (_, true) => manifest::OCI_LAYER_GZIP.into(),
            (_, false) => manifest::DOCKER_LAYER_GZIP.into(),
        }
    };
    if kind != Compression::None {
        let mt = media_type
            // The recorded type (e.g. OCI's non-distributable one) when it fits the
            // blob and the manifest's family; else the standard one.
            .filter(|m| {
                m.contains("gzip") == (kind == Compression::Gzip)
                    && m.contains("zstd") == (kind == Compression::Zstd)
                    && m.starts_with("application/vnd.oci.") == oci
            })
            .map(str::to_string)
            .unwrap_or_else(|| media(kind));
        return Ok((descriptor(mt, digest, size), path));
    }
    let src = BufReader::with_capacity(1 << 20, blobs.open(digest)?);
    let tmp = tempfile::NamedTempFile::new_in(scratch)
        .ctx(|| format!("creating a scratch file in {}", scratch.display()))?;
    let hashing = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, tmp));
    // Header without name or mtime: the same layer always compresses to the same bytes.
    // The default level, as dockerd uses.
    let mut gz = flate2::GzBuilder::new().write(hashing, flate2::Compression::default());
    let mut src = src;
    std::io::copy(&mut src, &mut gz).ctx(|| format!("compressing layer {digest}"))?;
    let hashing = gz.finish().ctx(|| format!("compressing layer {digest}"))?;
    let (buf, gz_digest, gz_size) = hashing.finish();
    let mut file = buf
        .into_inner()
        .map_err(|e| Error::io("writing a compressed layer", e.into_error()))?;
    file.flush()
        .ctx(|| "writing a compressed layer".to_string())?;
    let (_, kept) = file
        .keep()
        .map_err(|e| Error::io("keeping a compressed layer", e.error))?;
    Ok((
        descriptor(media(Compression::Gzip), &gz_digest, gz_size),
        kept,
    ))
}

fn descriptor(media_type: String, digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type,
        digest: digest.to_string(),
        size,
        platform: None,
        annotations: None,
    }
}
