//! One layer of a pull: download its blob (unless it is here already), verify it, and
//! unpack it. A download is unpacked while it arrives, on a second thread fed through a
//! bounded channel; the layer counts only when the download's digest is verified too.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use bollard::models::CreateImageInfo;

use super::client::read_small;
use super::errors;
use super::manifest::Descriptor;
use super::progress::{self, Throttle};
use super::pull::Session;
use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::digest::{parse_digest, HashingWriter};
use crate::engine::image::records::NewLayer;
use crate::engine::image::unpack::{ensure_layer, unpack_layer, LayerSpec};
use crate::engine::store::Store;

/// The unpack request for layer `i` of a manifest.
pub fn spec<'a>(
    chains: &'a [String],
    diff_ids: &'a [String],
    layers: &'a [Descriptor],
    i: usize,
) -> LayerSpec<'a> {
    LayerSpec {
        chain_id: &chains[i],
        parent: i.checked_sub(1).map(|p| chains[p].as_str()),
        diff_id: &diff_ids[i],
        blob_digest: &layers[i].digest,
        media_type: Some(&layers[i].media_type),
    }
}

/// What every layer job of one pull shares.
pub struct Fetch<'a> {
    pub store: &'a Store,
    pub session: &'a Session,
    pub scratch: &'a Path,
    pub downloads: &'a Path,
    pub chains: &'a [String],
    pub diff_ids: &'a [String],
    pub layers: &'a [Descriptor],
}

/// Download (unless the blob is already here) and unpack one layer. A download is
/// unpacked while it arrives, on a second thread fed through a bounded channel; the
/// layer counts only when the download's digest is verified too.
pub fn fetch_layer(
    ctx: &Fetch<'_>,
    i: usize,
    send: &dyn Fn(CreateImageInfo),
    cancel: &AtomicBool,
) -> Result<NewLayer> {
    let d = &ctx.layers[i];
    let id = progress::short(&d.digest);
    let hex = parse_digest(&d.digest)?;
    let blobs = Blobs::new(&ctx.store.paths);
    let staged = ctx.downloads.join(hex);
    let layer_spec = spec(ctx.chains, ctx.diff_ids, ctx.layers, i);
    let layer = if blobs.exists(&d.digest) {
        send(progress::status(Some(&id), "Download complete"));
        send(progress::bytes(&id, "Extracting", d.size, Some(d.size)));
        ensure_layer(ctx.store, &layer_spec)?
    } else if staged.exists() {
        // Verified by an earlier, interrupted pull.
        send(progress::status(Some(&id), "Download complete"));
        send(progress::bytes(&id, "Extracting", d.size, Some(d.size)));
        let file = std::fs::File::open(&staged)
            .ctx(|| format!("opening download {}", staged.display()))?;
        unpack_layer(ctx.store, &layer_spec, Some(d.size), file)?
    } else {
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(16);
        let (downloaded, unpacked) = std::thread::scope(|sc| {
            let unpacker = sc.spawn(|| {
                unpack_layer(ctx.store, &layer_spec, Some(d.size), ChannelReader::new(rx))
            });
            let downloaded = download(ctx, d, &id, &staged, send, cancel, tx);
            (downloaded, unpacker.join())
        });
        downloaded?;
        send(progress::status(Some(&id), "Download complete"));
        send(progress::bytes(&id, "Extracting", d.size, Some(d.size)));
        unpacked.map_err(|_| Error::Other(format!("unpacking layer {} failed", d.digest)))??
    };
    send(progress::status(Some(&id), "Pull complete"));
    Ok(layer)
}

/// Moves a verified download into the blob store (kept there by the layer record
/// registered next).
pub fn place_blob(blobs: &Blobs<'_>, d: &Descriptor, staged: &Path) -> Result<()> {
    if !blobs.exists(&d.digest) {
        let dest = blobs.path(&d.digest)?;
        if let Err(e) = std::fs::rename(staged, &dest) {
            if !dest.exists() {
                return Err(Error::io(format!("storing blob {}", d.digest), e));
            }
        }
    }
    let _ = std::fs::remove_file(staged);
    Ok(())
}

/// The receiving end of a download, as a reader for the layer unpacker.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<std::io::Result<Vec<u8>>>) -> Self {
        ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn download(
    ctx: &Fetch<'_>,
    d: &Descriptor,
    id: &str,
    staged: &Path,
    send: &dyn Fn(CreateImageInfo),
    cancel: &AtomicBool,
    tee: mpsc::SyncSender<std::io::Result<Vec<u8>>>,
) -> Result<()> {
    let mut tee = Some(tee);
    let res = download_to(ctx, d, id, staged, send, cancel, &mut tee);
    if let (Err(e), Some(t)) = (&res, &tee) {
        // The unpacker must not take a cut-off stream for a whole one.
        let _ = t.send(Err(std::io::Error::other(e.to_string())));
    }
    res
}

fn download_to(
    ctx: &Fetch<'_>,
    d: &Descriptor,
    id: &str,
    staged: &Path,
    send: &dyn Fn(CreateImageInfo),
    cancel: &AtomicBool,
    tee: &mut Option<mpsc::SyncSender<std::io::Result<Vec<u8>>>>,
) -> Result<()> {
    let s = ctx.session;
    let path = format!("/v2/{}/blobs/{}", s.path, d.digest);
    let url = s.client.url(&path);
    let mut resp = s.get(&path, None)?;
    let status = resp.status().as_u16();
    if status != 200 {
        let body = read_small(&mut resp, 1 << 20).unwrap_or_default();
        return Err(errors::status(
            status,
            &body,
            &format!("fetching layer {}", d.digest),
        ));
    }
    let tmp = tempfile::NamedTempFile::new_in(ctx.scratch)
        .ctx(|| format!("creating a scratch file in {}", ctx.scratch.display()))?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp));
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut current = 0u64;
    let mut throttle = Throttle::new(d.size);
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Other("cancelled".into()));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(s.client.transport("GET", &url, ureq::Error::Io(e)));
            }
        };
        w.write_all(&buf[..n])
            .ctx(|| "writing a layer download".to_string())?;
        // An unpacker that gave up (bad tar) stops listening; the download still
        // finishes so the error names the right cause.
        if tee
            .as_ref()
            .is_some_and(|t| t.send(Ok(buf[..n].to_vec())).is_err())
        {
            *tee = None;
        }
        current += n as u64;
        if current > d.size {
            break;
        }
        if throttle.due(current, d.size) {
            send(progress::bytes(id, "Downloading", current, Some(d.size)));
        }
    }
    // End of stream for the unpacker before the checksum work.
    *tee = None;
    send(progress::status(Some(id), "Verifying Checksum"));
    let (buf, got, size) = w.finish();
    let file = buf
        .into_inner()
        .map_err(|e| Error::io("writing a layer download", e.into_error()))?;
    if size != d.size || got != d.digest {
        return Err(Error::invalid(format!(
            "filesystem layer verification failed for digest {}: got {size} bytes with digest {got}, the manifest says {} bytes",
            d.digest, d.size
        )));
    }
    file.persist(staged)
        .map_err(|e| Error::io(format!("storing download {}", staged.display()), e.error))?;
    Ok(())
}
