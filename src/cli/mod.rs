//! The `berth` command line: docker's command names, flags, output and exit codes,
//! driving the in-process engine.

pub mod attach;
pub(crate) mod containers;
mod cp;
pub(crate) mod events;
pub mod gotemplate;
pub(crate) mod images;
pub(crate) mod networks;
pub mod output;
pub(crate) mod registry;
pub mod runflags;
mod serve;
mod system;
pub mod units;
pub(crate) mod volumes;

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

/// Asks y/N on the terminal; anything but y/yes (or no terminal answer) is "no".
pub(crate) fn confirm(warning: &str) -> bool {
    use std::io::Write;
    eprint!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "A terminal console for containers, with its own Docker-compatible engine",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Keep all state (data and runtime files) under DIR instead of /var/lib/berth and /run/berth
    #[arg(long, global = true, env = "BERTH_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Console only: disable every action that changes something (start, stop, rm...)
    #[arg(long)]
    pub readonly: bool,
    /// Console only: manage the Docker-compatible engine at ENDPOINT (unix:///path,
    /// tcp://host:port with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, ssh://user@host, or a
    /// docker context name) instead of berth's own
    #[arg(long = "host", value_name = "ENDPOINT", env = "BERTH_HOST")]
    pub host: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum ContainerCommand {
    /// Create a new container
    Create(containers::RunArgs),
    /// Create and run a new container from an image
    Run(containers::RunArgs),
    /// Start one or more stopped containers
    Start(containers::StartArgs),
    /// Stop one or more running containers
    Stop(containers::StopArgs),
    /// Restart one or more containers
    Restart(containers::StopArgs),
    /// Kill one or more running containers
    Kill(containers::KillArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(containers::RmArgs),
    /// List containers
    #[command(visible_alias = "ps", visible_alias = "list")]
    Ls(containers::PsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(containers::WaitArgs),
    /// Fetch the logs of a container
    Logs(containers::LogsArgs),
    /// Rename a container
    Rename(containers::RenameArgs),
    /// Pause all processes within one or more containers
    Pause(containers::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(containers::NamesArgs),
    /// Display the running processes of a container
    Top(containers::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(containers::StatsArgs),
    /// Update configuration (resources, restart policy) of one or more containers
    Update(containers::UpdateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(containers::TopArgs),
    /// Export a container's filesystem as a tar archive
    Export(containers::ExportArgs),
    /// Create a new image from a container's changes
    Commit(containers::CommitArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(containers::AttachArgs),
    /// Execute a command in a running container
    Exec(containers::ExecArgs),
    /// List port mappings or a specific mapping for the container
    Port(containers::PortArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Remove all stopped containers
    Prune(containers::PruneArgs),
    /// Display detailed information on one or more containers
    Inspect(images::ImageInspectArgs),
}

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum Command {
    /// Create and run a new container from an image
    Run(containers::RunArgs),
    /// Create a new container
    Create(containers::RunArgs),
    /// Start one or more stopped containers
    Start(containers::StartArgs),
    /// Stop one or more running containers
    Stop(containers::StopArgs),
    /// Restart one or more containers
    Restart(containers::StopArgs),
    /// Kill one or more running containers
    Kill(containers::KillArgs),
    /// Remove one or more containers
    Rm(containers::RmArgs),
    /// List containers
    Ps(containers::PsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(containers::WaitArgs),
    /// Fetch the logs of a container
    Logs(containers::LogsArgs),
    /// Rename a container
    Rename(containers::RenameArgs),
    /// Pause all processes within one or more containers
    Pause(containers::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(containers::NamesArgs),
    /// Display the running processes of a container
    Top(containers::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(containers::StatsArgs),
    /// Update configuration (resources, restart policy) of one or more containers
    Update(containers::UpdateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(containers::TopArgs),
    /// Export a container's filesystem as a tar archive
    Export(containers::ExportArgs),
    /// Create a new image from a container's changes
    Commit(containers::CommitArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(containers::AttachArgs),
    /// Execute a command in a running container
    Exec(containers::ExecArgs),
    /// List port mappings or a specific mapping for the container
    Port(containers::PortArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
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
    /// Download an image from a registry
    Pull(registry::PullArgs),
    /// Upload an image to a registry
    Push(registry::PushArgs),
    /// Log in to a registry (stores credentials in the docker CLI's config.json)
    Login(registry::LoginArgs),
    /// Log out from a registry
    Logout(registry::LogoutArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volumes::VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(networks::NetworkCommand),
    /// Internal: removes this root's bridges and firewall table from the host
    #[command(name = "__network-teardown", hide = true)]
    NetworkTeardown,
    /// Get real time events from the engine
    Events(events::EventsArgs),
    /// Manage berth
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Serve the Docker Engine API on a unix socket (docker CLI, bollard, docker-py)
    Serve(serve::ServeArgs),
    /// Show the berth version information
    Version,
    /// Prepare the demo image (built offline from the host's busybox-static)
    Demo(system::DemoArgs),
    /// Internal: runs one exec session
    #[command(name = "__exec", hide = true)]
    ExecHelper {
        id: String,
        config: String,
        #[arg(long)]
        attach_fd: bool,
    },
    /// Internal: the per-container monitor process
    #[command(name = "__monitor", hide = true)]
    Monitor {
        id: String,
        #[arg(long)]
        attach_fd: bool,
        /// Wait for the start on a control socket (see runtime/standby.rs)
        #[arg(long)]
        standby: bool,
    },
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

/// The commands whose main work is starting containers.
fn starts_a_container(command: &Command) -> bool {
    matches!(
        command,
        Command::Run(_)
            | Command::Start(_)
            | Command::Restart(_)
            | Command::Container(
                ContainerCommand::Run(_)
                    | ContainerCommand::Start(_)
                    | ContainerCommand::Restart(_)
            )
    )
}

fn run(cli: Cli) -> CliResult {
    let Some(command) = cli.command else {
        // No subcommand: the console on the embedded engine.
        return console(cli.root.as_deref(), cli.host.as_deref(), cli.readonly);
    };
    match &command {
        Command::Version => {
            println!("berth version {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Monitor { .. } | Command::ExecHelper { .. } => {
            let code = match &command {
                Command::Monitor {
                    id,
                    attach_fd,
                    standby,
                } => crate::engine::runtime::monitor::main(
                    cli.root.as_deref(),
                    id,
                    *attach_fd,
                    *standby,
                ),
                Command::ExecHelper {
                    id,
                    config,
                    attach_fd,
                } => {
                    crate::engine::runtime::exec::main(cli.root.as_deref(), id, config, *attach_fd)
                }
                _ => 0,
            };
            return if code == 0 {
                Ok(())
            } else {
                Err(CliError {
                    message: String::new(),
                    code,
                })
            };
        }
        _ => {}
    }
    if starts_a_container(&command) {
        // Overlaps the kernel's wait for the first cgroup move with opening the store
        // and preparing the container (see prewarm_attach).
        crate::engine::runtime::cgroups::prewarm_attach();
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
        Command::Pull(a) => registry::pull(&engine, a),
        Command::Push(a) => registry::push(&engine, a),
        Command::Login(a) => registry::login(&engine, a),
        Command::Logout(a) => registry::logout(&engine, a),
        Command::System(c) => system::system_command(&engine, c),
        Command::Volume(c) => volumes::volume_command(&engine, c),
        Command::Network(c) => networks::network_command(&engine, c),
        Command::NetworkTeardown => Ok(engine.network_teardown_host()?),
        Command::Events(a) => events::events(&engine, a),
        Command::Demo(a) => system::demo(&engine, a),
        Command::Serve(a) => serve::serve(engine, a),
        Command::Run(a) => containers::run(&engine, a),
        Command::Create(a) => containers::create(&engine, a),
        Command::Start(a) => containers::start(&engine, a),
        Command::Stop(a) => containers::stop(&engine, a),
        Command::Restart(a) => containers::restart(&engine, a),
        Command::Kill(a) => containers::kill(&engine, a),
        Command::Rm(a) => containers::rm(&engine, a),
        Command::Ps(a) => containers::ps(&engine, a),
        Command::Wait(a) => containers::wait(&engine, a),
        Command::Logs(a) => containers::logs_cmd(&engine, a),
        Command::Rename(a) => containers::rename(&engine, a),
        Command::Pause(a) => containers::pause(&engine, a, true),
        Command::Unpause(a) => containers::pause(&engine, a, false),
        Command::Top(a) => containers::top(&engine, a),
        Command::Stats(a) => containers::stats(&engine, a),
        Command::Update(a) => containers::update(&engine, a),
        Command::Diff(a) => containers::diff(&engine, a),
        Command::Export(a) => containers::export(&engine, a),
        Command::Commit(a) => containers::commit(&engine, a),
        Command::Attach(a) => containers::attach_cmd(&engine, a),
        Command::Exec(a) => containers::exec(&engine, a),
        Command::Port(a) => containers::port(&engine, a),
        Command::Cp(a) => cp::cp(&engine, a),
        Command::Container(c) => container_command(&engine, c),
        Command::Version | Command::Monitor { .. } | Command::ExecHelper { .. } => Ok(()),
    }
}

fn console(root: Option<&std::path::Path>, host: Option<&str>, readonly: bool) -> CliResult {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "the console needs a terminal (run a subcommand, see berth --help)",
        ));
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut settings =
        crate::ui::Settings::load(crate::ui::config::config_dir().as_deref(), no_color);
    settings.readonly = readonly;
    let depth = crate::ui::theme::ColorDepth::detect(
        std::env::var("COLORTERM").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
    );
    settings
        .theme
        .map_colors(|c| crate::ui::theme::fit_color(c, depth));
    // glibc gives every thread that allocates its own malloc arena; the console's few
    // threads allocate little, so two arenas keep its resident memory small.
    // SAFETY: mallopt takes two integers; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    // Engine calls run on the blocking pool. The stats tick asks for every visible row at
    // once; uncapped, that grows the pool to one thread per row, each keeping its touched
    // stack (~70 KB) resident. Eight still lets a bulk stop run eight at a time; log
    // follows, events and terminals have threads of their own, a pull holds one.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("starting the runtime: {e}")))?;
    // bollard's connectors (ssh spawns a process) expect to be made inside a runtime.
    let _enter = rt.enter();
    let client: std::sync::Arc<dyn crate::client::Client> = match host {
        Some(h) => {
            let ep = crate::client::docker::resolve(h).map_err(|e| CliError::usage(e.message))?;
            std::sync::Arc::new(
                crate::client::DockerClient::connect(ep)
                    .map_err(|e| CliError::failed(e.message))?,
            )
        }
        None => std::sync::Arc::new(
            crate::client::EngineClient::open(root).map_err(|e| CliError::failed(e.message))?,
        ),
    };
    let connect = crate::client::docker::connector(root.map(std::path::Path::to_path_buf));
    rt.block_on(crate::ui::run_switchable(client, settings, Some(connect)))
        .map_err(|e| CliError::failed(format!("console: {e}")))
}

fn container_command(engine: &Engine, c: ContainerCommand) -> CliResult {
    match c {
        ContainerCommand::Create(a) => containers::create(engine, a),
        ContainerCommand::Run(a) => containers::run(engine, a),
        ContainerCommand::Start(a) => containers::start(engine, a),
        ContainerCommand::Stop(a) => containers::stop(engine, a),
        ContainerCommand::Restart(a) => containers::restart(engine, a),
        ContainerCommand::Kill(a) => containers::kill(engine, a),
        ContainerCommand::Rm(a) => containers::rm(engine, a),
        ContainerCommand::Ls(a) => containers::ps(engine, a),
        ContainerCommand::Wait(a) => containers::wait(engine, a),
        ContainerCommand::Logs(a) => containers::logs_cmd(engine, a),
        ContainerCommand::Rename(a) => containers::rename(engine, a),
        ContainerCommand::Pause(a) => containers::pause(engine, a, true),
        ContainerCommand::Unpause(a) => containers::pause(engine, a, false),
        ContainerCommand::Top(a) => containers::top(engine, a),
        ContainerCommand::Stats(a) => containers::stats(engine, a),
        ContainerCommand::Update(a) => containers::update(engine, a),
        ContainerCommand::Diff(a) => containers::diff(engine, a),
        ContainerCommand::Export(a) => containers::export(engine, a),
        ContainerCommand::Commit(a) => containers::commit(engine, a),
        ContainerCommand::Attach(a) => containers::attach_cmd(engine, a),
        ContainerCommand::Exec(a) => containers::exec(engine, a),
        ContainerCommand::Port(a) => containers::port(engine, a),
        ContainerCommand::Cp(a) => cp::cp(engine, a),
        ContainerCommand::Prune(a) => containers::prune(engine, a),
        ContainerCommand::Inspect(a) => images::inspect_containers(engine, a),
    }
}
