//! The Docker Engine API backend: the console drives any Docker-compatible engine
//! (dockerd, podman's service, another host's `berth serve`) through bollard, over a
//! unix socket, TCP with TLS, or ssh.
//!
//! Endpoints come from `--host`, `DOCKER_HOST` and the docker CLI's contexts
//! (`~/.docker/contexts`); [`endpoints`] lists them, [`DockerClient::connect`] opens one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStatsResponse, ContainerSummary,
    ContainerTopResponse, CreateImageInfo, EventMessage, ImageDeleteResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary, NetworkCreateRequest, NetworkInspect, Volume,
    VolumeCreateRequest, VolumePruneResponse,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, ListContainersOptionsBuilder,
    ListImagesOptions, ListVolumesOptions, LogsOptionsBuilder, PruneImagesOptionsBuilder,
    PruneVolumesOptions, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RemoveVolumeOptionsBuilder, RenameContainerOptionsBuilder, StatsOptionsBuilder,
    TagImageOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;

use super::{
    BoxStream, Client, ClientError, ContainerAction, ErrorKind, EventsFrom, ExecOptions,
    ImageLayers, LayerInfo, LogLine, LogRequest, LogStreamKind, Result, Session, SessionInput,
    SessionOutput, StatsSample,
};

/// Seconds a request may take before the backend gives up (a stop waits for the
/// container's grace period on top).
const TIMEOUT_SECS: u64 = 120;

/// A named place to reach an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `default`, a context name, or the address itself.
    pub name: String,
    /// unix:///path, tcp://host:port, ssh://user@host
    pub host: String,
    /// Client certificates for TLS (a dir with ca.pem, cert.pem, key.pem).
    pub tls_dir: Option<PathBuf>,
}

impl Endpoint {
    pub fn from_host(host: &str) -> Endpoint {
        Endpoint {
            name: host.to_string(),
            host: host.to_string(),
            tls_dir: tls_dir_from_env(),
        }
    }
}

fn tls_dir_from_env() -> Option<PathBuf> {
    let verify = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
    if !verify {
        return None;
    }
    std::env::var_os("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".docker")))
}

fn docker_config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".docker")))
}

