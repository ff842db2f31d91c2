//! `import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image.

use std::io::Read;

use crate::engine::error::{Error, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::changes;
use crate::engine::image::compress::Compression;
use crate::engine::image::config::{
    host_arch, now_rfc3339, History, ImageConfigFile, RootFs, RunConfig,
};
use crate::engine::image::digest::sha256_digest;
use crate::engine::image::records::Images;
use crate::engine::image::reference::Reference;
use crate::engine::image::unpack::{ensure_layer, LayerSpec};
use crate::engine::store::Store;

#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    pub changes: Vec<String>,
    pub message: Option<String>,
    /// What the tar came from, for the history comment ("-" for stdin, as Docker).
    pub source: String,
    pub tag: Option<Reference>,
    pub platform_arch: Option<String>,
}

/// Returns the new image id.
pub fn import<R: Read>(store: &Store, r: R, opts: &ImportOptions) -> Result<String> {
    let mut cfg = RunConfig::default();
    for c in &opts.changes {
        changes::apply(&mut cfg, c)?;
    }
    let _writer = store.writer_lock()?;
    let blobs = Blobs::new(&store.paths);
    let scratch = store.tmp_dir()?;
    let mut r = std::io::BufReader::with_capacity(256 * 1024, r);
    let head = std::io::BufRead::fill_buf(&mut r)
        .map_err(|e| Error::io("reading the import source", e))?
        .to_vec();
    if head.is_empty() {
        return Err(Error::invalid(
            "the import source is empty: expected a tar archive of a root filesystem",
        ));
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) || head.starts_with(b"BZh") {
        return Err(Error::invalid(
            "xz and bzip2 archives are not supported: decompress first or use gzip or zstd",
        ));
    }
    let kind = Compression::detect(&head);
    // Keep the bytes as given: they are the layer blob that push and save use.
    let (blob, _) = blobs.put(scratch.path(), r, None)?;
    // ensure_layer verifies content against a known diff id, so hash it first; this pass
    // also rejects a non-tar before anything is unpacked.
    let diff_id = {
        let f = blobs.open(&blob)?;
        let (_, dr) = crate::engine::image::compress::decompress(f)
            .map_err(|e| Error::io("reading the import source", e))?;
        let mut h = crate::engine::image::digest::HashingReader::new(dr);
        // Validate it is a tar while hashing, so garbage fails with a clear message.
        let mut ar = tar::Archive::new(&mut h);
        for e in ar.entries().map_err(not_a_tar)? {
            e.map_err(not_a_tar)?;
        }
        h.finish().map_err(not_a_tar)?.0
    };
    let layer = ensure_layer(
        store,
        &LayerSpec {
            chain_id: &diff_id,
            parent: None,
            diff_id: &diff_id,
            blob_digest: &blob,
            media_type: Some(kind.oci_layer_media_type()),
        },
    )?;
    let created = now_rfc3339();
    let comment = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("Imported from {}", opts.source));
    let config = ImageConfigFile {
        architecture: Some(
            opts.platform_arch
                .clone()
                .unwrap_or_else(|| host_arch().to_string()),
        ),
        os: Some("linux".into()),
        created: Some(created.clone()),
        // Docker records the import comment in the config as well as in the history.
        comment: Some(comment.clone()),
        config: Some(cfg),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![diff_id],
        },
        history: vec![History {
            created: Some(created),
            comment: Some(comment),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = serde_json::to_vec(&config)
        .map_err(|e| Error::Other(format!("encoding image config: {e}")))?;
    blobs.put_bytes(scratch.path(), &bytes, Some(&sha256_digest(&bytes)))?;
    if opts.tag.as_ref().is_some_and(|t| t.digest().is_some()) {
        return Err(Error::invalid(
            "cannot import to a digest reference: give a name[:tag]",
        ));
    }
    let tags: Vec<Reference> = opts.tag.iter().cloned().collect();
    let (id, _) = Images::new(store).register(&bytes, &[layer], &tags)?;
    Ok(id)
}

fn not_a_tar(e: std::io::Error) -> Error {
    Error::invalid(format!("the import source is not a valid tar archive: {e}"))
}
