//! `create`: a container record from a request and its image, with the image's
//! defaults merged in the way Docker merges them, plus the generated /etc files.

use std::collections::HashMap;
use std::fs;

use bollard::models::ContainerCreateBody;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::config::RunConfig;
use crate::engine::image::digest::parse_digest;
use crate::engine::image::records::Images;
use crate::engine::runtime::container::{ContainerConfig, ContainerRecord, Containers, State};
use crate::engine::runtime::names;
use crate::engine::store::{ids, Store};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Image defaults under the user's choices: user env wins per key, a user Cmd replaces the
/// image's, a user Entrypoint replaces the image's and drops its Cmd.
pub fn merge_image_config(body: &mut ContainerCreateBody, img: &RunConfig) {
    let mut env: Vec<String> = img.env.clone().unwrap_or_default();
    for e in body.env.take().unwrap_or_default() {
        let key = e.split('=').next().unwrap_or_default().to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(e);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, format!("PATH={DEFAULT_PATH}"));
    }
    body.env = Some(env);
    let user_entrypoint = body.entrypoint.is_some();
    if !user_entrypoint {
        body.entrypoint = img.entrypoint.clone();
        if body.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            body.cmd = img.cmd.clone();
        }
    }
    // `--entrypoint ""` means "no entrypoint".
    if body
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        body.entrypoint = None;
    }
    if body.working_dir.as_deref().unwrap_or("").is_empty() {
        body.working_dir = img.working_dir.clone().filter(|w| !w.is_empty());
    }
    if body.user.as_deref().unwrap_or("").is_empty() {
        body.user = img.user.clone().filter(|u| !u.is_empty());
    }
    if body.stop_signal.is_none() {
        body.stop_signal = img.stop_signal.clone();
    }
    if let Some(ports) = &img.exposed_ports {
        let mine = body.exposed_ports.get_or_insert_with(Vec::new);
        for p in ports.keys() {
            if !mine.contains(p) {
                mine.push(p.clone());
            }
        }
    }
    if let Some(vols) = &img.volumes {
        let mine = body.volumes.get_or_insert_with(Vec::new);
        for v in vols.keys() {
            if !mine.contains(v) {
                mine.push(v.clone());
            }
        }
    }
    if let Some(labels) = &img.labels {
        let mine = body.labels.get_or_insert_with(HashMap::new);
        for (k, v) in labels {
            mine.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

pub struct CreateOptions {
    pub name: Option<String>,
    pub body: ContainerCreateBody,
}

pub fn create(store: &Store, opts: CreateOptions) -> Result<String> {
    let image_name = opts
        .body
        .image
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            Error::invalid("no image given: usage: create [OPTIONS] IMAGE [COMMAND] [ARG...]")
        })?;
    let images = Images::new(store);
    let image_id = images.resolve(&image_name)?;
    let image = images.get(&image_id)?;
    let containers = Containers::new(store);
    let name = match &opts.name {
        Some(n) => names::validate(n)?,
        None => loop {
            let n = names::random_name();
            if containers.resolve(&n).is_err() {
                break n;
            }
        },
    };
    let mut body = opts.body;
    let mut hc = body.host_config.take().unwrap_or_default();
    // Checked before anything is written (an unknown network fails the create).
    if let Some(net) = hc.network_mode.as_deref() {
        if !matches!(net, "" | "default" | "bridge" | "host" | "none")
            && !net.starts_with("container:")
        {
            crate::engine::network::get(store, net)?;
        }
    }
    if let Some(cfg) = &image.config.config {
        merge_image_config(&mut body, cfg);
    }
    let mut argv: Vec<String> = body.entrypoint.clone().unwrap_or_default();
    argv.extend(body.cmd.clone().unwrap_or_default());
    if argv.is_empty() {
        return Err(Error::invalid("no command specified"));
    }
    let id = ids::random_id();
    // Docker: a container sharing another's network takes that container's hostname.
    let shared_hostname = hc
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("container:"))
        .and_then(|t| {
            containers
                .resolve(t)
                .and_then(|id| containers.get(&id))
                .ok()
        })
        .and_then(|t| t.config.config.hostname);
    let hostname = body
        .hostname
        .clone()
        .filter(|h| !h.is_empty())
        .or(shared_hostname)
        .unwrap_or_else(|| ids::short_id(&id).to_string());
    body.hostname = Some(hostname.clone());
    body.image = Some(image_name);
    let dir = store.paths.containers().join(&id);
    for sub in ["", "upper", "work", "rootfs"] {
        fs::create_dir_all(dir.join(sub))
            .ctx(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let result = (|| {
        let lowers = image
            .layers
            .iter()
            .rev()
            .map(|c| Ok(store.paths.layer_diff(parse_digest(c)?)))
            .collect::<Result<Vec<_>>>()?;
        // Shared by the image's containers (its own only for an image without layers).
        let shared = crate::engine::runtime::initlayer::ensure_shared(&lowers, &store.paths.tmp())?;
        if !shared {
            crate::engine::runtime::initlayer::make(&dir, &lowers)?;
        }
        hc.network_mode = Some(crate::engine::network::plan_create(
            store,
            &id,
            &hc,
            body.networking_config.as_ref(),
        )?);
        let etc = crate::engine::network::etc::EtcInput {
            hostname: hostname.clone(),
            host_network: hc.network_mode.as_deref() == Some("host"),
            ..Default::default()
        };
        crate::engine::network::etc::write(&dir, &hc, &etc)?;
        let mounts = crate::engine::runtime::mounts::resolve(store, &body, &hc)?;
        let rec = ContainerRecord {
            id: id.clone(),
            name,
            created: crate::engine::image::config::now_rfc3339(),
            config: ContainerConfig {
                path: argv[0].clone(),
                args: argv[1..].to_vec(),
                config: body,
                host_config: hc,
                image: image_id,
                mounts,
                shared_init_layer: shared,
            },
            state: State::created(),
        };
        containers.insert(&rec)?;
        crate::engine::runtime::container::emit(store, &rec, "create", &[]);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = crate::engine::network::forget_container(store, &id);
        let _ = crate::engine::store::tmp::remove_tree(&dir);
        return Err(e);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_follows_docker() {
        let img = RunConfig {
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            cmd: Some(vec!["sh".into()]),
            entrypoint: Some(vec!["/init".into()]),
            working_dir: Some("/srv".into()),
            ..Default::default()
        };
        let mut b = ContainerCreateBody {
            env: Some(vec!["A=2".into(), "B=3".into()]),
            ..Default::default()
        };
        merge_image_config(&mut b, &img);
        assert_eq!(
            b.env,
            Some(vec!["PATH=/bin".into(), "A=2".into(), "B=3".into()])
        );
        assert_eq!(b.entrypoint, Some(vec!["/init".into()]));
        assert_eq!(b.cmd, Some(vec!["sh".into()]));
        assert_eq!(b.working_dir.as_deref(), Some("/srv"));

        // A user entrypoint drops the image's Cmd; "" clears the entrypoint.
        let mut b = ContainerCreateBody {
            entrypoint: Some(vec!["".into()]),
            ..Default::default()
        };
        merge_image_config(&mut b, &img);
        assert_eq!(b.entrypoint, None);
        assert_eq!(b.cmd, None);
        assert!(b.env.unwrap_or_default()[0].starts_with("PATH="));
    }
}
