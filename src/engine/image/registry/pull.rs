//! `pull`: resolve a reference to one image manifest (through an index when the
//! registry has several platforms), verify and fetch its config, then download the
//! missing layers in parallel worker threads (`fetch`), each unpacking its layer while
//! it downloads. The image is registered in one transaction only when every layer
//! is in place, so an interrupted pull leaves nothing half-registered; finished blobs
//! wait in `downloads/` and are reused by the next attempt.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use bollard::models::CreateImageInfo;

use super::client::{read_small, Client};
use super::fetch::{fetch_layer, place_blob, spec, Fetch};
use super::manifest::{self, Descriptor, Document, Manifest, Platform};
use super::progress;
use super::settings::{Settings, HUB_HOST};
use super::{creds, errors, workers, Credentials, PullOptions};
use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::config::ImageConfigFile;
use crate::engine::image::digest::{chain_ids, parse_digest, sha256_digest};
use crate::engine::image::records::{with_default_tag, Images, NewLayer};
use crate::engine::image::reference::Reference;
use crate::engine::image::unpack::ensure_layer;
use crate::engine::store::Store;

/// Docker's default max-concurrent-downloads.
const PARALLEL_DOWNLOADS: usize = 3;
const MANIFEST_LIMIT: u64 = 4 << 20;
const CONFIG_LIMIT: u64 = 32 << 20;

/// What a pull did: the image id, and the references it now answers to.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub id: String,
    /// Familiar references pulled ("busybox:latest", "x@sha256:...").
    pub references: Vec<String>,
}

/// One repository on one registry (or on a Docker Hub mirror).
pub struct Session {
    pub client: Client,
    pub path: String,
}

impl Session {
    pub fn scope(&self) -> Vec<String> {
        vec![format!("repository:{}:pull", self.path)]
    }

    /// GET with auth; returns the reply whatever its status.
    pub(super) fn get(&self, path: &str, accept: Option<&str>) -> Result<super::client::Reply> {
        let url = self.client.url(path);
        self.client
            .execute("GET", &url, &self.scope(), &mut |auth| {
                let mut r = self.client.agent().get(&url);
                if let Some(a) = accept {
                    r = r.header("Accept", a);
                }
                if let Some(a) = auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            })
    }

    fn read(&self, mut resp: super::client::Reply, path: &str, limit: u64) -> Result<Vec<u8>> {
        read_small(&mut resp, limit)
            .map_err(|e| self.client.transport("GET", &self.client.url(path), e))
    }
}

/// Credentials for `host`: the caller's, else what `login` stored.
fn credentials(
    settings: &Settings,
    host: &str,
    given: &Option<Credentials>,
) -> Result<Option<Credentials>> {
    match given {
        Some(c) => Ok(Some(c.clone())),
        None => creds::lookup(&settings.docker_config, host),
    }
}

/// Where a reference is fetched from: Docker Hub references try the configured mirrors
/// first (those that answer), then Docker Hub itself, connected only when needed.
pub struct Endpoints<'a> {
    settings: &'a Settings,
    host: String,
    path: String,
    given: Option<Credentials>,
    mirrors: Vec<Session>,
    direct: Option<Session>,
}

impl<'a> Endpoints<'a> {
    pub fn new(settings: &'a Settings, r: &Reference, given: &Option<Credentials>) -> Self {
        let host = r.registry_host().to_string();
        let mut mirrors = Vec::new();
        if host == HUB_HOST {
            for m in &settings.mirrors {
                let mhost = creds::server_host(m);
                let Ok(c) = credentials(settings, &mhost, given) else {
                    continue;
                };
                // A mirror that does not answer is skipped, as Docker does.
                if let Ok(client) = Client::connect(settings, &mhost, c) {
                    mirrors.push(Session {
                        client,
                        path: r.path().to_string(),
                    });
                }
            }
        }
        Endpoints {
            settings,
            host,
            path: r.path().to_string(),
            given: given.clone(),
            mirrors,
            direct: None,
        }
    }

