//! An in-memory backend with fixed, deterministic data: what the console's snapshot
//! tests, screenshots and demos run against. Actions change the data the way an engine
//! would (and record an event), so key-driven tests can watch their effect.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerSummaryStateEnum,
    ContainerTopResponse, CreateImageInfo, EventActor, EventMessage, EventMessageScopeEnum,
    EventMessageTypeEnum, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse, ImageSummary,
    NetworkInspect, PortSummary, PortSummaryTypeEnum, Volume, VolumePruneResponse, VolumeScopeEnum,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tokio::sync::broadcast;

use super::{
    BoxStream, Client, ClientError, ContainerAction, EventsFrom, ExecOptions, FileChange,
    FileChangeKind, ImageLayers, LayerInfo, LogLine, LogRequest, LogStreamKind, Result, Session,
    SessionInput, SessionOutput, StatsSample,
};

/// The instant the demo data is written against; tests pin the console's clock to it.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

#[derive(Debug, Clone)]
struct FakeContainer {
    summary: ContainerSummary,
    env: Vec<String>,
    logs: Vec<LogLine>,
    stats_calls: u64,
}

#[derive(Debug, Default)]
struct State {
    containers: Vec<FakeContainer>,
    images: Vec<ImageSummary>,
    volumes: Vec<Volume>,
    networks: Vec<NetworkInspect>,
    events: Vec<EventMessage>,
    /// Every mutating call, in order ("stop web"), for tests to assert on.
    calls: Vec<String>,
    /// Fails the next call of this verb with a conflict, to test error paths.
    fail_next: Option<String>,
    clock: i64,
}

#[derive(Clone)]
pub struct FakeClient {
    state: Arc<Mutex<State>>,
    live: broadcast::Sender<EventMessage>,
}

impl Default for FakeClient {
    fn default() -> Self {
        Self::demo()
    }
}

fn port(private: u16, public: Option<u16>, ip: &str) -> PortSummary {
    PortSummary {
        ip: public.map(|_| ip.to_string()),
        private_port: private,
        public_port: public,
        typ: Some(PortSummaryTypeEnum::TCP),
    }
}

#[allow(clippy::too_many_arguments)]
fn container(
    n: u8,
    name: &str,
    image: &str,
    command: &str,
    state: ContainerSummaryStateEnum,
    status: &str,
    ports: Vec<PortSummary>,
    age_secs: i64,
) -> FakeContainer {
    let id = format!("{:02x}{}", n, "5e1f0c3a9b7d".repeat(6))
        .chars()
        .take(64)
        .collect::<String>();
    let logs = (0..40)
        .map(|i| LogLine {
            stream: if i % 7 == 3 {
                LogStreamKind::Stderr
            } else {
                LogStreamKind::Stdout
            },
            time: Some(fixed_now() - chrono::Duration::seconds(400 - i * 10)),
            text: if i % 7 == 3 {
                format!("{name}: warning: slow request #{i} took {}ms", 200 + i * 13)
            } else {
                format!("{name}: GET /api/items/{i} 200 {}B", 512 + i * 31)
            },
        })
        .collect();
    FakeContainer {
        summary: ContainerSummary {
            id: Some(id),
            names: Some(vec![format!("/{name}")]),
            image: Some(image.to_string()),
            image_id: Some(format!("sha256:{}", "ab".repeat(32))),
            command: Some(command.to_string()),
            created: Some(fixed_now().timestamp() - age_secs),
            ports: Some(ports),
            labels: Some(HashMap::new()),
            state: Some(state),
            status: Some(status.to_string()),
            ..Default::default()
        },
        env: vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            format!("SERVICE={name}"),
        ],
        logs,
        stats_calls: 0,
    }
}

fn image(n: u8, tags: &[&str], size: i64, age_days: i64) -> ImageSummary {
    ImageSummary {
        id: format!("sha256:{:02x}{}", n, "c0ffee42".repeat(8))
            .chars()
            .take(71)
            .collect(),
        parent_id: String::new(),
        repo_tags: tags.iter().map(|t| t.to_string()).collect(),
        repo_digests: vec![],
        created: fixed_now().timestamp() - age_days * 86400,
        size,
        shared_size: -1,
        labels: HashMap::new(),
        containers: -1,
        ..Default::default()
    }
}

