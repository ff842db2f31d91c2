//! Uploading one blob: HEAD (the registry has it: done), a cross-repository mount
//! attempt, then one PUT, or 16 MiB PATCH chunks and a closing PUT for large blobs,
//! reporting progress as the HTTP client reads the file.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use bollard::models::PushImageInfo;

use super::client::{read_small, Client};
use super::errors;
use super::manifest::Descriptor;
use super::progress::{self, Throttle};
use crate::engine::error::{Error, Result};
use crate::engine::image::reference::Reference;

/// Blobs above this size are uploaded in chunks of this size.
const CHUNK: u64 = 16 << 20;

/// The repository being pushed to.
pub struct Target<'a> {
    pub client: &'a Client,
    pub path: String,
    pub scratch: &'a Path,
}

impl Target<'_> {
    pub fn scopes(&self, extra: Option<&str>) -> Vec<String> {
        let mut v = vec![format!("repository:{}:pull,push", self.path)];
        if let Some(from) = extra {
            v.push(format!("repository:{from}:pull"));
        }
        v
    }
}

pub fn push_error(status: u16, body: &[u8], r: &Reference, what: &str) -> Error {
    if status == 401 || status == 403 {
        let detail = errors::registry_errors(body)
            .unwrap_or_else(|| "requested access to the resource is denied".into());
        return Error::Other(format!(
            "push access denied for {}: {detail}",
            r.familiar_name()
        ));
    }
    errors::status(status, body, &format!("{what} to {}", r.familiar_name()))
}

pub fn push_blob(
    t: &Target<'_>,
    d: &Descriptor,
    file: &Path,
    id: &str,
    mount_from: &[String],
    progress: &mut dyn FnMut(&PushImageInfo),
) -> Result<()> {
    let c = t.client;
    let repo = Reference::parse(&format!("{}/{}", c.host, t.path))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let head_url = c.url(&format!("/v2/{}/blobs/{}", t.path, d.digest));
    let resp = c.execute("HEAD", &head_url, &t.scopes(None), &mut |auth| {
        let mut r = c.agent().head(&head_url);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.call()
    })?;
    match resp.status().as_u16() {
        200 => {
            if !id.is_empty() {
                progress(&progress::push_status(Some(id), "Layer already exists"));
            }
            return Ok(());
        }
        401 | 403 => {
            return Err(push_error(
                resp.status().as_u16(),
                &[],
                &repo,
                "checking a blob",
            ))
        }
        _ => {}
    }
    let mut location = None;
    for from in mount_from {
        let url = c.url(&format!(
            "/v2/{}/blobs/uploads/?mount={}&from={from}",
            t.path, d.digest
        ));
        let resp = c.execute("POST", &url, &t.scopes(Some(from)), &mut |auth| {
            let mut r = c.agent().post(&url);
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r.send_empty()
        })?;
        match resp.status().as_u16() {
            201 => {
                if !id.is_empty() {
                    progress(&progress::push_status(
                        Some(id),
                        &format!("Mounted from {from}"),
                    ));
                }
                return Ok(());
            }
            // The registry could not mount but opened an upload session instead.
            202 => {
                location = header(&resp, "location");
                break;
            }
            _ => {}
        }
    }
    let location = match location {
        Some(l) => l,
        None => {
            let url = c.url(&format!("/v2/{}/blobs/uploads/", t.path));
            let mut resp = c.execute("POST", &url, &t.scopes(None), &mut |auth| {
                let mut r = c.agent().post(&url);
                if let Some(a) = auth {
                    r = r.header("Authorization", a);
                }
                r.send_empty()
            })?;
            let status = resp.status().as_u16();
            if status != 202 {
                let b = read_small(&mut resp, 1 << 20).unwrap_or_default();
                return Err(push_error(status, &b, &repo, "starting an upload"));
            }
            header(&resp, "location").ok_or_else(|| {
                Error::Other(format!(
                    "the registry {} opened an upload without a Location",
                    c.host
                ))
            })?
        }
    };
    let total = d.size;
    // Large blobs go up in chunks (PATCH with Content-Range, then PUT to close), so no
    // single request carries more than CHUNK bytes; small ones in one PUT.
    let (location, offset) = if total > CHUNK {
        upload_chunks(t, d, file, id, &repo, location, progress)?
    } else {
        (location, 0)
    };
    let mut url = c.absolute(&location);
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&format!("digest={}", d.digest));
    let part = Part {
        file,
        offset,
        len: total - offset,
        total,
        id,
    };
    let mut resp = send_part(t, "PUT", &url, &part, progress)?;
    let status = resp.status().as_u16();
    if status != 201 {
        let b = read_small(&mut resp, 1 << 20).unwrap_or_default();
        return Err(push_error(
            status,
            &b,
            &repo,
            &format!("uploading blob {}", d.digest),
        ));
    }
    if !id.is_empty() {
        progress(&progress::push_status(Some(id), "Pushed"));
    }
    Ok(())
}