    fn direct(&mut self) -> Result<&Session> {
        if self.direct.is_none() {
            let c = credentials(self.settings, &self.host, &self.given)?;
            self.direct = Some(Session {
                client: Client::connect(self.settings, &self.host, c)?,
                path: self.path.clone(),
            });
        }
        self.direct
            .as_ref()
            .ok_or_else(|| Error::Other(format!("no connection to {}", self.host)))
    }

    /// `f` on each mirror until one succeeds, else on the registry itself.
    fn attempt<T>(&mut self, f: &mut dyn FnMut(&Session) -> Result<T>) -> Result<T> {
        for m in &self.mirrors {
            if let Ok(v) = f(m) {
                return Ok(v);
            }
        }
        let d = self.direct()?;
        f(d)
    }
}

pub fn pull(
    store: &Store,
    settings: &Settings,
    reference: &str,
    opts: &PullOptions,
    progress: &mut dyn FnMut(&CreateImageInfo),
) -> Result<Pulled> {
    let r = Reference::parse(reference).map_err(|e| Error::invalid(e.to_string()))?;
    let want = manifest::wanted_platform(opts.platform.as_deref())?;
    if opts.all_tags && (r.tag().is_some() || r.digest().is_some()) {
        return Err(Error::invalid("tag can't be used with --all-tags/-a"));
    }
    let mut endpoints = Endpoints::new(settings, &r, &opts.credentials);
    let targets: Vec<Reference> = if opts.all_tags {
        endpoints
            .attempt(&mut |s| list_tags(s, &r))?
            .iter()
            .map(|t| r.with_tag(t).map_err(|e| Error::invalid(e.to_string())))
            .collect::<Result<_>>()?
    } else {
        vec![with_default_tag(&r)]
    };
    let mut any_new = false;
    let mut pulled = Pulled {
        id: String::new(),
        references: vec![],
    };
    for t in &targets {
        let (id, digest, changed) = endpoints.attempt(&mut |s| {
            pull_one(store, s, t, &want, opts.platform.is_some(), &mut *progress)
        })?;
        progress(&progress::status(None, format!("Digest: {digest}")));
        any_new |= changed;
        pulled.id = id;
        pulled.references.push(t.familiar());
    }
    let name = if opts.all_tags {
        r.familiar_name()
    } else {
        with_default_tag(&r).familiar()
    };
    let status = if any_new {
        format!("Status: Downloaded newer image for {name}")
    } else {
        format!("Status: Image is up to date for {name}")
    };
    progress(&progress::status(None, status));
    Ok(pulled)
}

fn list_tags(s: &Session, r: &Reference) -> Result<Vec<String>> {
    let path = format!("/v2/{}/tags/list", s.path);
    let resp = s.get(&path, None)?;
    let status = resp.status().as_u16();
    let body = s.read(resp, &path, MANIFEST_LIMIT)?;
    if status != 200 {
        return Err(denied_or(status, &body, r, "listing tags"));
    }
    #[derive(serde::Deserialize)]
    struct Tags {
        #[serde(default)]
        tags: Option<Vec<String>>,
    }
    let t: Tags = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid(format!("the registry sent an invalid tag list: {e}")))?;
    let mut tags = t.tags.unwrap_or_default();
    tags.sort();
    Ok(tags)
}

/// Docker's wording for a repository the registry will not show us.
fn denied_or(status: u16, body: &[u8], r: &Reference, what: &str) -> Error {
    if status == 401 || status == 403 || errors::has_code(body, "NAME_UNKNOWN") {
        let detail = errors::registry_errors(body)
            .unwrap_or_else(|| "requested access to the resource is denied".into());
        return Error::NotFound(format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': {detail}",
            r.familiar_name()
        ));
    }
    errors::status(status, body, &format!("{what} for {}", r.familiar_name()))
}