/// A fake network: name, driver, subnet, internal, member container names.
fn network(
    name: &str,
    driver: &str,
    subnet: Option<&str>,
    internal: bool,
    members: &[&str],
) -> NetworkInspect {
    let id = format!("{:0<64}", hex_name(name));
    let containers = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                format!("{:0<64}", hex_name(m)),
                bollard::models::EndpointResource {
                    name: Some((*m).to_string()),
                    ipv4_address: subnet.map(|s| {
                        let base = s.rsplit_once('.').map(|(b, _)| b).unwrap_or(s);
                        format!("{base}.{}/24", i + 2)
                    }),
                    ..Default::default()
                },
            )
        })
        .collect();
    serde_json::from_value(json!({
        "Name": name,
        "Id": id,
        "Created": (fixed_now() - chrono::Duration::days(20)).to_rfc3339(),
        "Scope": "local",
        "Driver": driver,
        "Internal": internal,
        "IPAM": {"Driver": "default", "Config": subnet.map(|s| vec![json!({"Subnet": s, "Gateway": s.replace(".0/24", ".1")})]).unwrap_or_default()},
    }))
    .map(|mut n: NetworkInspect| {
        n.containers = Some(containers);
        n
    })
    .unwrap_or_default()
}

/// A name as hex digits, for stable fake ids.
fn hex_name(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

fn volume(name: &str, age_days: i64) -> Volume {
    Volume {
        name: name.to_string(),
        driver: "local".into(),
        mountpoint: format!("/var/lib/berth/volumes/{name}/_data"),
        created_at: Some(
            (fixed_now() - chrono::Duration::days(age_days))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        labels: HashMap::new(),
        scope: Some(VolumeScopeEnum::LOCAL),
        options: HashMap::new(),
        ..Default::default()
    }
}

fn event(kind: EventMessageTypeEnum, action: &str, id: &str, name: &str, t: i64) -> EventMessage {
    let mut attrs = HashMap::new();
    attrs.insert("name".to_string(), name.to_string());
    EventMessage {
        typ: Some(kind),
        action: Some(action.to_string()),
        actor: Some(EventActor {
            id: Some(id.to_string()),
            attributes: Some(attrs),
        }),
        scope: Some(EventMessageScopeEnum::LOCAL),
        time: Some(t),
        time_nano: Some(t * 1_000_000_000),
    }
}

impl FakeClient {
    /// Seven containers in every state, six images, three volumes and some history.
    pub fn demo() -> Self {
        use ContainerSummaryStateEnum as S;
        let containers = vec![
            container(
                1,
                "web",
                "nginx:1.27",
                "nginx -g 'daemon off;'",
                S::RUNNING,
                "Up 2 hours",
                vec![port(80, Some(8080), "0.0.0.0"), port(443, None, "")],
                7300,
            ),
            container(
                2,
                "api",
                "berth/api:2.1",
                "/app/server --port 3000",
                S::RUNNING,
                "Up 2 hours",
                vec![port(3000, Some(3000), "127.0.0.1")],
                7400,
            ),
            container(
                3,
                "worker",
                "busybox:latest",
                "sh -c 'while true; do work; done'",
                S::RUNNING,
                "Up 5 minutes",
                vec![],
                320,
            ),
            container(
                4,
                "db",
                "postgres:16",
                "docker-entrypoint.sh postgres",
                S::PAUSED,
                "Up 3 days (Paused)",
                vec![port(5432, None, "")],
                260_000,
            ),
            container(
                5,
                "migrate",
                "berth/api:2.1",
                "/app/migrate up",
                S::EXITED,
                "Exited (0) 2 hours ago",
                vec![],
                7500,
            ),
            container(
                6,
                "cron",
                "busybox:latest",
                "crond -f",
                S::CREATED,
                "Created",
                vec![],
                90,
            ),
            container(
                7,
                "broken-build",
                "alpine:3.20",
                "sh -c 'make all'",
                S::EXITED,
                "Exited (137) 1 day ago",
                vec![],
                90_000,
            ),
        ];
        let images = vec![
            image(1, &["nginx:1.27"], 187_654_321, 20),
            image(2, &["postgres:16"], 438_000_000, 45),
            image(3, &["busybox:latest"], 4_261_550, 400),
            image(4, &["alpine:3.20"], 7_800_000, 90),
            image(5, &["berth/api:2.1", "berth/api:latest"], 96_500_000, 2),
            image(6, &[], 12_000_000, 9),
        ];
        let volumes = vec![
            volume("pgdata", 30),
            volume("web-static", 12),
            volume(&"3f9a".repeat(16), 3),
        ];
        let networks = vec![
            network(
                "bridge",
                "bridge",
                Some("172.17.0.0/24"),
                false,
                &["worker"],
            ),
            network("host", "host", None, false, &[]),
            network("none", "null", None, false, &[]),
            network(
                "shop",
                "bridge",
                Some("172.18.0.0/24"),
                false,
                &["web", "db"],
            ),
            network("vault", "bridge", Some("172.19.0.0/24"), true, &[]),
        ];
        let t0 = fixed_now().timestamp();
        let id = |i: usize| containers[i].summary.id.clone().unwrap_or_default();
        let events = vec![
            event(
                EventMessageTypeEnum::IMAGE,
                "load",
                "sha256:03c0ffee",
                "busybox:latest",
                t0 - 7800,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "create",
                &id(0),
                "web",
                t0 - 7300,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "start",
                &id(0),
                "web",
                t0 - 7299,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "create",
                &id(1),
                "api",
                t0 - 7400,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "start",
                &id(1),
                "api",
                t0 - 7399,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "die",
                &id(4),
                "migrate",
                t0 - 7200,
            ),
            event(
                EventMessageTypeEnum::VOLUME,
                "create",
                "pgdata",
                "pgdata",
                t0 - 3600,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "pause",
                &id(3),
                "db",
                t0 - 600,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "start",
                &id(2),
                "worker",
                t0 - 300,
            ),
            event(
                EventMessageTypeEnum::CONTAINER,
                "create",
                &id(5),
                "cron",
                t0 - 90,
            ),
        ];
        let (live, _) = broadcast::channel(256);
        FakeClient {
            state: Arc::new(Mutex::new(State {
                containers,
                images,
                volumes,
                networks,
                events,
                calls: Vec::new(),
                fail_next: None,
                clock: t0,
            })),
            live,
        }
    }

    /// An engine with nothing in it.
    pub fn empty() -> Self {
        let c = Self::demo();
        {
            let mut s = c.lock();
            s.containers.clear();
            s.images.clear();
            s.volumes.clear();
            s.networks.clear();
            s.events.clear();
        }
        c
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves usable data behind.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The mutating calls made so far, as "verb target" strings.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Appends a record to a container's log (for tests of how lines are drawn).
    pub fn add_log(&self, id: &str, line: LogLine) -> Result<()> {
        let mut s = self.lock();
        Self::find(&mut s, id)?.logs.push(line);
        Ok(())
    }

    /// Makes the next call with this verb ("stop", "rm", ...) fail with a conflict.
    pub fn fail_next(&self, verb: &str) {
        self.lock().fail_next = Some(verb.to_string());
    }

    /// Records a call and applies the failure injected for its verb, if any.
    fn record(&self, verb: &str, target: &str) -> Result<()> {
        let mut s = self.lock();
        s.calls.push(format!("{verb} {target}"));
        if s.fail_next.as_deref() == Some(verb) {
            s.fail_next = None;
            return Err(ClientError::conflict(format!(
                "cannot {verb} {target}: injected failure"
            )));
        }
        Ok(())
    }

    fn emit(&self, kind: EventMessageTypeEnum, action: &str, id: &str, name: &str) {
        let ev = {
            let mut s = self.lock();
            s.clock += 1;
            let ev = event(kind, action, id, name, s.clock);
            s.events.push(ev.clone());
            ev
        };
        // No subscriber is fine: the event is in the history.
        let _ = self.live.send(ev);
    }

    fn find<'a>(s: &'a mut State, id: &str) -> Result<&'a mut FakeContainer> {
        s.containers
            .iter_mut()
            .find(|c| {
                c.summary.id.as_deref() == Some(id)
                    || c.summary
                        .names
                        .iter()
                        .flatten()
                        .any(|n| n.trim_start_matches('/') == id)
            })
            .ok_or_else(|| ClientError::not_found(format!("No such container: {id}")))
    }
}

/// The fake's interactive process: a line-at-a-time shell that echoes what is typed,
/// answers `echo ...`, exits on `exit`, and logs resizes as calls. With `shell` false
/// it is an attach: the container's last log lines, then whatever is typed, echoed.
fn fake_session(client: FakeClient, name: String, shell: bool, greeting: Vec<u8>) -> Session {
    let (out_tx, out_rx) = tokio::sync::mpsc::channel(64);
    let (in_tx, mut in_rx) = tokio::sync::mpsc::unbounded_channel();
    let prompt = format!("{name}:/# ").into_bytes();
    tokio::spawn(async move {
        let mut first = greeting;
        if shell {
            first.extend_from_slice(&prompt);
        }
        if out_tx.send(Ok(SessionOutput::Stdout(first))).await.is_err() {
            return;
        }
        let mut line = String::new();
        while let Some(input) = in_rx.recv().await {
            let data = match input {
                SessionInput::Resize { rows, cols } => {
                    client
                        .lock()
                        .calls
                        .push(format!("resize {name} {rows}x{cols}"));
                    continue;
                }
                SessionInput::Stdin(d) => d,
            };
            let mut out = Vec::new();
            let mut exited = None;
            for b in data {
                match b {
                    b'\r' | b'\n' => {
                        out.extend_from_slice(b"\r\n");
                        let cmd = std::mem::take(&mut line);
                        let cmd = cmd.trim();
                        if !shell {
                            continue;
                        }
                        if cmd == "exit" {
                            exited = Some(0);
                            break;
                        }
                        if let Some(rest) = cmd.strip_prefix("echo ") {
                            out.extend_from_slice(rest.as_bytes());
                            out.extend_from_slice(b"\r\n");
                        } else if !cmd.is_empty() {
                            out.extend_from_slice(format!("sh: {cmd}: not found\r\n").as_bytes());
                        }
                        out.extend_from_slice(&prompt);
                    }
                    0x7f | 0x08 => {
                        if line.pop().is_some() {
                            out.extend_from_slice(b"\x08 \x08");
                        }
                    }
                    b if b >= 0x20 => {
                        line.push(char::from(b));
                        out.push(b);
                    }
                    // Other control bytes (arrows, ctrl keys) are noted, not echoed.
                    b => client.lock().calls.push(format!("ctrl {name} {b:#04x}")),
                }
            }
            if !out.is_empty() && out_tx.send(Ok(SessionOutput::Stdout(out))).await.is_err() {
                return;
            }
            if let Some(code) = exited {
                let _ = out_tx.send(Ok(SessionOutput::Exited(Some(code)))).await;
                return;
            }
        }
    });
    Session {
        output: Box::pin(futures::stream::unfold(out_rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })),
        input: in_tx,
    }
}

