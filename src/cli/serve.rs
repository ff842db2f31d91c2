//! `berth serve`: the Docker Engine API on a unix socket (see src/api).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, CliResult};
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen: unix:///path/to/socket (default /run/berth/berth.sock, or
    /// DIR/run/berth.sock with --root DIR)
    #[arg(short = 'H', long = "host", value_name = "ADDRESS")]
    pub host: Option<String>,
    /// Group that may use the socket (default: `berth`, when that group exists)
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
}

/// The socket path of `-H` (only unix:// is served; TCP needs TLS, which this build
/// does not have).
fn socket_path(engine: &Engine, host: Option<&str>) -> CliResult<PathBuf> {
    let Some(host) = host else {
        return Ok(engine.store().paths.run.join("berth.sock"));
    };
    if let Some(p) = host.strip_prefix("unix://") {
        if p.is_empty() {
            return Err(CliError::usage(
                "-H unix:// needs a socket path, e.g. unix:///run/berth/berth.sock",
            ));
        }
        return Ok(PathBuf::from(p));
    }
    if host.starts_with("tcp://") || host.starts_with("http://") {
        return Err(CliError::usage(format!(
            "refusing to serve on {host}: TCP needs --tlsverify and certificates, which this build of berth does not support; use a unix socket (reach it remotely over ssh)"
        )));
    }
    Err(CliError::usage(format!(
        "invalid -H address {host:?}: use unix:///path/to/socket"
    )))
}

/// A socket file nobody answers on is left over from a server that died: replace it.
/// One that answers belongs to a running server: refuse.
fn clear_stale(path: &Path) -> CliResult {
    if !path.exists() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(CliError::failed(format!(
            "{} is in use: another server is listening there (stop it or pick another -H)",
            path.display()
        )));
    }
    std::fs::remove_file(path)
        .map_err(|e| CliError::failed(format!("removing the stale socket {}: {e}", path.display())))
}

/// Mode 0660, group `group` (or `berth` when it exists): like dockerd's `docker` group.
fn set_access(path: &Path, group: Option<&str>) -> CliResult {
    let wanted = group.unwrap_or("berth");
    match nix::unistd::Group::from_name(wanted) {
        Ok(Some(g)) => nix::unistd::chown(path, None, Some(g.gid)).map_err(|e| {
            CliError::failed(format!("giving {} to group {wanted}: {e}", path.display()))
        })?,
        Ok(None) if group.is_some() => {
            return Err(CliError::usage(format!("group {wanted:?} does not exist")))
        }
        _ => {}
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| CliError::failed(format!("setting the mode of {}: {e}", path.display())))
}

pub fn serve(engine: Engine, a: ServeArgs) -> CliResult {
    let path = socket_path(&engine, a.host.as_deref())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failed(format!("creating {}: {e}", dir.display())))?;
    }
    clear_stale(&path)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("starting the runtime: {e}")))?;
    let engine = std::sync::Arc::new(engine);
    rt.block_on(async {
        let listener = tokio::net::UnixListener::bind(&path)
            .map_err(|e| CliError::failed(format!("listening on {}: {e}", path.display())))?;
        set_access(&path, a.group.as_deref())?;
        eprintln!(
            "berth serve: Docker Engine API on unix://{}",
            path.display()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| CliError::failed(format!("watching SIGTERM: {e}")))?;
        tokio::select! {
            () = crate::api::serve(engine, listener) => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok::<(), CliError>(())
    })?;
    // Containers keep running (their monitors own them); only the socket goes.
    let _ = std::fs::remove_file(&path);
    // Blocked streams (followed logs, events) would keep the runtime's threads: leave now.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
