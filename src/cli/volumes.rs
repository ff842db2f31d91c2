//! `volume create/ls/inspect/rm/prune`.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::output::{finish_batch, render_inspect, render_rows, write_out as out};
use crate::cli::{CliError, CliResult};
use crate::engine::Engine;

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Specify volume name
    #[arg(long = "name")]
    name_flag: Option<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    opts: Vec<String>,
    #[arg(value_name = "VOLUME")]
    name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Provide filter values (dangling=true|false, name=, label=, driver=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    format: Option<String>,
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

/// `key=value` flags (`--label`, `-o`) as a map; a bare label key means an empty value.
pub(crate) fn pairs(list: &[String], what: &str) -> CliResult<BTreeMap<String, String>> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !kv.is_empty() && what == "label" => Ok((kv.clone(), String::new())),
            _ => Err(CliError::usage(format!(
                "invalid {what} {kv:?}: expected key=value"
            ))),
        })
        .collect()
}

pub fn volume_command(engine: &Engine, c: VolumeCommand) -> CliResult {
    match c {
        VolumeCommand::Create(a) => {
            if a.driver != "local" {
                return Err(CliError::failed(format!(
                    "error looking up volume plugin {}: plugin {:?} not found (berth has the local driver)",
                    a.driver, a.driver
                )));
            }
            if let (Some(f), Some(n)) = (&a.name_flag, &a.name) {
                if f != n {
                    return Err(CliError::usage(
                        "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
                    ));
                }
            }
            let name = a.name.or(a.name_flag);
            let v = engine.volume_create(
                name.as_deref(),
                pairs(&a.labels, "label")?,
                pairs(&a.opts, "option")?,
            )?;
            out(&format!("{}\n", v.name))
        }
        VolumeCommand::Ls(a) => ls(engine, a),
        VolumeCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            for n in &a.names {
                match engine.volume_inspect(n) {
                    Ok(v) => found.push(v),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if !found.is_empty() || a.format.is_none() {
                out(&render_inspect(a.format.as_deref(), &found)?)?;
            }
            finish_batch(errors)
        }
        VolumeCommand::Rm(a) => {
            let mut errors = Vec::new();
            for n in &a.names {
                match engine.volume_remove(n, a.force) {
                    Ok(()) => out(&format!("{n}\n"))?,
                    Err(e) => errors.push(e.to_string()),
                }
            }
            finish_batch(errors)
        }
        VolumeCommand::Prune(a) => {
            let warning = if a.all {
                "WARNING! This will remove all local volumes not used by at least one container."
            } else {
                "WARNING! This will remove anonymous local volumes not used by at least one container."
            };
            if !a.force && !crate::cli::confirm(warning) {
                return Ok(());
            }
            let (names, bytes) = engine.volume_prune(a.all)?;
            let mut report = crate::cli::output::PruneReport::default();
            report.section("Volumes", names, bytes);
            out(&report.finish())
        }
    }
}

/// `volume ls -f` (and the API's filters): dangling, name, driver, label.
pub(crate) fn volume_matches(
    engine: &Engine,
    v: &crate::engine::volume::Volume,
    filters: &[(String, String)],
) -> Result<bool, crate::engine::Error> {
    let mut keep = true;
    for (k, val) in filters {
        keep &= match k.as_str() {
            "dangling" => {
                let dangling = engine.volume_users(&v.name)?.is_empty();
                matches!(val.as_str(), "true" | "1") == dangling
            }
            "name" => v.name.contains(val.as_str()),
            "driver" => v.driver == *val,
            _ => match val.split_once('=') {
                Some((lk, lv)) => v.labels.get(lk).map(String::as_str) == Some(lv),
                None => v.labels.contains_key(val),
            },
        };
    }
    Ok(keep)
}

fn ls(engine: &Engine, a: LsArgs) -> CliResult {
    let mut filters = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            CliError::usage(format!("bad format of filter (expected name=value): {f}"))
        })?;
        if !matches!(k, "dangling" | "name" | "label" | "driver") {
            return Err(CliError::failed(format!("invalid filter '{k}'")));
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let mut rows = Vec::new();
    for v in engine.volume_list()? {
        if volume_matches(engine, &v, &filters)? {
            let labels: Vec<String> = v
                .labels
                .iter()
                .map(|(k, val)| format!("{k}={val}"))
                .collect();
            rows.push(json!({
                "Driver": v.driver,
                "Name": v.name,
                "Mountpoint": v.mountpoint,
                "Scope": v.scope,
                "Labels": labels.join(","),
            }));
        }
    }
    let headers = json!({
        "Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT",
        "Scope": "SCOPE", "Labels": "LABELS",
    });
    let default = if a.quiet {
        "{{.Name}}"
    } else {
        "table {{.Driver}}\t{{.Name}}"
    };
    let format = if a.quiet { None } else { a.format.as_deref() };
    out(&render_rows(format, default, &headers, &rows)?)
}