/// Fetches a manifest by tag or digest and checks its digest.
fn fetch_manifest(
    s: &Session,
    r: &Reference,
    key: &str,
) -> Result<(Vec<u8>, Option<String>, String)> {
    let path = format!("/v2/{}/manifests/{key}", s.path);
    let resp = s.get(&path, Some(manifest::ACCEPT))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = s.read(resp, &path, MANIFEST_LIMIT)?;
    if status == 404 && errors::has_code(&body, "MANIFEST_UNKNOWN") {
        let detail = errors::registry_errors(&body).unwrap_or_default();
        return Err(Error::NotFound(format!(
            "manifest for {} not found: {detail}",
            r.familiar()
        )));
    }
    if status != 200 {
        return Err(denied_or(status, &body, r, "fetching the manifest"));
    }
    let digest = sha256_digest(&body);
    let expected = if key.starts_with("sha256:") {
        Some(key.to_string())
    } else {
        header_digest.filter(|d| d.starts_with("sha256:"))
    };
    if let Some(want) = expected {
        if want != digest {
            return Err(Error::invalid(format!(
                "manifest verification failed for digest {want}: the registry sent content with digest {digest}"
            )));
        }
    }
    Ok((body, content_type, digest))
}

/// Pulls one tag or digest. Returns (image id, the digest of what the reference names,
/// whether anything changed). For a multi-platform index that is the index's digest,
/// as Docker prints and records it (RepoDigests), so that `repo@digest` pulls this
/// image again on any platform and matches what the registry reports for the tag; the
/// platform's own manifest is the one kept for push.
fn pull_one(
    store: &Store,
    s: &Session,
    r: &Reference,
    want: &Platform,
    platform_given: bool,
    progress: &mut dyn FnMut(&CreateImageInfo),
) -> Result<(String, String, bool)> {
    let key = r.digest().or(r.tag()).unwrap_or("latest").to_string();
    let (mut body, ctype, digest) = fetch_manifest(s, r, &key)?;
    let m: Manifest = match manifest::parse(ctype.as_deref(), &body)? {
        Document::Image(m) => m,
        Document::Index(idx) => {
            let d = manifest::select(&idx, want)?;
            // fetch_manifest checks the platform manifest against the index's digest.
            let (inner, ctype, _) = fetch_manifest(s, r, &d.digest)?;
            body = inner;
            match manifest::parse(ctype.as_deref(), &body)? {
                Document::Image(m) => m,
                Document::Index(_) => {
                    return Err(Error::invalid(format!(
                        "manifest {} for {} is a nested index: not supported",
                        d.digest,
                        r.familiar()
                    )))
                }
            }
        }
    };
    let config_bytes = fetch_config(s, &m.config)?;
    let cfg = ImageConfigFile::parse(&config_bytes)?;
    if platform_given {
        let os = cfg.os.as_deref().unwrap_or("linux");
        let arch = cfg.architecture.as_deref().unwrap_or("");
        if os != want.os || arch != want.architecture {
            return Err(Error::NotFound(format!(
                "image with reference {} was found but does not match the specified platform: wanted {}, actual: {os}/{arch}",
                r.familiar(),
                manifest::platform_string(want)
            )));
        }
    }
    let diff_ids = cfg.rootfs.diff_ids.clone();
    if diff_ids.len() != m.layers.len() {
        return Err(Error::invalid(format!(
            "the image config of {} lists {} layers but its manifest has {}",
            r.familiar(),
            diff_ids.len(),
            m.layers.len()
        )));
    }
    for l in &m.layers {
        parse_digest(&l.digest)?;
        check_layer_type(&l.media_type)?;
    }
    for d in &diff_ids {
        parse_digest(d)?;
    }
    let chains = chain_ids(&diff_ids);

    let _writer = store.writer_lock()?;
    let scratch = store.tmp_dir()?;
    progress(&progress::status(
        Some(&key),
        format!("Pulling from {}", r.path()),
    ));
    let images = Images::new(store);
    let mut layers: Vec<Option<NewLayer>> = vec![None; m.layers.len()];
    let mut jobs = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        let id = progress::short(&l.digest);
        if images.layer_present(&chains[i])? {
            layers[i] = Some(ensure_layer(
                store,
                &spec(&chains, &diff_ids, &m.layers, i),
            )?);
            progress(&progress::status(Some(&id), "Already exists"));
        } else {
            progress(&progress::status(Some(&id), "Pulling fs layer"));
            jobs.push(i);
        }
    }
    if jobs.len() > PARALLEL_DOWNLOADS {
        for &i in &jobs[PARALLEL_DOWNLOADS..] {
            progress(&progress::status(
                Some(&progress::short(&m.layers[i].digest)),
                "Waiting",
            ));
        }
    }
    let downloads = downloads_dir(store)?;
    let ctx = Fetch {
        store,
        session: s,
        scratch: scratch.path(),
        downloads: &downloads,
        chains: &chains,
        diff_ids: &diff_ids,
        layers: &m.layers,
    };
    let work = |i: usize, send: &dyn Fn(CreateImageInfo), cancel: &AtomicBool| {
        fetch_layer(&ctx, i, send, cancel)
    };
    let relay = &mut |p: CreateImageInfo| progress(&p);
    for (i, l) in workers::run(PARALLEL_DOWNLOADS, &jobs, &work, relay)? {
        layers[i] = Some(l);
    }
    let layers: Vec<NewLayer> = layers.into_iter().flatten().collect();

    // Verified downloads stay out of the collected blob store until the image is about
    // to be recorded, so an interrupted pull's blobs survive for the next attempt.
    let blobs = Blobs::new(&store.paths);
    for &i in &jobs {
        let d = &m.layers[i];
        place_blob(&blobs, d, &downloads.join(parse_digest(&d.digest)?))?;
    }
    blobs.put_bytes(scratch.path(), &config_bytes, Some(&m.config.digest))?;
    let id = sha256_digest(&config_bytes);
    let before = images.resolve(&r.to_string()).ok();
    let tags: Vec<Reference> = r.tag().map(|_| r.clone()).into_iter().collect();
    images.register(&config_bytes, &layers, &tags)?;
    let repo_digest = r
        .with_digest(&digest)
        .map_err(|e| Error::invalid(e.to_string()))?;
    record_digest(store, &id, &repo_digest)?;
    keep_manifest(store, &id, &body)?;
    Ok((id.clone(), digest, before.as_deref() != Some(id.as_str())))
}