/// The docker CLI's contexts: `contexts/meta/<hash>/meta.json` with the endpoint, and
/// `contexts/tls/<hash>/docker/` with its certificates.
fn contexts(config_dir: &Path) -> Vec<Endpoint> {
    let meta = config_dir.join("contexts").join("meta");
    let Ok(rd) = std::fs::read_dir(&meta) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let name = v["Name"].as_str().unwrap_or_default().to_string();
        let host = v["Endpoints"]["docker"]["Host"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || host.is_empty() {
            continue;
        }
        let tls = config_dir
            .join("contexts")
            .join("tls")
            .join(entry.file_name())
            .join("docker");
        out.push(Endpoint {
            name,
            host,
            tls_dir: tls.join("ca.pem").exists().then_some(tls),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every endpoint berth knows of: `DOCKER_HOST`, the local dockerd socket, and the
/// docker CLI's contexts (each name once, in that order).
pub fn endpoints() -> Vec<Endpoint> {
    let mut out = Vec::new();
    if let Ok(h) = std::env::var("DOCKER_HOST") {
        if !h.is_empty() {
            out.push(Endpoint {
                name: "DOCKER_HOST".into(),
                host: h,
                tls_dir: tls_dir_from_env(),
            });
        }
    }
    if Path::new("/var/run/docker.sock").exists() {
        out.push(Endpoint {
            name: "default".into(),
            host: "unix:///var/run/docker.sock".into(),
            tls_dir: None,
        });
    }
    if let Some(dir) = docker_config_dir() {
        for c in contexts(&dir) {
            if !out.iter().any(|e| e.name == c.name) {
                out.push(c);
            }
        }
    }
    out
}

/// `--host` as given: a context name, or an address.
pub fn resolve(spec: &str) -> Result<Endpoint> {
    if spec.contains("://") {
        return Ok(Endpoint::from_host(spec));
    }
    endpoints()
        .into_iter()
        .find(|e| e.name == spec)
        .ok_or_else(|| {
            ClientError::not_found(format!(
                "no docker context or endpoint named {spec:?}: give unix:///path, tcp://host:port or ssh://user@host"
            ))
        })
}

/// The console's `:ctx`: `embedded` (or `berth`) is berth's own engine under `root`;
/// anything else is a Docker endpoint by context name or address.
pub fn connector(root: Option<PathBuf>) -> super::Connector {
    std::sync::Arc::new(move |name: &str| -> Result<std::sync::Arc<dyn Client>> {
        match name {
            "embedded" | "berth" => Ok(std::sync::Arc::new(super::EngineClient::open(
                root.as_deref(),
            )?)),
            spec => Ok(std::sync::Arc::new(DockerClient::connect(resolve(spec)?)?)),
        }
    })
}

pub struct DockerClient {
    docker: Docker,
    endpoint: Endpoint,
}

fn err(e: bollard::errors::Error) -> ClientError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => {
            let kind = match status_code {
                404 => ErrorKind::NotFound,
                409 | 304 => ErrorKind::Conflict,
                400 => ErrorKind::Invalid,
                _ => ErrorKind::Other,
            };
            ClientError::new(kind, message)
        }
        other => ClientError::other(other.to_string()),
    }
}

impl DockerClient {
    pub fn connect(endpoint: Endpoint) -> Result<DockerClient> {
        let v = bollard::API_DEFAULT_VERSION;
        let h = endpoint.host.as_str();
        let docker = if h.starts_with("unix://") {
            Docker::connect_with_unix(h, TIMEOUT_SECS, v)
        } else if h.starts_with("ssh://") {
            Docker::connect_with_ssh(h, TIMEOUT_SECS, v, None)
        } else if h.starts_with("tcp://") || h.starts_with("https://") || h.starts_with("http://") {
            match &endpoint.tls_dir {
                Some(dir) => Docker::connect_with_ssl(
                    h,
                    &dir.join("key.pem"),
                    &dir.join("cert.pem"),
                    &dir.join("ca.pem"),
                    TIMEOUT_SECS,
                    v,
                ),
                None => Docker::connect_with_http(h, TIMEOUT_SECS, v),
            }
        } else {
            return Err(ClientError::new(
                ErrorKind::Invalid,
                format!("unsupported endpoint {h:?}: use unix://, tcp:// or ssh://"),
            ));
        }
        .map_err(|e| ClientError::other(format!("connecting to {h}: {e}")))?;
        Ok(DockerClient { docker, endpoint })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// Docker's CPU % and memory figures from one stats document (its precpu is the sample
/// before), as the docker CLI computes them.
pub fn sample(s: &ContainerStatsResponse) -> StatsSample {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0) as f64
    };
    let cpu_delta = total(&cpu) - total(&pre);
    let sys_delta =
        cpu.system_cpu_usage.unwrap_or(0) as f64 - pre.system_cpu_usage.unwrap_or(0) as f64;
    let cpus = cpu
        .online_cpus
        .filter(|n| *n > 0)
        .map(f64::from)
        .unwrap_or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len().max(1) as f64)
                .unwrap_or(1.0)
        });
    let cpu_percent = if cpu_delta > 0.0 && sys_delta > 0.0 {
        cpu_delta / sys_delta * cpus * 100.0
    } else {
        0.0
    };
    let mem = s.memory_stats.clone().unwrap_or_default();
    let stats = mem.stats.clone().unwrap_or_default();
    // cgroup v2 reports inactive_file, v1 total_inactive_file: both are cache.
    let cache = stats
        .get("inactive_file")
        .or_else(|| stats.get("total_inactive_file"))
        .copied()
        .unwrap_or(0);
    let usage = mem.usage.unwrap_or(0);
    let mem_used = usage.saturating_sub(cache.min(usage));
    let mem_limit = mem.limit.unwrap_or(0);
    let (mut net_rx, mut net_tx) = (0, 0);
    for n in s.networks.clone().unwrap_or_default().values() {
        net_rx += n.rx_bytes.unwrap_or(0);
        net_tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut block_read, mut block_write) = (0, 0);
    let blkio = s.blkio_stats.clone().unwrap_or_default();
    for e in blkio.io_service_bytes_recursive.unwrap_or_default() {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => block_read += e.value.unwrap_or(0),
            Some("write") => block_write += e.value.unwrap_or(0),
            _ => {}
        }
    }
    StatsSample {
        cpu_percent,
        mem_used,
        mem_limit,
        mem_percent: if mem_limit > 0 {
            mem_used as f64 / mem_limit as f64 * 100.0
        } else {
            0.0
        },
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}