fn name_of(c: &FakeContainer) -> String {
    c.summary
        .names
        .iter()
        .flatten()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

#[async_trait]
impl Client for FakeClient {
    fn describe(&self) -> String {
        "fake engine".into()
    }

    async fn containers(&self) -> Result<Vec<ContainerSummary>> {
        Ok(self
            .lock()
            .containers
            .iter()
            .map(|c| c.summary.clone())
            .collect())
    }

    async fn container_inspect(&self, id: &str) -> Result<ContainerInspectResponse> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        let sum = &c.summary;
        let state = sum.state.map(|s| s.to_string()).unwrap_or_default();
        let mut bindings = BTreeMap::new();
        for p in sum.ports.iter().flatten() {
            let host = p
                .public_port
                .map(|hp| json!([{ "HostIp": p.ip.clone().unwrap_or_default(), "HostPort": hp.to_string() }]));
            bindings.insert(
                format!("{}/tcp", p.private_port),
                host.unwrap_or(json!(null)),
            );
        }
        let started = DateTime::from_timestamp(sum.created.unwrap_or(0), 0)
            .unwrap_or(DateTime::UNIX_EPOCH)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let v = json!({
            "Id": sum.id,
            "Created": started,
            "Path": sum.command.as_deref().unwrap_or("").split(' ').next().unwrap_or(""),
            "Args": sum.command.as_deref().unwrap_or("").split(' ').skip(1).collect::<Vec<_>>(),
            "State": {
                "Status": state,
                "Running": state == "running" || state == "paused",
                "Paused": state == "paused",
                "Restarting": false,
                "OOMKilled": false,
                "Dead": false,
                "Pid": if state == "running" { 4242 } else { 0 },
                "ExitCode": 0,
                "Error": "",
                "StartedAt": started,
                "FinishedAt": "0001-01-01T00:00:00Z"
            },
            "Image": sum.image_id,
            "Name": format!("/{}", name_of(c)),
            "RestartCount": 0,
            "Driver": "overlay",
            "Platform": "linux",
            "HostConfig": { "NetworkMode": "none", "PortBindings": bindings },
            "Mounts": if name_of(c) == "db" {
                json!([{ "Type": "volume", "Name": "pgdata", "Source": "/var/lib/berth/volumes/pgdata/_data",
                         "Destination": "/var/lib/postgresql/data", "Driver": "local", "Mode": "z",
                         "RW": true, "Propagation": "" }])
            } else { json!([]) },
            "Config": {
                "Hostname": sum.id.as_deref().unwrap_or("").chars().take(12).collect::<String>(),
                "Image": sum.image,
                "Env": c.env,
                "Cmd": sum.command.as_deref().unwrap_or("").split(' ').collect::<Vec<_>>(),
                "Labels": {}
            }
        });
        serde_json::from_value(v).map_err(|e| ClientError::other(format!("fake inspect: {e}")))
    }

    async fn container_action(&self, id: &str, action: ContainerAction) -> Result<()> {
        use ContainerSummaryStateEnum as S;
        self.record(action.verb(), id)?;
        let (cid, name, event) = {
            let mut s = self.lock();
            let c = Self::find(&mut s, id)?;
            let cur = c.summary.state.unwrap_or(S::EMPTY);
            let (state, status, event) = match action {
                ContainerAction::Start | ContainerAction::Restart => {
                    (S::RUNNING, "Up Less than a second", "start")
                }
                ContainerAction::Stop => (S::EXITED, "Exited (0) Less than a second ago", "stop"),
                ContainerAction::Kill => (S::EXITED, "Exited (137) Less than a second ago", "kill"),
                ContainerAction::Pause => {
                    if cur != S::RUNNING {
                        return Err(ClientError::conflict(format!(
                            "Container {id} is not running"
                        )));
                    }
                    (S::PAUSED, "Up Less than a second (Paused)", "pause")
                }
                ContainerAction::Unpause => (S::RUNNING, "Up Less than a second", "unpause"),
            };
            c.summary.state = Some(state);
            c.summary.status = Some(status.to_string());
            (c.summary.id.clone().unwrap_or_default(), name_of(c), event)
        };
        self.emit(EventMessageTypeEnum::CONTAINER, event, &cid, &name);
        Ok(())
    }

    async fn container_remove(&self, id: &str, force: bool) -> Result<()> {
        self.record("rm", id)?;
        let (cid, name) = {
            let mut s = self.lock();
            let c = Self::find(&mut s, id)?;
            let running = matches!(
                c.summary.state,
                Some(ContainerSummaryStateEnum::RUNNING) | Some(ContainerSummaryStateEnum::PAUSED)
            );
            if running && !force {
                return Err(ClientError::conflict(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    name_of(c)
                )));
            }
            let cid = c.summary.id.clone().unwrap_or_default();
            let name = name_of(c);
            s.containers
                .retain(|c| c.summary.id.as_deref() != Some(cid.as_str()));
            (cid, name)
        };
        self.emit(EventMessageTypeEnum::CONTAINER, "destroy", &cid, &name);
        Ok(())
    }

    async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        self.record("rename", &format!("{id} {new_name}"))?;
        let (cid, name) = {
            let mut s = self.lock();
            if s.containers.iter().any(|c| name_of(c) == new_name) {
                return Err(ClientError::conflict(format!(
                    "Conflict. The container name \"/{new_name}\" is already in use"
                )));
            }
            let c = Self::find(&mut s, id)?;
            c.summary.names = Some(vec![format!("/{new_name}")]);
            (
                c.summary.id.clone().unwrap_or_default(),
                new_name.to_string(),
            )
        };
        self.emit(EventMessageTypeEnum::CONTAINER, "rename", &cid, &name);
        Ok(())
    }

    async fn container_create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
    ) -> Result<String> {
        let name = name.unwrap_or_else(|| "new-container".into());
        self.record("create", &name)?;
        let image = body.image.unwrap_or_default();
        let n = self.lock().containers.len() as u8 + 1;
        let c = container(
            n,
            &name,
            &image,
            &body.cmd.unwrap_or_default().join(" "),
            ContainerSummaryStateEnum::CREATED,
            "Created",
            vec![],
            0,
        );
        let id = c.summary.id.clone().unwrap_or_default();
        self.lock().containers.insert(0, c);
        self.emit(EventMessageTypeEnum::CONTAINER, "create", &id, &name);
        Ok(id)
    }

    async fn logs(&self, id: &str, req: LogRequest) -> Result<BoxStream<LogLine>> {
        let lines = {
            let mut s = self.lock();
            let c = Self::find(&mut s, id)?;
            let upto = match req.until {
                Some(u) => c.logs.partition_point(|l| l.time.is_none_or(|t| t <= u)),
                None => c.logs.len(),
            };
            let skip = req.tail.map(|t| upto.saturating_sub(t)).unwrap_or(0);
            c.logs[skip..upto].to_vec()
        };
        // Finite even with follow: tests must be able to wait for the stream to end.
        Ok(Box::pin(futures::stream::iter(lines.into_iter().map(Ok))))
    }

    async fn stats(&self, id: &str) -> Result<StatsSample> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        if c.summary.state != Some(ContainerSummaryStateEnum::RUNNING) {
            return Ok(StatsSample::default());
        }
        c.stats_calls += 1;
        let i = c.stats_calls;
        let seed = u64::from(c.summary.id.as_deref().unwrap_or("0").as_bytes()[1]);
        // A fixed, wavy series per container: same calls, same numbers.
        let cpu = ((seed * 7 + i * 13) % 40) as f64 + ((i * 3) % 10) as f64 / 10.0;
        let mem = (seed * 1_000_000 + (i % 5) * 2_500_000) * 3;
        Ok(StatsSample {
            cpu_percent: cpu,
            mem_used: mem,
            mem_limit: 2_000_000_000,
            mem_percent: mem as f64 / 2_000_000_000.0 * 100.0,
            net_rx: 1_200_000 * i,
            net_tx: 300_000 * i,
            block_read: 4_000_000,
            block_write: 120_000 * i,
            pids: 3 + seed % 5,
        })
    }

    async fn top(&self, id: &str) -> Result<ContainerTopResponse> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        if c.summary.state != Some(ContainerSummaryStateEnum::RUNNING) {
            return Err(ClientError::conflict(format!(
                "Container {id} is not running"
            )));
        }
        let cmd = c.summary.command.clone().unwrap_or_default();
        Ok(ContainerTopResponse {
            titles: Some(
                ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            processes: Some(vec![
                [
                    "root",
                    "4242",
                    "4230",
                    "0",
                    "10:00",
                    "?",
                    "00:00:01",
                    cmd.as_str(),
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                [
                    "root", "4250", "4242", "0", "10:00", "?", "00:00:00", "sleep 5",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ]),
        })
    }

    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session> {
        let name = {
            let mut s = self.lock();
            let c = Self::find(&mut s, id)?;
            if c.summary.state != Some(ContainerSummaryStateEnum::RUNNING) {
                return Err(ClientError::conflict(format!(
                    "container {id} is not running"
                )));
            }
            name_of(c)
        };
        self.record("exec", &format!("{name} {}", opts.cmd.join(" ")))?;
        Ok(fake_session(self.clone(), name, true, Vec::new()))
    }

    async fn attach_session(&self, id: &str) -> Result<Session> {
        let (name, greeting) = {
            let mut s = self.lock();
            let c = Self::find(&mut s, id)?;
            if c.summary.state != Some(ContainerSummaryStateEnum::RUNNING) {
                return Err(ClientError::conflict(format!(
                    "You cannot attach to a stopped container {id}, start it first"
                )));
            }
            let skip = c.logs.len().saturating_sub(3);
            let mut greeting = Vec::new();
            for l in &c.logs[skip..] {
                greeting.extend_from_slice(l.text.as_bytes());
                greeting.extend_from_slice(b"\r\n");
            }
            (name_of(c), greeting)
        };
        self.record("attach", &name)?;
        Ok(fake_session(self.clone(), name, false, greeting))
    }

    async fn images(&self) -> Result<Vec<ImageSummary>> {
        Ok(self.lock().images.clone())
    }

    async fn image_inspect(&self, id: &str) -> Result<ImageInspect> {
        let s = self.lock();
        let img = s
            .images
            .iter()
            .find(|i| i.id == id || i.repo_tags.iter().any(|t| t == id))
            .ok_or_else(|| ClientError::not_found(format!("No such image: {id}")))?;
        let v = json!({
            "Id": img.id,
            "RepoTags": img.repo_tags,
            "RepoDigests": [],
            "Created": DateTime::from_timestamp(img.created, 0).unwrap_or(DateTime::UNIX_EPOCH)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "Architecture": "amd64",
            "Os": "linux",
            "Size": img.size,
            "Config": { "Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"] },
            "RootFS": { "Type": "layers", "Layers": [format!("sha256:{}", "d1".repeat(32))] }
        });
        serde_json::from_value(v).map_err(|e| ClientError::other(format!("fake inspect: {e}")))
    }

    async fn image_remove(&self, id: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        self.record("rmi", id)?;
        let removed = {
            let mut s = self.lock();
            let pos = s
                .images
                .iter()
                .position(|i| i.id == id || i.repo_tags.iter().any(|t| t == id))
                .ok_or_else(|| ClientError::not_found(format!("No such image: {id}")))?;
            let img = s.images[pos].clone();
            let used = s.containers.iter().any(|c| {
                img.repo_tags
                    .iter()
                    .any(|t| Some(t) == c.summary.image.as_ref())
            });
            if used && !force {
                return Err(ClientError::conflict(format!(
                    "conflict: unable to remove repository reference \"{}\" - container is using its referenced image",
                    img.repo_tags.first().cloned().unwrap_or_else(|| img.id.clone())
                )));
            }
            s.images.remove(pos);
            img
        };
        self.emit(
            EventMessageTypeEnum::IMAGE,
            "delete",
            &removed.id,
            &removed.id,
        );
        Ok(vec![ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(removed.id),
        }])
    }

    async fn image_tag(&self, id: &str, target: &str) -> Result<()> {
        self.record("tag", &format!("{id} {target}"))?;
        let iid = {
            let mut s = self.lock();
            let img = s
                .images
                .iter_mut()
                .find(|i| i.id == id || i.repo_tags.iter().any(|t| t == id))
                .ok_or_else(|| ClientError::not_found(format!("No such image: {id}")))?;
            img.repo_tags.push(target.to_string());
            img.id.clone()
        };
        self.emit(EventMessageTypeEnum::IMAGE, "tag", &iid, target);
        Ok(())
    }

    async fn image_prune(&self, _all: bool) -> Result<ImagePruneResponse> {
        self.record("image-prune", "")?;
        let mut s = self.lock();
        let (gone, kept): (Vec<_>, Vec<_>) =
            s.images.drain(..).partition(|i| i.repo_tags.is_empty());
        s.images = kept;
        Ok(ImagePruneResponse {
            space_reclaimed: Some(gone.iter().map(|i| i.size).sum()),
            images_deleted: Some(
                gone.into_iter()
                    .map(|i| ImageDeleteResponseItem {
                        untagged: None,
                        deleted: Some(i.id),
                    })
                    .collect(),
            ),
        })
    }

    async fn image_layers(&self, id: &str) -> Result<ImageLayers> {
        let known = self
            .lock()
            .images
            .iter()
            .any(|i| i.id == id || i.repo_tags.iter().any(|t| t == id));
        if !known {
            return Err(ClientError::not_found(format!("No such image: {id}")));
        }
        use FileChangeKind::{Added as A, Modified as M, Removed as R};
        let change = |path: &str, kind, dir, size| FileChange {
            path: path.to_string(),
            kind,
            dir,
            size,
        };
        let step = |created_by: &str, size, changes: Vec<FileChange>| LayerInfo {
            created_by: created_by.to_string(),
            size,
            empty: changes.is_empty(),
            changes,
        };
        // A small Dockerfile's worth: a base, a package cache that a later step
        // removes (wasted space), a changed file, and metadata-only steps.
        Ok(ImageLayers::new(vec![
            step(
                "/bin/sh -c #(nop) ADD file:0a1b2c3d in / ",
                1_262_000,
                vec![
                    change("/bin", A, true, 0),
                    change("/bin/busybox", A, false, 1_200_000),
                    change("/bin/sh", A, false, 0),
                    change("/etc", A, true, 0),
                    change("/etc/group", A, false, 4_000),
                    change("/etc/passwd", A, false, 8_000),
                    change("/lib", A, true, 0),
                    change("/lib/libc.so.6", A, false, 50_000),
                ],
            ),
            step(
                "/bin/sh -c apt-get update && apt-get install -y curl",
                5_620_000,
                vec![
                    change("/etc", M, true, 0),
                    change("/etc/passwd", M, false, 8_200),
                    change("/usr", A, true, 0),
                    change("/usr/bin", A, true, 0),
                    change("/usr/bin/curl", A, false, 320_000),
                    change("/var", A, true, 0),
                    change("/var/lib", A, true, 0),
                    change("/var/lib/apt", A, true, 0),
                    change("/var/lib/apt/lists", A, true, 0),
                    change("/var/lib/apt/lists/main_Packages", A, false, 4_900_000),
                    change("/var/lib/apt/lists/security_Packages", A, false, 400_000),
                ],
            ),
            step("/bin/sh -c #(nop)  ENV LANG=C.UTF-8", 0, vec![]),
            step(
                "/bin/sh -c rm -rf /var/lib/apt/lists/*",
                0,
                vec![
                    change("/var", M, true, 0),
                    change("/var/lib", M, true, 0),
                    change("/var/lib/apt", M, true, 0),
                    change("/var/lib/apt/lists", M, true, 0),
                    change("/var/lib/apt/lists/main_Packages", R, false, 4_900_000),
                    change("/var/lib/apt/lists/security_Packages", R, false, 400_000),
                ],
            ),
            step("/bin/sh -c #(nop)  CMD [\"sh\"]", 0, vec![]),
        ]))
    }

    async fn volumes(&self) -> Result<Vec<Volume>> {
        Ok(self.lock().volumes.clone())
    }

    async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.lock()
            .volumes
            .iter()
            .find(|v| v.name == name)
            .cloned()
            .ok_or_else(|| ClientError::not_found(format!("get {name}: no such volume")))
    }

    async fn volume_create(&self, name: Option<String>) -> Result<Volume> {
        let name = name.unwrap_or_else(|| "5eed".repeat(16));
        self.record("volume-create", &name)?;
        let v = volume(&name, 0);
        {
            let mut s = self.lock();
            if let Some(existing) = s.volumes.iter().find(|x| x.name == name) {
                return Ok(existing.clone());
            }
            s.volumes.push(v.clone());
        }
        self.emit(EventMessageTypeEnum::VOLUME, "create", &name, &name);
        Ok(v)
    }

    async fn volume_remove(&self, name: &str, _force: bool) -> Result<()> {
        self.record("volume-rm", name)?;
        {
            let mut s = self.lock();
            let before = s.volumes.len();
            s.volumes.retain(|v| v.name != name);
            if s.volumes.len() == before {
                return Err(ClientError::not_found(format!(
                    "get {name}: no such volume"
                )));
            }
        }
        self.emit(EventMessageTypeEnum::VOLUME, "destroy", name, name);
        Ok(())
    }

    async fn volume_prune(&self) -> Result<VolumePruneResponse> {
        self.record("volume-prune", "")?;
        let mut s = self.lock();
        // Anonymous volumes have 64-hex names.
        let (gone, kept): (Vec<_>, Vec<_>) = s
            .volumes
            .drain(..)
            .partition(|v| v.name.len() == 64 && v.name.chars().all(|c| c.is_ascii_hexdigit()));
        s.volumes = kept;
        Ok(VolumePruneResponse {
            volumes_deleted: Some(gone.into_iter().map(|v| v.name).collect()),
            space_reclaimed: Some(0),
        })
    }

    async fn image_pull(&self, reference: &str) -> Result<BoxStream<CreateImageInfo>> {
        self.record("pull", reference)?;
        let step = |id: &str, status: &str, cur: i64, total: i64| CreateImageInfo {
            id: Some(id.to_string()),
            status: Some(status.to_string()),
            progress_detail: (total > 0).then_some(bollard::models::ProgressDetail {
                current: Some(cur),
                total: Some(total),
            }),
            ..Default::default()
        };
        let status = |s: String| CreateImageInfo {
            status: Some(s),
            ..Default::default()
        };
        let mut items = vec![
            status(format!("Pulling from {reference}")),
            step("a1b2c3d4e5f6", "Pulling fs layer", 0, 0),
            step("0f9e8d7c6b5a", "Pulling fs layer", 0, 0),
            step("a1b2c3d4e5f6", "Downloading", 1_200_000, 3_400_000),
            step("0f9e8d7c6b5a", "Downloading", 300_000, 900_000),
        ];
        if reference.starts_with("missing") {
            let msg = format!("pull access denied for {reference}, repository does not exist");
            items.push(CreateImageInfo {
                error_detail: Some(bollard::models::ErrorDetail {
                    code: None,
                    message: Some(msg),
                }),
                ..Default::default()
            });
        } else {
            items.push(step("a1b2c3d4e5f6", "Pull complete", 0, 0));
            items.push(step("0f9e8d7c6b5a", "Pull complete", 0, 0));
            items.push(status(format!(
                "Status: Downloaded newer image for {reference}"
            )));
            let mut s = self.lock();
            let n = s.images.len();
            s.images.push(image(
                u8::try_from(n + 1).unwrap_or(u8::MAX),
                &[reference],
                4_300_000,
                0,
            ));
        }
        Ok(Box::pin(futures::stream::iter(items.into_iter().map(Ok))))
    }

    async fn networks(&self) -> Result<Vec<NetworkInspect>> {
        Ok(self.lock().networks.clone())
    }

    async fn network_inspect(&self, id: &str) -> Result<NetworkInspect> {
        self.lock()
            .networks
            .iter()
            .find(|n| n.name.as_deref() == Some(id) || n.id.as_deref() == Some(id))
            .cloned()
            .ok_or_else(|| ClientError::not_found(format!("network {id} not found")))
    }

    async fn network_create(&self, name: &str, internal: bool) -> Result<String> {
        self.record("network-create", name)?;
        let n = network(name, "bridge", Some("172.20.0.0/24"), internal, &[]);
        let id = n.id.clone().unwrap_or_default();
        {
            let mut s = self.lock();
            if s.networks.iter().any(|x| x.name.as_deref() == Some(name)) {
                return Err(ClientError::conflict(format!(
                    "network with name {name} already exists"
                )));
            }
            s.networks.push(n);
        }
        self.emit(EventMessageTypeEnum::NETWORK, "create", &id, name);
        Ok(id)
    }

    async fn network_remove(&self, id: &str) -> Result<()> {
        self.record("network-rm", id)?;
        let name = {
            let mut s = self.lock();
            let Some(pos) = s
                .networks
                .iter()
                .position(|n| n.name.as_deref() == Some(id) || n.id.as_deref() == Some(id))
            else {
                return Err(ClientError::not_found(format!("network {id} not found")));
            };
            let n = &s.networks[pos];
            if n.containers.as_ref().is_some_and(|c| !c.is_empty()) {
                return Err(ClientError::conflict(format!(
                    "error while removing network: network {} has active endpoints",
                    n.name.clone().unwrap_or_default()
                )));
            }
            s.networks.remove(pos).name.unwrap_or_default()
        };
        self.emit(EventMessageTypeEnum::NETWORK, "destroy", id, &name);
        Ok(())
    }

    async fn network_prune(&self) -> Result<Vec<String>> {
        self.record("network-prune", "")?;
        let mut s = self.lock();
        let builtin =
            |n: &NetworkInspect| matches!(n.name.as_deref(), Some("bridge" | "host" | "none"));
        let (gone, kept): (Vec<_>, Vec<_>) = s
            .networks
            .drain(..)
            .partition(|n| !builtin(n) && n.containers.as_ref().is_none_or(|c| c.is_empty()));
        s.networks = kept;
        Ok(gone.into_iter().filter_map(|n| n.name).collect())
    }

    async fn events(&self, from: EventsFrom) -> Result<BoxStream<EventMessage>> {
        let past: Vec<EventMessage> = {
            let s = self.lock();
            match from {
                EventsFrom::Now => vec![],
                EventsFrom::Last(n) => s.events[s.events.len().saturating_sub(n)..].to_vec(),
            }
        };
        let rx = self.live.subscribe();
        let live = futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((Ok(ev), rx)),
                    // A slow reader misses some; the history still has them.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        use futures::StreamExt;
        Ok(Box::pin(
            futures::stream::iter(past.into_iter().map(Ok)).chain(live),
        ))
    }
}
