//! The `berth` command line: docker's command names, flags, output and exit codes,
//! driving the in-process engine.

pub mod gotemplate;
mod images;
pub mod output;
mod system;
pub mod units;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::{Engine, Error as EngineError};

/// A failed command: what to print and the exit status.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    /// Bad flags or arguments: docker exits 125 for these.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 125,
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        let message = if e.is_disk_full() {
            format!("{e} (the disk holding berth's state is full: free space and retry)")
        } else {
            e.to_string()
        };
        CliError { message, code: 1 }
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "A terminal console for containers, with its own Docker-compatible engine",
    disable_help_subcommand = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Keep all state (data and runtime files) under DIR instead of /var/lib/berth and /run/berth
    #[arg(long, global = true, env = "BERTH_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List images
    Images(images::ImagesArgs),
    /// Manage images
    #[command(subcommand)]
    Image(images::ImageCommand),
    /// Load images from a tar archive (docker-archive or OCI) or an OCI layout dir
    Load(images::LoadArgs),
    /// Save one or more images to a tar archive (streamed to stdout by default)
    Save(images::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(images::ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Remove one or more images
    Rmi(images::RmiArgs),
    /// Return low-level information on objects
    Inspect(images::InspectArgs),
    /// Show the history of an image
    History(images::HistoryArgs),
    /// Manage berth
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Show the berth version information
    Version,
    /// Prepare the demo image (built offline from the host's busybox-static)
    Demo(system::DemoArgs),
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 125,
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("Error: {}", e.message);
            }
            e.code
        }
    }
}

fn run(cli: Cli) -> CliResult {
    let Some(command) = cli.command else {
        return Ok(());
    };
    if let Command::Version = command {
        println!("berth version {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let engine = Engine::open(cli.root.as_deref())?;
    match command {
        Command::Images(a) => images::images(&engine, a),
        Command::Image(c) => images::image_command(&engine, c),
        Command::Load(a) => images::load(&engine, a),
        Command::Save(a) => images::save(&engine, a),
        Command::Import(a) => images::import(&engine, a),
        Command::Tag(a) => images::tag(&engine, a),
        Command::Rmi(a) => images::rmi(&engine, a),
        Command::Inspect(a) => images::inspect(&engine, a),
        Command::History(a) => images::history(&engine, a),
        Command::System(c) => system::system_command(&engine, c),
        Command::Demo(a) => system::demo(&engine, a),
        Command::Version => Ok(()),
    }
}
