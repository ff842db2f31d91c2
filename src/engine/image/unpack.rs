//! Places a layer from the blob store into `layers/<chain>/diff`, once per chain id.
//! The unpack happens in scratch space and is renamed into place only when whole and
//! verified, so a visible layer dir is always complete.

use std::fs;

use crate::engine::error::{is_disk_error, Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::compress::{decompress, Compression};
use crate::engine::image::digest::{parse_digest, HashingReader};
use crate::engine::image::layer;
use crate::engine::image::records::{Images, NewLayer};
use crate::engine::store::Store;

pub struct LayerSpec<'a> {
    pub chain_id: &'a str,
    pub parent: Option<&'a str>,
    /// From the image config; the uncompressed content must hash to this.
    pub diff_id: &'a str,
    pub blob_digest: &'a str,
    pub media_type: Option<&'a str>,
}

/// Returns the layer's record, unpacking its blob first when the layer is not present.
pub fn ensure_layer(store: &Store, spec: &LayerSpec<'_>) -> Result<NewLayer> {
    let blobs = Blobs::new(&store.paths);
    let blob_size = fs::metadata(blobs.path(spec.blob_digest)?)
        .map(|m| m.len())
        .ok();
    if let Some(l) = present_layer(store, spec, blob_size)? {
        return Ok(l);
    }
    let file = blobs.open(spec.blob_digest)?;
    unpack_layer(store, spec, blob_size, file)
}

/// The record of a layer that is already unpacked, if it is.
fn present_layer(
    store: &Store,
    spec: &LayerSpec<'_>,
    blob_size: Option<u64>,
) -> Result<Option<NewLayer>> {
    let images = Images::new(store);
    if images.layer_present(spec.chain_id)? {
        if let Some(l) = images.layer(spec.chain_id)? {
            return Ok(Some(NewLayer {
                chain_id: l.chain_id,
                diff_id: l.diff_id,
                parent: spec.parent.map(str::to_string),
                size: l.size,
                tar_size: l.tar_size,
                blob_digest: Some(spec.blob_digest.to_string()),
                blob_size,
                media_type: spec.media_type.map(str::to_string),
            }));
        }
    }
    Ok(None)
}

/// Unpacks a layer from `blob` (its compressed or plain tar stream, e.g. a download
/// still in progress) into place. The content must hash to the spec's diff id.
pub fn unpack_layer<R: std::io::Read>(
    store: &Store,
    spec: &LayerSpec<'_>,
    blob_size: Option<u64>,
    blob: R,
) -> Result<NewLayer> {
    let chain_hex = parse_digest(spec.chain_id)?;
    let scratch = store.tmp_dir()?;
    let staged = scratch.path().join("layer");
    let diff_dir = staged.join("diff");
    fs::create_dir_all(&diff_dir).ctx(|| format!("creating {}", diff_dir.display()))?;

    let (kind, reader) =
        decompress(blob).ctx(|| format!("reading layer blob {}", spec.blob_digest))?;
    let mut hashing = HashingReader::new(reader);
    let opts = layer::UnpackOptions {
        devices: layer::DevicePolicy::SkipUnderDev,
    };
    let stats = layer::unpack_with(&mut hashing, &diff_dir, &opts).map_err(|e| {
        let what = format!(
            "layer {} ({})",
            crate::engine::store::ids::short_id(spec.diff_id),
            describe(kind)
        );
        match e {
            // The disk failing is not the layer's fault: keep the io error so the CLI can
            // say the disk is full.
            layer::LayerError::Entry { source, .. } | layer::LayerError::Fs { source, .. }
                if is_disk_error(&source) =>
            {
                Error::io(what, source)
            }
            e => Error::invalid(format!("{what}: {e}")),
        }
    })?;
    let (diff_id, tar_size) = hashing
        .finish()
        .ctx(|| format!("reading layer blob {}", spec.blob_digest))?;
    if diff_id != spec.diff_id {
        return Err(Error::invalid(format!(
            "layer content digest mismatch: the image config says {}, the layer's content is {diff_id}",
            spec.diff_id
        )));
    }
    let dest = store.paths.layers().join(chain_hex);
    // An existing dest was placed by a concurrent loader or left unrecorded by a crash;
    // either way it is complete, since only whole dirs are ever renamed into place.
    if !dest.exists() {
        if let Err(e) = fs::rename(&staged, &dest) {
            if !dest.exists() {
                return Err(Error::io(format!("placing layer {}", dest.display()), e));
            }
        }
    }
    Ok(NewLayer {
        chain_id: spec.chain_id.to_string(),
        diff_id,
        parent: spec.parent.map(str::to_string),
        size: stats.bytes,
        tar_size,
        blob_digest: Some(spec.blob_digest.to_string()),
        blob_size,
        media_type: spec.media_type.map(str::to_string),
    })
}

fn describe(kind: Compression) -> &'static str {
    match kind {
        Compression::None => "tar",
        Compression::Gzip => "gzip tar",
        Compression::Zstd => "zstd tar",
    }
}
