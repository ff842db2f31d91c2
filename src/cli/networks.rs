//! `network create/ls/inspect/rm/prune/connect/disconnect`.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::output::{finish_batch, render_rows, write_out as out};
use crate::cli::{CliError, CliResult};
use crate::engine::network::CreateOptions;
use crate::engine::Engine;

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Vec<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Enable manual container attachment
    #[arg(long)]
    attachable: bool,
    /// Enable or disable IPv6 networking
    #[arg(long)]
    ipv6: bool,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    #[arg(value_name = "NETWORK")]
    name: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short, long)]
    verbose: bool,
    #[arg(required = true, value_name = "NETWORK")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias")]
    aliases: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    ip: Option<String>,
    /// Add link to another container
    #[arg(long)]
    link: Vec<String>,
    #[arg(value_name = "NETWORK")]
    network: String,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    #[arg(value_name = "NETWORK")]
    network: String,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

/// One value at most for flags Docker allows per subnet (berth networks have one).
fn single(v: &[String], flag: &str) -> CliResult<Option<String>> {
    match v {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(CliError::usage(format!(
            "berth networks have one IPv4 subnet: give --{flag} once"
        ))),
    }
}

pub fn network_command(engine: &Engine, c: NetworkCommand) -> CliResult {
    match c {
        NetworkCommand::Create(a) => {
            if a.ipv6 {
                return Err(CliError::failed(
                    "IPv6 networks are not supported by this build of berth",
                ));
            }
            let n = engine.network_create(CreateOptions {
                name: a.name,
                driver: Some(a.driver),
                subnet: single(&a.subnet, "subnet")?,
                gateway: single(&a.gateway, "gateway")?,
                ip_range: single(&a.ip_range, "ip-range")?,
                internal: a.internal,
                attachable: a.attachable,
                labels: crate::cli::volumes::pairs(&a.labels, "label")?,
                options: crate::cli::volumes::pairs(&a.opts, "option")?,
            })?;
            out(&format!("{}\n", n.id))
        }
        NetworkCommand::Ls(a) => ls(engine, a),
        NetworkCommand::Inspect(a) => {
            let _ = a.verbose;
            let mut found = Vec::new();
            let mut errors = Vec::new();
            for n in &a.names {
                match engine.network_inspect(n) {
                    Ok(v) => found.push(v),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if !found.is_empty() || a.format.is_none() {
                out(&crate::cli::output::render_inspect(
                    a.format.as_deref(),
                    &found,
                )?)?;
            }
            finish_batch(errors)
        }
        NetworkCommand::Rm(a) => {
            let mut errors = Vec::new();
            for n in &a.names {
                match engine.network_remove(n) {
                    Ok(()) => out(&format!("{n}\n"))?,
                    Err(crate::engine::error::Error::NotFound(_)) if a.force => {}
                    Err(e) => errors.push(e.to_string()),
                }
            }
            finish_batch(errors)
        }
        NetworkCommand::Prune(a) => {
            if !a.filter.is_empty() {
                return Err(CliError::failed(
                    "network prune filters are not supported by this build of berth",
                ));
            }
            if !a.force
                && !crate::cli::confirm(
                    "WARNING! This will remove all custom networks not used by at least one container.",
                )
            {
                return Ok(());
            }
            let names = engine.network_prune()?;
            let mut text = String::new();
            if !names.is_empty() {
                text.push_str("Deleted Networks:\n");
                for n in names {
                    text.push_str(&n);
                    text.push('\n');
                }
            }
            out(&text)
        }
        NetworkCommand::Connect(a) => {
            let settings = bollard::models::EndpointSettings {
                aliases: Some(a.aliases).filter(|v| !v.is_empty()),
                links: Some(a.link).filter(|v| !v.is_empty()),
                ipam_config: a.ip.map(|ip| bollard::models::EndpointIpamConfig {
                    ipv4_address: Some(ip),
                    ..Default::default()
                }),
                ..Default::default()
            };
            engine.network_connect(&a.network, &a.container, Some(&settings))?;
            Ok(())
        }
        NetworkCommand::Disconnect(a) => {
            engine.network_disconnect(&a.network, &a.container, a.force)?;
            Ok(())
        }
    }
}

/// Docker's `network ls` filters (shared with the API server).
pub(crate) fn network_matches(
    engine: &Engine,
    n: &crate::engine::network::records::Network,
    filters: &[(String, String)],
) -> crate::engine::error::Result<bool> {
    for (k, v) in filters {
        let keep = match k.as_str() {
            "driver" => n.config.driver == *v,
            "id" => n.id.starts_with(v.as_str()),
            "name" => n.name.contains(v.as_str()),
            "scope" => v == "local",
            "type" => match v.as_str() {
                "builtin" => n.is_builtin(),
                "custom" => !n.is_builtin(),
                _ => false,
            },
            "dangling" => {
                let unused = engine.network_users(&n.id)?.is_empty() && !n.is_builtin();
                matches!(v.as_str(), "true" | "1") == unused
            }
            _ => match v.split_once('=') {
                Some((lk, lv)) => n.config.labels.get(lk).map(String::as_str) == Some(lv),
                None => n.config.labels.contains_key(v),
            },
        };
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(engine: &Engine, a: LsArgs) -> CliResult {
    let mut filters: Vec<(String, String)> = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CliError::usage(format!("bad format of filter (expected name=value): {f}"))
        })?;
        if !matches!(
            k,
            "driver" | "id" | "label" | "name" | "scope" | "type" | "dangling"
        ) {
            return Err(CliError::failed(format!("invalid filter '{k}'")));
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let mut rows = Vec::new();
    for n in engine.network_list()? {
        if !network_matches(engine, &n, &filters)? {
            continue;
        }
        let labels: Vec<String> = n
            .config
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let id = if a.no_trunc {
            n.id.clone()
        } else {
            crate::engine::store::ids::short_id(&n.id).to_string()
        };
        rows.push(json!({
            "ID": id,
            "Name": n.name,
            "Driver": n.config.driver,
            "Scope": "local",
            "IPv6": "false",
            "IPv4": "true",
            "Internal": n.config.internal.to_string(),
            "Labels": labels.join(","),
            "CreatedAt": crate::cli::units::created_at(Some(&n.created)),
        }));
    }
    let headers = json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv6": "IPV6", "IPv4": "IPV4", "Internal": "INTERNAL", "Labels": "LABELS",
        "CreatedAt": "CREATED AT",
    });
    let default = if a.quiet {
        "{{.ID}}"
    } else {
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    };
    let format = if a.quiet { None } else { a.format.as_deref() };
    out(&render_rows(format, default, &headers, &rows)?)
}
