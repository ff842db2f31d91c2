//! Docker-shaped container views: `inspect` JSON and the fields `ps` shows.

use serde::Serialize;
use serde_json::{json, Value};

use crate::engine::runtime::container::{ContainerRecord, State};
use crate::engine::runtime::paths;
use crate::engine::store::Store;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: StateView,
    pub image: String,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub log_path: String,
    pub name: String,
    pub restart_count: i64,
    pub driver: String,
    pub platform: String,
    pub mount_label: String,
    pub process_label: String,
    pub app_armor_profile: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    pub host_config: Value,
    pub graph_driver: Value,
    pub mounts: Vec<crate::engine::runtime::mounts::MountPoint>,
    pub config: Value,
    pub network_settings: Value,
}

/// Docker's State object (without berth's bookkeeping fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateView {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

impl From<&State> for StateView {
    fn from(s: &State) -> Self {
        StateView {
            status: s.status.clone(),
            running: s.running,
            paused: s.paused,
            restarting: s.restarting,
            oom_killed: s.oom_killed,
            dead: s.dead,
            pid: s.pid,
            exit_code: s.exit_code,
            error: s.error.clone(),
            started_at: s.started_at.clone(),
            finished_at: s.finished_at.clone(),
        }
    }
}

pub fn inspect(store: &Store, rec: &ContainerRecord) -> ContainerInspect {
    let dir = paths::container_dir(store, &rec.id);
    let p = |f: &str| dir.join(f).display().to_string();
    let cfg = &rec.config;
    let mut config = serde_json::to_value(&cfg.config).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut config {
        m.remove("HostConfig");
        m.remove("NetworkingConfig");
    }
    let network_mode = cfg.host_config.network_mode.clone().unwrap_or_default();
    ContainerInspect {
        id: rec.id.clone(),
        created: rec.created.clone(),
        path: cfg.path.clone(),
        args: cfg.args.clone(),
        state: StateView::from(&rec.state),
        image: cfg.image.clone(),
        resolv_conf_path: p("resolv.conf"),
        hostname_path: p("hostname"),
        hosts_path: p("hosts"),
        log_path: paths::log_path(store, &rec.id).display().to_string(),
        name: format!("/{}", rec.name),
        restart_count: rec.state.restart_count,
        driver: "overlay".into(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        exec_ids: None,
        host_config: serde_json::to_value(&cfg.host_config).unwrap_or(Value::Null),
        graph_driver: json!({
            "Data": {
                "MergedDir": p("rootfs"),
                "UpperDir": p("upper"),
                "WorkDir": p("work"),
            },
            "Name": "overlay",
        }),
        mounts: cfg
            .mounts
            .iter()
            .cloned()
            .map(|mut m| {
                m.copy_up = false;
                m
            })
            .collect(),
        config,
        network_settings: crate::engine::network::settings_json(
            store,
            &rec.id,
            &network_mode,
            &rec.state.network,
            cfg.config.exposed_ports.as_deref().unwrap_or_default(),
            rec.state.running || rec.state.paused,
        ),
    }
}