fn log_line(out: bollard::container::LogOutput, timestamps: bool) -> LogLine {
    use bollard::container::LogOutput;
    let (stream, bytes) = match out {
        LogOutput::StdErr { message } => (LogStreamKind::Stderr, message),
        LogOutput::StdOut { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => (LogStreamKind::Stdout, message),
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    let mut time = None;
    if timestamps {
        if let Some((ts, rest)) = text.split_once(' ') {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) {
                time = Some(t.with_timezone(&chrono::Utc));
                text = rest.to_string();
            }
        }
    }
    LogLine { stream, time, text }
}

/// Bridges a hijacked bollard stream to a console [`Session`]: output frames become
/// [`SessionOutput`] (then the exit code from `exit`), input and resizes go the other way.
fn session<R, RF, E>(
    mut output: std::pin::Pin<
        Box<
            dyn futures::Stream<
                    Item = std::result::Result<
                        bollard::container::LogOutput,
                        bollard::errors::Error,
                    >,
                > + Send,
        >,
    >,
    mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    resize: R,
    exit: E,
) -> Session
where
    R: Fn(u16, u16) -> RF + Send + 'static,
    RF: std::future::Future<Output = ()> + Send,
    E: std::future::Future<Output = Option<i64>> + Send + 'static,
{
    use bollard::container::LogOutput;
    use tokio::io::AsyncWriteExt;
    let (in_tx, mut in_rx) = tokio::sync::mpsc::unbounded_channel::<SessionInput>();
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel::<Result<SessionOutput>>();
    tokio::spawn(async move {
        while let Some(msg) = in_rx.recv().await {
            match msg {
                SessionInput::Stdin(data) => {
                    if input.write_all(&data).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
                SessionInput::Resize { rows, cols } => resize(rows, cols).await,
            }
        }
        // The console let go (detach): close our side; the process keeps running.
        let _ = input.shutdown().await;
    });
    tokio::spawn(async move {
        while let Some(frame) = output.next().await {
            let out = match frame {
                Ok(LogOutput::StdErr { message }) => SessionOutput::Stderr(message.to_vec()),
                Ok(
                    LogOutput::StdOut { message }
                    | LogOutput::Console { message }
                    | LogOutput::StdIn { message },
                ) => SessionOutput::Stdout(message.to_vec()),
                Err(e) => {
                    let _ = out_tx.send(Err(err(e)));
                    return;
                }
            };
            if out_tx.send(Ok(out)).is_err() {
                return;
            }
        }
        let _ = out_tx.send(Ok(SessionOutput::Exited(exit.await)));
    });
    let output = futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Session {
        output: Box::pin(output),
        input: in_tx,
    }
}

#[async_trait]
impl Client for DockerClient {
    fn describe(&self) -> String {
        if self.endpoint.name == self.endpoint.host {
            format!("docker: {}", self.endpoint.host)
        } else {
            format!("docker: {} ({})", self.endpoint.name, self.endpoint.host)
        }
    }

    async fn containers(&self) -> Result<Vec<ContainerSummary>> {
        let opts = ListContainersOptionsBuilder::new().all(true).build();
        let mut list = self.docker.list_containers(Some(opts)).await.map_err(err)?;
        list.sort_by_key(|c| std::cmp::Reverse(c.created.unwrap_or(0)));
        Ok(list)
    }

    async fn container_inspect(&self, id: &str) -> Result<ContainerInspectResponse> {
        self.docker.inspect_container(id, None).await.map_err(err)
    }

    async fn container_action(&self, id: &str, action: ContainerAction) -> Result<()> {
        let d = &self.docker;
        match action {
            ContainerAction::Start => d.start_container(id, None).await,
            ContainerAction::Stop => d.stop_container(id, None).await,
            ContainerAction::Restart => d.restart_container(id, None).await,
            ContainerAction::Kill => d.kill_container(id, None).await,
            ContainerAction::Pause => d.pause_container(id).await,
            ContainerAction::Unpause => d.unpause_container(id).await,
        }
        .map_err(err)
    }

    async fn container_remove(&self, id: &str, force: bool) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::new().force(force).build();
        self.docker
            .remove_container(id, Some(opts))
            .await
            .map_err(err)
    }

    async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        let opts = RenameContainerOptionsBuilder::new().name(new_name).build();
        self.docker.rename_container(id, opts).await.map_err(err)
    }

    async fn container_create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
    ) -> Result<String> {
        let mut b = CreateContainerOptionsBuilder::new();
        if let Some(n) = &name {
            b = b.name(n);
        }
        Ok(self
            .docker
            .create_container(Some(b.build()), body)
            .await
            .map_err(err)?
            .id)
    }

    async fn logs(&self, id: &str, req: LogRequest) -> Result<BoxStream<LogLine>> {
        let tail = req
            .tail
            .map_or_else(|| "all".to_string(), |t| t.to_string());
        let mut b = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(req.follow)
            .timestamps(true)
            .tail(&tail);
        if let Some(until) = req.until {
            // Older pages: the API takes whole seconds, so the page may repeat a few
            // lines of the held second (sub-second precision is lost).
            b = b.until(i32::try_from(until.timestamp()).unwrap_or(i32::MAX));
        }
        let opts = b.build();
        let stream = self
            .docker
            .logs(id, Some(opts))
            .map(|r| r.map(|o| log_line(o, true)).map_err(err));
        Ok(Box::pin(stream))
    }

    async fn stats(&self, id: &str) -> Result<StatsSample> {
        let opts = StatsOptionsBuilder::new().stream(false).build();
        let mut s = self.docker.stats(id, Some(opts));
        match s.next().await {
            Some(Ok(doc)) => Ok(sample(&doc)),
            Some(Err(e)) => Err(err(e)),
            None => Err(ClientError::other(format!("no stats for {id}"))),
        }
    }

    async fn top(&self, id: &str) -> Result<ContainerTopResponse> {
        self.docker.top_processes(id, None).await.map_err(err)
    }

    async fn images(&self) -> Result<Vec<ImageSummary>> {
        let mut list = self
            .docker
            .list_images(None::<ListImagesOptions>)
            .await
            .map_err(err)?;
        list.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(list)
    }

    async fn image_inspect(&self, id: &str) -> Result<ImageInspect> {
        self.docker.inspect_image(id).await.map_err(err)
    }

    async fn image_remove(&self, id: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        let opts = RemoveImageOptionsBuilder::new().force(force).build();
        self.docker
            .remove_image(id, Some(opts), None)
            .await
            .map_err(err)
    }

    async fn image_tag(&self, id: &str, target: &str) -> Result<()> {
        // repo[:tag]: the tag is after the last ':' that follows the last '/'.
        let (repo, tag) = match target.rfind(':') {
            Some(i) if !target[i..].contains('/') => (&target[..i], &target[i + 1..]),
            _ => (target, "latest"),
        };
        let opts = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        self.docker.tag_image(id, Some(opts)).await.map_err(err)
    }

    async fn image_prune(&self, all: bool) -> Result<ImagePruneResponse> {
        let mut filters = HashMap::new();
        if all {
            filters.insert("dangling".to_string(), vec!["false".to_string()]);
        }
        let opts = PruneImagesOptionsBuilder::new().filters(&filters).build();
        self.docker.prune_images(Some(opts)).await.map_err(err)
    }

    async fn volumes(&self) -> Result<Vec<Volume>> {
        Ok(self
            .docker
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .map_err(err)?
            .volumes
            .unwrap_or_default())
    }

    async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.docker.inspect_volume(name).await.map_err(err)
    }

    async fn volume_create(&self, name: Option<String>) -> Result<Volume> {
        let req = VolumeCreateRequest {
            name,
            ..Default::default()
        };
        self.docker.create_volume(req).await.map_err(err)
    }

    async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let opts = RemoveVolumeOptionsBuilder::new().force(force).build();
        self.docker
            .remove_volume(name, Some(opts))
            .await
            .map_err(err)
    }

    async fn volume_prune(&self) -> Result<VolumePruneResponse> {
        self.docker
            .prune_volumes(None::<PruneVolumesOptions>)
            .await
            .map_err(err)
    }

    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session> {
        let config = bollard::exec::CreateExecOptions::<String> {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(opts.tty),
            env: (!opts.env.is_empty()).then_some(opts.env),
            cmd: Some(opts.cmd),
            user: opts.user,
            working_dir: opts.working_dir,
            ..Default::default()
        };
        let exec = self.docker.create_exec(id, config).await.map_err(err)?.id;
        let start = bollard::exec::StartExecOptions {
            detach: false,
            tty: opts.tty,
            output_capacity: None,
        };
        let started = self
            .docker
            .start_exec(&exec, Some(start))
            .await
            .map_err(err)?;
        let bollard::exec::StartExecResults::Attached { output, input } = started else {
            return Err(ClientError::other("the engine started the exec detached"));
        };
        let docker = self.docker.clone();
        let resize_id = exec.clone();
        let resize = move |rows: u16, cols: u16| {
            let docker = docker.clone();
            let id = resize_id.clone();
            async move {
                let o = bollard::query_parameters::ResizeExecOptions {
                    h: i32::from(rows),
                    w: i32::from(cols),
                };
                let _ = docker.resize_exec(&id, o).await;
            }
        };
        let docker = self.docker.clone();
        let exit = async move {
            docker
                .inspect_exec(&exec)
                .await
                .ok()
                .and_then(|i| i.exit_code)
        };
        Ok(session(output, input, resize, exit))
    }

    async fn attach_session(&self, id: &str) -> Result<Session> {
        let opts = bollard::query_parameters::AttachContainerOptionsBuilder::new()
            .stream(true)
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .build();
        let attached = self
            .docker
            .attach_container(id, Some(opts))
            .await
            .map_err(err)?;
        let docker = self.docker.clone();
        let resize_id = id.to_string();
        let resize = move |rows: u16, cols: u16| {
            let docker = docker.clone();
            let id = resize_id.clone();
            async move {
                let o = bollard::query_parameters::ResizeContainerTTYOptions {
                    h: i32::from(rows),
                    w: i32::from(cols),
                };
                let _ = docker.resize_container_tty(&id, o).await;
            }
        };
        let docker = self.docker.clone();
        let id = id.to_string();
        let exit = async move {
            docker
                .inspect_container(&id, None)
                .await
                .ok()
                .and_then(|c| c.state)
                .filter(|s| s.running != Some(true))
                .and_then(|s| s.exit_code)
        };
        Ok(session(attached.output, attached.input, resize, exit))
    }

    async fn image_layers(&self, id: &str) -> Result<ImageLayers> {
        // The API gives each step's size but not its files: the tree stays empty.
        let mut history = self.docker.image_history(id).await.map_err(err)?;
        history.reverse();
        let layers = history
            .into_iter()
            .map(|h| LayerInfo {
                created_by: h.created_by,
                size: h.size.max(0) as u64,
                empty: h.size <= 0,
                changes: Vec::new(),
            })
            .collect();
        Ok(ImageLayers::new(layers))
    }

    async fn image_pull(&self, reference: &str) -> Result<BoxStream<CreateImageInfo>> {
        // repo[:tag] or repo@digest: the API takes the whole reference as fromImage.
        let opts = bollard::query_parameters::CreateImageOptionsBuilder::new()
            .from_image(reference)
            .build();
        let stream = self
            .docker
            .create_image(Some(opts), None, None)
            .map(|r| match r {
                Ok(info) => Ok(info),
                Err(e) => {
                    let msg = err(e).message;
                    Ok(CreateImageInfo {
                        error_detail: Some(bollard::models::ErrorDetail {
                            code: None,
                            message: Some(msg),
                        }),
                        ..Default::default()
                    })
                }
            });
        Ok(Box::pin(stream))
    }

    async fn networks(&self) -> Result<Vec<NetworkInspect>> {
        let list = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            // The list leaves out each network's containers: inspect fills them in.
            let id = n.id.clone().unwrap_or_default();
            match self.network_inspect(&id).await {
                Ok(full) => out.push(full),
                Err(_) => out.push(
                    serde_json::to_value(&n)
                        .ok()
                        .and_then(|v| serde_json::from_value(v).ok())
                        .unwrap_or_default(),
                ),
            }
        }
        Ok(out)
    }

    async fn network_inspect(&self, id: &str) -> Result<NetworkInspect> {
        self.docker
            .inspect_network(id, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
            .map_err(err)
    }

    async fn network_create(&self, name: &str, internal: bool) -> Result<String> {
        let req = NetworkCreateRequest {
            name: name.to_string(),
            internal: Some(internal),
            ..Default::default()
        };
        Ok(self.docker.create_network(req).await.map_err(err)?.id)
    }

    async fn network_remove(&self, id: &str) -> Result<()> {
        self.docker.remove_network(id).await.map_err(err)
    }

    async fn network_prune(&self) -> Result<Vec<String>> {
        Ok(self
            .docker
            .prune_networks(None::<bollard::query_parameters::PruneNetworksOptions>)
            .await
            .map_err(err)?
            .networks_deleted
            .unwrap_or_default())
    }

    async fn events(&self, from: EventsFrom) -> Result<BoxStream<EventMessage>> {
        let mut b = EventsOptionsBuilder::new();
        // Docker keeps a short in-memory history: "the last N" becomes "the last hour".
        let since;
        if let EventsFrom::Last(_) = from {
            since = (chrono::Utc::now().timestamp() - 3600).to_string();
            b = b.since(&since);
        }
        let stream = self.docker.events(Some(b.build())).map(|r| r.map_err(err));
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_read_from_the_cli_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = dir.path().join("contexts/meta/abc");
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://me@box","SkipTLSVerify":false}}}"#,
        )
        .expect("write");
        let got = contexts(dir.path());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "remote");
        assert_eq!(got[0].host, "ssh://me@box");
        assert_eq!(got[0].tls_dir, None);
    }

    #[test]
    fn cpu_and_memory_as_the_docker_cli_computes_them() {
        let doc: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 1000, "limit": 4000, "stats": {"inactive_file": 200}},
            "pids_stats": {"current": 3}
        }))
        .expect("stats json");
        let s = sample(&doc);
        assert!((s.cpu_percent - 40.0).abs() < 1e-9, "{}", s.cpu_percent);
        assert_eq!((s.mem_used, s.mem_limit, s.pids), (800, 4000, 3));
        assert!((s.mem_percent - 20.0).abs() < 1e-9);
    }
}