/// Sends the blob in CHUNK-sized PATCH requests; returns the location to close the
/// upload at and the bytes sent (all of them).
fn upload_chunks(
    t: &Target<'_>,
    d: &Descriptor,
    file: &Path,
    id: &str,
    repo: &Reference,
    mut location: String,
    progress: &mut dyn FnMut(&PushImageInfo),
) -> Result<(String, u64)> {
    let c = t.client;
    let total = d.size;
    let mut offset = 0u64;
    let mut throttle = Throttle::new(total);
    while offset < total {
        let len = CHUNK.min(total - offset);
        let url = c.absolute(&location);
        let part = Part {
            file,
            offset,
            len,
            total,
            id,
        };
        let mut resp = send_part(t, "PATCH", &url, &part, &mut *progress)?;
        let status = resp.status().as_u16();
        if status != 202 {
            let b = read_small(&mut resp, 1 << 20).unwrap_or_default();
            return Err(push_error(
                status,
                &b,
                repo,
                &format!("uploading a chunk of blob {}", d.digest),
            ));
        }
        location = header(&resp, "location").unwrap_or(location);
        offset += len;
        if !id.is_empty() && throttle.due(offset, total) {
            progress(&progress::push_bytes(id, offset, total));
        }
    }
    Ok((location, offset))
}

/// `len` bytes of a blob file from `offset`, as one request body.
struct Part<'a> {
    file: &'a Path,
    offset: u64,
    len: u64,
    /// The whole blob's size, for progress.
    total: u64,
    id: &'a str,
}

/// PUT or PATCH (with its Content-Range) of one part, reporting progress as it is read.
fn send_part(
    t: &Target<'_>,
    method: &str,
    url: &str,
    part: &Part<'_>,
    progress: &mut dyn FnMut(&PushImageInfo),
) -> Result<super::client::Reply> {
    let c = t.client;
    c.execute(method, url, &t.scopes(None), &mut |auth| {
        let mut f = File::open(part.file).map_err(ureq::Error::Io)?;
        f.seek(SeekFrom::Start(part.offset))
            .map_err(ureq::Error::Io)?;
        let mut reader = Counting {
            inner: BufReader::with_capacity(1 << 20, f).take(part.len),
            current: part.offset,
            total: part.total,
            throttle: Throttle::new(part.total),
            id: part.id,
            progress: &mut *progress,
        };
        let mut r = if method == "PATCH" {
            c.agent().patch(url).header(
                "Content-Range",
                format!("{}-{}", part.offset, part.offset + part.len.max(1) - 1),
            )
        } else {
            c.agent().put(url)
        }
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", part.len.to_string());
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send(ureq::SendBody::from_reader(&mut reader))
    })
}

fn header(resp: &super::client::Reply, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Reports upload progress as the HTTP client reads the file.
struct Counting<'a, R> {
    inner: R,
    current: u64,
    total: u64,
    throttle: Throttle,
    id: &'a str,
    progress: &'a mut dyn FnMut(&PushImageInfo),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        if !self.id.is_empty() && self.throttle.due(self.current, self.total) {
            (self.progress)(&progress::push_bytes(self.id, self.current, self.total));
        }
        Ok(n)
    }
}
