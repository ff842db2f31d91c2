//! `system df` and `demo`.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cli::output::render_rows;
use crate::cli::units::size4;
use crate::cli::{CliError, CliResult};
use crate::engine::system::UsageRow;
use crate::engine::Engine;

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(DfArgs),
    /// Get real time events from the engine
    Events(crate::cli::events::EventsArgs),
    /// Remove unused data: stopped containers, dangling images, unused anonymous volumes
    Prune(SystemPruneArgs),
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    volumes: bool,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    format: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// busybox binary to build the demo image from (must be statically linked)
    #[arg(long, default_value = "/bin/busybox")]
    busybox: std::path::PathBuf,
}

pub fn system_command(engine: &Engine, c: SystemCommand) -> CliResult {
    match c {
        SystemCommand::Df(a) => df(engine, a),
        SystemCommand::Events(a) => crate::cli::events::events(engine, a),
        SystemCommand::Prune(a) => prune(engine, a),
    }
}

fn row(kind: &str, u: &UsageRow) -> Value {
    let reclaimable = if u.size > 0 && u.reclaimable > 0 {
        format!(
            "{} ({}%)",
            size4(u.reclaimable),
            u.reclaimable * 100 / u.size
        )
    } else {
        size4(u.reclaimable)
    };
    json!({
        "Type": kind,
        "TotalCount": u.total.to_string(),
        "Active": u.active.to_string(),
        "Size": size4(u.size),
        "Reclaimable": reclaimable,
    })
}

pub fn df(engine: &Engine, a: DfArgs) -> CliResult {
    let du = engine.system_df()?;
    let rows = vec![
        row("Images", &du.images),
        row("Containers", &du.containers),
        row("Local Volumes", &du.volumes),
        row("Build Cache", &du.build_cache),
    ];
    let headers = json!({
        "Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
        "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
    });
    let default = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    let out = render_rows(a.format.as_deref(), default, &headers, &rows)?;
    print!("{out}");
    Ok(())
}

pub fn demo(engine: &Engine, a: DemoArgs) -> CliResult {
    match crate::demo::ensure_demo_image(engine, &a.busybox) {
        Ok(crate::demo::DemoImage::Existing(id)) => {
            println!("demo image {} is ready ({id})", crate::demo::DEMO_IMAGE);
            Ok(())
        }
        Ok(crate::demo::DemoImage::Built(id)) => {
            println!("built demo image {} ({id})", crate::demo::DEMO_IMAGE);
            Ok(())
        }
        Err(e) => Err(CliError::failed(e.to_string())),
    }
}

/// Docker's `system prune`: stopped containers, then dangling (or, with -a, unused)
/// images, and with --volumes the unused anonymous volumes.
fn prune(engine: &Engine, a: SystemPruneArgs) -> CliResult {
    let mut warning = String::from("WARNING! This will remove:\n  - all stopped containers\n");
    if a.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if a.all {
        "  - all images without at least one container associated to them\n"
    } else {
        "  - all dangling images\n"
    });
    if !a.force && !crate::cli::confirm(warning.trim_end()) {
        return Ok(());
    }
    let mut report = crate::cli::output::PruneReport::default();
    let (ids, bytes) = engine.container_prune()?;
    report.section("Containers", ids, bytes);
    if a.volumes {
        let (names, bytes) = engine.volume_prune(false)?;
        report.section("Volumes", names, bytes);
    }
    let (records, bytes) = engine.image_prune(a.all)?;
    report.images(&records, bytes);
    crate::cli::output::write_out(&report.finish())
}
