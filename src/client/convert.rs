//! Engine records -> bollard models. Where the engine already serializes to Docker's
//! JSON (inspect, events), a serde round trip keeps the two schemas from drifting apart
//! silently: a field the models cannot take becomes an error, not a guess.

use std::collections::HashMap;

use bollard::models::{
    ContainerSummary, ContainerSummaryStateEnum, ContainerTopResponse, EventActor, EventMessage,
    EventMessageScopeEnum, EventMessageTypeEnum, ImageDeleteResponseItem, ImageSummary,
    PortSummary, PortSummaryTypeEnum, Volume, VolumeScopeEnum,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ClientError, ErrorKind};
use crate::engine::events::Event;
use crate::engine::image::records::{DeleteRecord, ImageRecord};
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::runtime::top::ProcessRow;
use crate::engine::volume::Volume as EngineVolume;
use crate::engine::Error as EngineError;

impl From<EngineError> for ClientError {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::InvalidArgument(_) => ErrorKind::Invalid,
            _ => ErrorKind::Other,
        };
        let message = if e.is_disk_full() {
            format!("{e} (the disk holding berth's state is full)")
        } else {
            e.to_string()
        };
        ClientError::new(kind, message)
    }
}

/// Serializes an engine view and reads it back as the bollard model of the same JSON.
pub fn round_trip<T: Serialize, M: DeserializeOwned>(what: &str, v: &T) -> Result<M, ClientError> {
    let json =
        serde_json::to_value(v).map_err(|e| ClientError::other(format!("encoding {what}: {e}")))?;
    serde_json::from_value(json)
        .map_err(|e| ClientError::other(format!("{what} does not fit Docker's schema: {e}")))
}

fn state_enum(rec: &ContainerRecord) -> ContainerSummaryStateEnum {
    let s = &rec.state;
    if s.restarting {
        return ContainerSummaryStateEnum::RESTARTING;
    }
    if s.paused {
        return ContainerSummaryStateEnum::PAUSED;
    }
    if s.running {
        return ContainerSummaryStateEnum::RUNNING;
    }
    match s.status.as_str() {
        "created" => ContainerSummaryStateEnum::CREATED,
        "removing" => ContainerSummaryStateEnum::REMOVING,
        "dead" => ContainerSummaryStateEnum::DEAD,
        _ => ContainerSummaryStateEnum::EXITED,
    }
}

/// Published ports as bound by the running container, then exposed ones.
fn ports(rec: &ContainerRecord) -> Vec<PortSummary> {
    let typ = |proto: &str| match proto {
        "udp" => PortSummaryTypeEnum::UDP,
        "sctp" => PortSummaryTypeEnum::SCTP,
        _ => PortSummaryTypeEnum::TCP,
    };
    let running = rec.state.running || rec.state.paused;
    let mut out: Vec<PortSummary> = rec
        .state
        .network
        .ports
        .iter()
        .filter(|_| running)
        .map(|p| PortSummary {
            ip: Some(p.host_ip.clone()).filter(|s| !s.is_empty()),
            private_port: p.container_port,
            public_port: Some(p.host_port),
            typ: Some(typ(&p.proto)),
        })
        .collect();
    for e in rec.config.config.exposed_ports.iter().flatten() {
        let (port, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        let Ok(private_port) = port.parse::<u16>() else {
            continue;
        };
        if !out.iter().any(|p| p.private_port == private_port) {
            out.push(PortSummary {
                ip: None,
                private_port,
                public_port: None,
                typ: Some(typ(proto)),
            });
        }
    }
    out.sort_by_key(|p| (p.private_port, p.public_port));
    out
}

pub fn container_summary(
    rec: &ContainerRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> ContainerSummary {
    let cfg = &rec.config;
    let mut command = cfg.path.clone();
    for a in &cfg.args {
        command.push(' ');
        command.push_str(a);
    }
    let created = crate::cli::units::parse_time(&rec.created)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let labels: HashMap<String, String> = cfg
        .config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    ContainerSummary {
        id: Some(rec.id.clone()),
        names: Some(vec![format!("/{}", rec.name)]),
        image: cfg.config.image.clone(),
        image_id: Some(cfg.image.clone()),
        command: Some(command),
        created: Some(created),
        ports: Some(ports(rec)),
        labels: Some(labels),
        state: Some(state_enum(rec)),
        status: Some(crate::cli::containers::status_text(rec, now)),
        ..Default::default()
    }
}

pub fn image_summary(img: &ImageRecord) -> ImageSummary {
    let labels: HashMap<String, String> = img
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    ImageSummary {
        id: img.id.clone(),
        parent_id: img.parent.clone().unwrap_or_default(),
        repo_tags: img.familiar_tags(),
        repo_digests: img.familiar_digests(),
        created: img.created_time().map(|t| t.timestamp()).unwrap_or(0),
        size: i64::try_from(img.size).unwrap_or(i64::MAX),
        // Docker reports -1 for "not computed".
        shared_size: -1,
        labels,
        containers: -1,
        ..Default::default()
    }
}

pub fn delete_items(records: &[DeleteRecord]) -> Vec<ImageDeleteResponseItem> {
    records
        .iter()
        .map(|r| match r {
            DeleteRecord::Untagged(t) => ImageDeleteResponseItem {
                untagged: Some(t.clone()),
                deleted: None,
            },
            DeleteRecord::Deleted(d) => ImageDeleteResponseItem {
                untagged: None,
                deleted: Some(d.clone()),
            },
        })
        .collect()
}

pub fn volume(v: &EngineVolume) -> Volume {
    Volume {
        name: v.name.clone(),
        driver: v.driver.clone(),
        mountpoint: v.mountpoint.clone(),
        created_at: Some(v.created_at.clone()),
        labels: v.labels.clone().into_iter().collect(),
        scope: Some(VolumeScopeEnum::LOCAL),
        options: v.options.clone().into_iter().collect(),
        ..Default::default()
    }
}

fn event_type(kind: &str) -> EventMessageTypeEnum {
    serde_json::from_value(serde_json::Value::String(kind.to_string()))
        .unwrap_or(EventMessageTypeEnum::EMPTY)
}

pub fn event(e: &Event) -> EventMessage {
    EventMessage {
        typ: Some(event_type(&e.kind)),
        action: Some(e.action.clone()),
        actor: Some(EventActor {
            id: Some(e.actor.id.clone()),
            attributes: Some(e.actor.attributes.clone().into_iter().collect()),
        }),
        scope: Some(EventMessageScopeEnum::LOCAL),
        time: Some(e.time),
        time_nano: Some(e.time_nano),
    }
}

/// `docker top`'s default `ps -ef` columns, from the engine's /proc rows.
pub fn top(rows: &[ProcessRow]) -> ContainerTopResponse {
    crate::engine::runtime::top::top_table(rows)
}

/// Docker's network inspect JSON (as the engine writes it) as bollard's model.
pub fn network(
    v: &serde_json::Value,
) -> crate::engine::error::Result<bollard::models::NetworkInspect> {
    serde_json::from_value(v.clone())
        .map_err(|e| crate::engine::error::Error::Other(format!("network record: {e}")))
}