fn check_layer_type(media_type: &str) -> Result<()> {
    let ok = matches!(
        media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd"
            | "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    );
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "unsupported layer media type {media_type}: berth unpacks tar, gzip and zstd layers"
        )))
    }
}

fn fetch_config(s: &Session, d: &Descriptor) -> Result<Vec<u8>> {
    parse_digest(&d.digest)?;
    let path = format!("/v2/{}/blobs/{}", s.path, d.digest);
    let resp = s.get(&path, None)?;
    let status = resp.status().as_u16();
    let body = s.read(resp, &path, CONFIG_LIMIT)?;
    if status != 200 {
        return Err(errors::status(
            status,
            &body,
            &format!("fetching image config {}", d.digest),
        ));
    }
    let got = sha256_digest(&body);
    if got != d.digest {
        return Err(Error::invalid(format!(
            "image config verification failed for digest {}: the registry sent content with digest {got}",
            d.digest
        )));
    }
    Ok(body)
}

/// Verified blobs of unfinished pulls. Not garbage collected with the store's blobs,
/// so a retry after a crash or kill finds them.
pub fn downloads_dir(store: &Store) -> Result<PathBuf> {
    let d = store.paths.data.join("downloads");
    std::fs::create_dir_all(&d).ctx(|| format!("creating {}", d.display()))?;
    Ok(d)
}

/// Where the manifest an image was pulled with is kept, so `push` can send the same
/// bytes (and so the same digest) back: `manifests/<image id hex>`.
pub fn manifest_path(store: &Store, id: &str) -> Result<PathBuf> {
    Ok(store.paths.data.join("manifests").join(parse_digest(id)?))
}

/// Keeps `body` for the image, and drops the kept manifests of images that are gone.
fn keep_manifest(store: &Store, id: &str, body: &[u8]) -> Result<()> {
    let path = manifest_path(store, id)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        let images = Images::new(store);
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if images.get(&format!("sha256:{name}")).is_err() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    crate::engine::image::blobs::write_atomic(&path, body)
}

/// Inserts `name@digest` for the image (Docker's RepoDigests).
pub fn record_digest(store: &Store, id: &str, repo_digest: &Reference) -> Result<()> {
    store.db().execute(
        "INSERT INTO digests (ref, image_id) VALUES (?1, ?2)
         ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id",
        rusqlite::params![repo_digest.to_string(), id],
    )?;
    Ok(())
}
