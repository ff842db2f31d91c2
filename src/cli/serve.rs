//! `berth serve`: the Docker Engine API on a unix socket, or on TCP with mutual TLS
//! (see src/api).

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
    /// Use TLS and verify the remote (required for tcp://)
    #[arg(long)]
    pub tlsverify: bool,
    /// Trust certs signed only by this CA
    #[arg(long, value_name = "PATH")]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file
    #[arg(long, value_name = "PATH")]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file
    #[arg(long, value_name = "PATH")]
    pub tlskey: Option<PathBuf>,
}

/// Where `-H` asks the server to listen.
enum Address {
    Unix(PathBuf),
    Tcp(String),
}

/// The address of `-H`: a unix socket (the default), or tcp://host:port (served only
/// with --tlsverify, as dockerd insists for anything but loopback).
fn address(engine: &Engine, host: Option<&str>) -> CliResult<Address> {
    let Some(host) = host else {
        return Ok(Address::Unix(engine.store().paths.run.join("berth.sock")));
    };
    if let Some(p) = host.strip_prefix("unix://") {
        if p.is_empty() {
            return Err(CliError::usage(
                "-H unix:// needs a socket path, e.g. unix:///run/berth/berth.sock",
            ));
        }
        return Ok(Address::Unix(PathBuf::from(p)));
    }
    if let Some(addr) = host.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        let addr = if addr.contains(':') {
            addr.to_string()
        } else {
            format!("{addr}:2376")
        };
        return Ok(Address::Tcp(addr));
    }
    Err(CliError::usage(format!(
        "invalid -H address {host:?}: use unix:///path/to/socket or tcp://host:port"
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
    match address(&engine, a.host.as_deref())? {
        Address::Unix(path) => serve_unix(engine, &a, &path),
        Address::Tcp(addr) => serve_tls(engine, &a, &addr),
    }
}

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("starting the runtime: {e}")))
}

/// Serves until SIGTERM or Ctrl-C.
async fn until_stopped(server: impl std::future::Future<Output = ()>) -> CliResult {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::failed(format!("watching SIGTERM: {e}")))?;
    tokio::select! {
        () = server => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

fn serve_unix(engine: Engine, a: &ServeArgs, path: &Path) -> CliResult {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failed(format!("creating {}: {e}", dir.display())))?;
    }
    clear_stale(path)?;
    let rt = runtime()?;
    let engine = std::sync::Arc::new(engine);
    rt.block_on(async {
        let listener = tokio::net::UnixListener::bind(path)
            .map_err(|e| CliError::failed(format!("listening on {}: {e}", path.display())))?;
        set_access(path, a.group.as_deref())?;
        eprintln!(
            "berth serve: Docker Engine API on unix://{}",
            path.display()
        );
        until_stopped(crate::api::serve(engine, listener)).await
    })?;
    // Containers keep running (their monitors own them); only the socket goes.
    let _ = std::fs::remove_file(path);
    // Blocked streams (followed logs, events) would keep the runtime's threads: leave now.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}

fn serve_tls(engine: Engine, a: &ServeArgs, addr: &str) -> CliResult {
    let (Some(ca), Some(cert), Some(key), true) =
        (&a.tlscacert, &a.tlscert, &a.tlskey, a.tlsverify)
    else {
        return Err(CliError::usage(format!(
            "refusing to serve on tcp://{addr} without mutual TLS: give --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY (or use a unix socket and reach it over ssh)"
        )));
    };
    let config = crate::api::tls::server_config(ca, cert, key).map_err(CliError::failed)?;
    let rt = runtime()?;
    let engine = std::sync::Arc::new(engine);
    rt.block_on(async {
        let tcp = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CliError::failed(format!("listening on tcp://{addr}: {e}")))?;
        eprintln!(
            "berth serve: Docker Engine API on tcp://{addr} (TLS, client certificates required)"
        );
        let listener = crate::api::tls::TlsListener::new(tcp, config);
        until_stopped(crate::api::serve(engine, listener)).await
    })?;
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
