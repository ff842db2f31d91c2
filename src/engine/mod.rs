//! berth's in-process, Docker-compatible engine. Nothing here knows about the
//! terminal UI: the CLI, the console (through the client layer) and the API server
//! all drive the same `Engine`.

pub mod error;
pub mod events;
pub mod image;
pub mod network;
pub mod runtime;
pub mod store;
pub mod system;
pub mod volume;

use std::io::{Read, Write};
use std::path::Path;

pub use error::{Error, Result};
use image::archive::load::LoadReport;
use image::import::ImportOptions;
use image::inspect::{HistoryRow, ImageInspect};
use image::records::{DeleteRecord, ImageRecord, Images};
use image::reference::Reference;
use store::Store;

#[derive(Debug)]
pub struct Engine {
    store: Store,
}

impl Engine {
    /// Opens the engine's state under `root` (None: /var/lib/berth and /run/berth).
    pub fn open(root: Option<&Path>) -> Result<Engine> {
        Ok(Engine {
            store: Store::open(root)?,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn images(&self) -> Images<'_> {
        Images::new(&self.store)
    }

    pub fn image_list(&self) -> Result<Vec<ImageRecord>> {
        self.images().list()
    }

    pub fn image_get(&self, name_or_id: &str) -> Result<ImageRecord> {
        let id = self.images().resolve(name_or_id)?;
        self.images().get(&id)
    }

    pub fn image_inspect(&self, name_or_id: &str) -> Result<ImageInspect> {
        let img = self.image_get(name_or_id)?;
        image::inspect::inspect(&self.store, &img)
    }

    pub fn image_history(&self, name_or_id: &str) -> Result<Vec<HistoryRow>> {
        let img = self.image_get(name_or_id)?;
        image::inspect::history(&self.store, &img)
    }

    /// The unpacked layer dirs of an image, topmost first: the overlay lower dirs of a
    /// container's root filesystem.
    pub fn image_layer_dirs(&self, name_or_id: &str) -> Result<Vec<std::path::PathBuf>> {
        let img = self.image_get(name_or_id)?;
        img.layers
            .iter()
            .rev()
            .map(|c| Ok(self.store.paths.layer_diff(image::digest::parse_digest(c)?)))
            .collect()
    }

    pub fn image_load<R: Read>(&self, r: R) -> Result<LoadReport> {
        let report = image::archive::load::load_stream(&self.store, r);
        self.after_write();
        self.emit_loaded(&report);
        report
    }

    fn emit_loaded(&self, report: &Result<LoadReport>) {
        if let Ok(r) = report {
            for (id, tags) in &r.images {
                let name = tags.first().cloned().unwrap_or_else(|| id.clone());
                events::emit(&self.store, "image", "load", id, &[("name", &name)]);
            }
        }
    }

    pub fn image_load_dir(&self, dir: &Path) -> Result<LoadReport> {
        let report = image::archive::load::load_dir(&self.store, dir);
        self.after_write();
        self.emit_loaded(&report);
        report
    }

    pub fn image_save<W: Write>(&self, names: &[String], out: W) -> Result<()> {
        image::archive::save::save(&self.store, names, out)
    }

    pub fn image_import<R: Read>(&self, r: R, opts: &ImportOptions) -> Result<String> {
        let id = image::import::import(&self.store, r, opts);
        self.after_write();
        if let Ok(id) = &id {
            events::emit(&self.store, "image", "import", id, &[]);
        }
        id
    }

    /// `tag SOURCE TARGET`
    pub fn image_tag(&self, source: &str, target: &str) -> Result<()> {
        let id = self.images().resolve(source)?;
        let target = Reference::parse(target).map_err(|e| Error::invalid(e.to_string()))?;
        self.images().tag(&id, &target)?;
        events::emit(
            &self.store,
            "image",
            "tag",
            &id,
            &[("name", &target.familiar())],
        );
        Ok(())
    }

    pub fn image_remove(&self, name_or_id: &str, force: bool) -> Result<Vec<DeleteRecord>> {
        let records = self.images().remove(name_or_id, force)?;
        self.emit_deleted(&records);
        Ok(records)
    }

    fn emit_deleted(&self, records: &[DeleteRecord]) {
        for r in records {
            match r {
                DeleteRecord::Untagged(t) => {
                    events::emit(&self.store, "image", "untag", t, &[("name", t)])
                }
                DeleteRecord::Deleted(d) if !d.is_empty() => {
                    events::emit(&self.store, "image", "delete", d, &[])
                }
                DeleteRecord::Deleted(_) => {}
            }
        }
    }

    pub fn image_prune(&self, all: bool) -> Result<(Vec<DeleteRecord>, u64)> {
        let pruned = self.images().prune(all);
        // Pruning is also when leftovers of killed writers go, even if no image does.
        self.after_write();
        if let Ok((records, _)) = &pruned {
            self.emit_deleted(records);
        }
        pruned
    }

    /// `pull`: fetches an image (every tag with `all_tags`) from its registry, reporting
    /// progress as dockerd's JSON stream does. Returns the image id.
    pub fn image_pull(
        &self,
        reference: &str,
        opts: &image::registry::PullOptions,
        progress: &mut dyn FnMut(&bollard::models::CreateImageInfo),
    ) -> Result<String> {
        let settings = image::registry::settings::Settings::load()?;
        let pulled = image::registry::pull::pull(&self.store, &settings, reference, opts, progress);
        self.after_write();
        let pulled = pulled?;
        for r in &pulled.references {
            events::emit(&self.store, "image", "pull", r, &[("name", r)]);
        }
        Ok(pulled.id)
    }

    /// `push`: uploads an image (every local tag of the repository with `all_tags`).
    /// Returns the manifest digest of the last pushed tag.
    pub fn image_push(
        &self,
        reference: &str,
        opts: &image::registry::PushOptions,
        progress: &mut dyn FnMut(&bollard::models::PushImageInfo),
    ) -> Result<String> {
        let settings = image::registry::settings::Settings::load()?;
        let digest =
            image::registry::push::push(&self.store, &settings, reference, opts, progress)?;
        events::emit(
            &self.store,
            "image",
            "push",
            reference,
            &[("name", reference)],
        );
        Ok(digest)
    }

    /// `login`: checks the credentials against the registry, then stores them in the
    /// docker CLI's config.json. `server` "" or "docker.io" means Docker Hub.
    pub fn registry_login(&self, server: &str, user: &str, password: &str) -> Result<()> {
        image::registry::login(server, user, password)
    }

    /// `logout`: forgets stored credentials ("" = Docker Hub); false when there were none.
    pub fn registry_logout(&self, server: &str) -> Result<bool> {
        image::registry::logout(server)
    }

    /// Events after `after_seq` within [since, until] (unix nanos).
    pub fn events(
        &self,
        after_seq: i64,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<Vec<events::Event>> {
        events::read(&self.store, after_seq, since, until)
    }

    /// The newest event's sequence number (to follow from "now").
    pub fn events_last_seq(&self) -> Result<i64> {
        events::last_seq(&self.store)
    }

    pub fn system_df(&self) -> Result<system::DiskUsage> {
        system::disk_usage(&self.store)
    }

    /// `create`: returns the new container's id.
    pub fn container_create(
        &self,
        name: Option<String>,
        body: bollard::models::ContainerCreateBody,
    ) -> Result<String> {
        runtime::create::create(&self.store, runtime::create::CreateOptions { name, body })
    }

    /// `start`: the inner error carries Docker's exit code (125/126/127). `attach` (the
    /// monitor's end of [`runtime::attach::AttachClient::pair`]) is attached before the
    /// container runs.
    pub fn container_start(
        &self,
        name_or_id: &str,
        attach: Option<std::os::fd::OwnedFd>,
    ) -> Result<std::result::Result<(), runtime::lifecycle::StartError>> {
        runtime::lifecycle::start(&self.store, name_or_id, attach, None)
    }

    /// `start` through the container's standby monitor when it can take it (else as
    /// [`Engine::container_start`]).
    pub fn container_start_standby(
        &self,
        name_or_id: &str,
        attach: Option<std::os::fd::OwnedFd>,
        standby: Option<&runtime::standby::Standby>,
    ) -> Result<std::result::Result<(), runtime::lifecycle::StartError>> {
        runtime::lifecycle::start(&self.store, name_or_id, attach, standby)
    }

    /// Spawns a standby monitor for created container `id` (see runtime/standby.rs),
    /// for a spawner that lives on and expects the start soon. The returned process
    /// exits at once: reap it.
    pub fn container_standby(
        &self,
        id: &str,
    ) -> Result<(runtime::standby::Standby, std::process::Child)> {
        runtime::standby::spawn(&self.store, id)
    }

    /// `exec`: starts `cfg` in the running container. With `attach` (as for start), that
    /// client gets the process's output and exit code; without, it runs detached.
    pub fn container_exec(
        &self,
        name_or_id: &str,
        cfg: &runtime::exec::ExecConfig,
        attach: Option<std::os::fd::OwnedFd>,
    ) -> Result<std::result::Result<(), runtime::lifecycle::StartError>> {
        let rec = self.container_get(name_or_id)?;
        runtime::exec::start(&self.store, &rec, cfg, attach)
    }

    pub fn container_get(&self, name_or_id: &str) -> Result<runtime::container::ContainerRecord> {
        runtime::lifecycle::get(&self.store, name_or_id)
    }

    pub fn container_list(&self) -> Result<Vec<runtime::container::ContainerRecord>> {
        runtime::lifecycle::list(&self.store)
    }

    pub fn container_inspect(
        &self,
        name_or_id: &str,
    ) -> Result<runtime::inspect::ContainerInspect> {
        let rec = self.container_get(name_or_id)?;
        Ok(runtime::inspect::inspect(&self.store, &rec))
    }

    pub fn container_stop(&self, name_or_id: &str, timeout: Option<i64>) -> Result<()> {
        runtime::lifecycle::stop(&self.store, name_or_id, timeout)
    }

    /// `restart`: stop (when running), start, and Docker's `restart` event.
    pub fn container_restart(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
    ) -> Result<std::result::Result<(), runtime::lifecycle::StartError>> {
        let rec = self.container_get(name_or_id)?;
        if rec.state.running {
            self.container_stop(&rec.id, timeout)?;
        }
        let started = self.container_start(&rec.id, None)?;
        if started.is_ok() {
            let rec = self.container_get(&rec.id)?;
            runtime::container::emit(&self.store, &rec, "restart", &[]);
        }
        Ok(started)
    }

    pub fn container_kill(&self, name_or_id: &str, signal: &str) -> Result<()> {
        let sig = runtime::lifecycle::parse_signal(signal)?;
        runtime::lifecycle::kill(&self.store, name_or_id, sig)
    }

    pub fn container_wait(&self, name_or_id: &str) -> Result<i64> {
        runtime::lifecycle::wait(&self.store, name_or_id)
    }

    /// Waits until the container is not running; false when `timeout` passed first.
    pub fn container_wait_stopped(
        &self,
        id: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<bool> {
        runtime::lifecycle::wait_stopped(&self.store, id, timeout)
    }

    /// Waits until an auto-removed container's record is gone.
    pub fn container_wait_removed(&self, id: &str, timeout: std::time::Duration) -> Result<bool> {
        runtime::lifecycle::wait_removed(&self.store, id, timeout)
    }

    pub fn container_pause(&self, name_or_id: &str, paused: bool) -> Result<()> {
        runtime::lifecycle::set_paused(&self.store, name_or_id, paused)
    }

    pub fn container_top(&self, name_or_id: &str) -> Result<Vec<runtime::top::ProcessRow>> {
        runtime::top::top(&self.store, name_or_id)
    }

    /// `top` with `ps` options: the host's `ps` limited to the container's processes.
    pub fn container_top_ps(
        &self,
        name_or_id: &str,
        ps_args: &str,
    ) -> Result<bollard::models::ContainerTopResponse> {
        runtime::top::top_ps(&self.store, name_or_id, ps_args)
    }

    pub fn container_stats(&self, name_or_id: &str) -> Result<runtime::stats::StatsRow> {
        let rec = self.container_get(name_or_id)?;
        runtime::stats::stats(&self.store, &rec)
    }

    pub fn container_update(
        &self,
        name_or_id: &str,
        resources: &bollard::models::Resources,
        restart: Option<bollard::models::RestartPolicy>,
    ) -> Result<()> {
        runtime::lifecycle::update(&self.store, name_or_id, resources, restart)
    }

    /// `rm [-f] [-v]`: with `volumes`, the container's anonymous volumes go too.
    pub fn container_diff(&self, name_or_id: &str) -> Result<Vec<image::layer::Change>> {
        let rec = self.container_get(name_or_id)?;
        runtime::fsops::diff(&self.store, &rec)
    }

    pub fn container_export<W: Write>(&self, name_or_id: &str, out: W) -> Result<()> {
        let rec = self.container_get(name_or_id)?;
        runtime::fsops::export(&self.store, &rec, out)
    }

    /// `HEAD /containers/{id}/archive`: what is at `path` inside the container.
    pub fn container_archive_stat(
        &self,
        name_or_id: &str,
        path: &str,
    ) -> Result<runtime::copy::PathStat> {
        let rec = self.container_get(name_or_id)?;
        runtime::copy::stat(&self.store, &rec, name_or_id, path)
    }

    /// `GET /containers/{id}/archive` and `cp CONTAINER:SRC`: the stat of `path`, and its
    /// tar once started. `follow_link` is `cp -L`.
    pub fn container_archive_get(
        &self,
        name_or_id: &str,
        path: &str,
        follow_link: bool,
    ) -> Result<runtime::copy::ArchiveSource> {
        let rec = self.container_get(name_or_id)?;
        runtime::copy::archive(&self.store, &rec, name_or_id, path, follow_link)
    }

    /// `PUT /containers/{id}/archive` and `cp SRC CONTAINER:DEST`: extracts a tar into
    /// the directory at `path`.
    pub fn container_archive_put<R: Read + Send>(
        &self,
        name_or_id: &str,
        path: &str,
        input: R,
        opts: &runtime::copy::ExtractOptions,
    ) -> Result<()> {
        let rec = self.container_get(name_or_id)?;
        runtime::copy::extract(&self.store, &rec, name_or_id, path, input, opts)
    }

    pub fn container_commit(
        &self,
        name_or_id: &str,
        opts: &runtime::fsops::CommitOptions,
    ) -> Result<String> {
        let rec = self.container_get(name_or_id)?;
        runtime::fsops::commit(&self.store, &rec, opts)
    }

    /// `container prune`: removes every stopped container; returns ids and bytes freed.
    pub fn container_prune(&self) -> Result<(Vec<String>, u64)> {
        let mut ids = Vec::new();
        let mut bytes = 0;
        for rec in self.container_list()? {
            if rec.state.running || rec.state.restarting || rec.state.paused {
                continue;
            }
            let upper = runtime::paths::container_dir(&self.store, &rec.id).join("upper");
            let size = volume::dir_size(&upper);
            match self.container_remove(&rec.id, false, false) {
                Ok(id) => {
                    ids.push(id);
                    bytes += size;
                }
                // Started or removed by someone else meanwhile: not ours to prune.
                Err(Error::Conflict(_)) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((ids, bytes))
    }

    pub fn container_remove(&self, name_or_id: &str, force: bool, volumes: bool) -> Result<String> {
        runtime::lifecycle::remove(&self.store, name_or_id, force, volumes)
    }

    pub fn container_rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let rec = self.container_get(name_or_id)?;
        let new_name = runtime::names::validate(new_name)?;
        runtime::container::Containers::new(&self.store).rename(&rec.id, &new_name)?;
        let renamed = self.container_get(&rec.id)?;
        runtime::container::emit(
            &self.store,
            &renamed,
            "rename",
            &[("oldName", &format!("/{}", rec.name))],
        );
        Ok(())
    }

    pub fn container_log_path(&self, id: &str) -> std::path::PathBuf {
        runtime::paths::log_path(&self.store, id)
    }

    pub fn volume_create(
        &self,
        name: Option<&str>,
        labels: std::collections::BTreeMap<String, String>,
        options: std::collections::BTreeMap<String, String>,
    ) -> Result<volume::Volume> {
        let v = volume::Volumes::new(&self.store).create(name, labels, options, false)?;
        events::emit(
            &self.store,
            "volume",
            "create",
            &v.name,
            &[("driver", &v.driver)],
        );
        Ok(v)
    }

    pub fn volume_list(&self) -> Result<Vec<volume::Volume>> {
        volume::Volumes::new(&self.store).list()
    }

    pub fn volume_inspect(&self, name: &str) -> Result<volume::Volume> {
        volume::Volumes::new(&self.store).get(name)
    }

    /// Containers (ids) whose records mount the volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        volume::Volumes::new(&self.store).users(name)
    }

    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        volume::Volumes::new(&self.store).remove(name, force)?;
        events::emit(
            &self.store,
            "volume",
            "destroy",
            name,
            &[("driver", "local")],
        );
        Ok(())
    }

    pub fn volume_prune(&self, all: bool) -> Result<(Vec<String>, u64)> {
        volume::Volumes::new(&self.store).prune(all)
    }

    pub fn network_create(
        &self,
        opts: network::CreateOptions,
    ) -> Result<network::records::Network> {
        network::create(&self.store, opts)
    }

    pub fn network_list(&self) -> Result<Vec<network::records::Network>> {
        network::list(&self.store)
    }

    pub fn network_get(&self, name_or_id: &str) -> Result<network::records::Network> {
        network::get(&self.store, name_or_id)
    }

    /// Docker's `network inspect` JSON.
    pub fn network_inspect(&self, name_or_id: &str) -> Result<serde_json::Value> {
        let n = network::get(&self.store, name_or_id)?;
        network::inspect(&self.store, &n)
    }

    pub fn network_remove(&self, name_or_id: &str) -> Result<()> {
        network::remove(&self.store, name_or_id)
    }

    pub fn network_prune(&self) -> Result<Vec<String>> {
        network::prune(&self.store)
    }

    pub fn network_connect(
        &self,
        network: &str,
        container: &str,
        settings: Option<&bollard::models::EndpointSettings>,
    ) -> Result<()> {
        network::connect(&self.store, network, container, settings)
    }

    pub fn network_disconnect(&self, network: &str, container: &str, force: bool) -> Result<()> {
        network::disconnect(&self.store, network, container, force)
    }

    /// Containers (ids) connected to a network.
    pub fn network_users(&self, network_id: &str) -> Result<Vec<String>> {
        Ok(network::records::Networks::new(&self.store)
            .endpoints_of_network(network_id)?
            .into_iter()
            .map(|e| e.container_id)
            .collect())
    }

    /// Removes this root's bridges and firewall table from the host (tests' cleanup).
    pub fn network_teardown_host(&self) -> Result<()> {
        network::teardown_host(&self.store)
    }

    /// Writers leave nothing behind on failure, but a killed one may have: collect it
    /// (a no-op while another writer is active).
    fn after_write(&self) {
        let _ = self.images().gc();
    }
}
