//! Registry commands: pull, push, login, logout, and the progress display they share
//! with `run`/`create` (docker's per-layer bars on a terminal, plain lines otherwise).

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal, Write};

use clap::Args;

use crate::cli::{CliError, CliResult};
use crate::engine::image::reference::Reference;
use crate::engine::image::registry::{PullOptions, PushOptions};
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long, env = "DOCKER_DEFAULT_PLATFORM")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    name: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    name: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    /// Registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry (default: Docker Hub)
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

/// Draws dockerd-style progress messages: on a terminal one line per layer id, updated
/// in place with a bar; otherwise each status change as a plain line.
pub struct ProgressView<W: Write> {
    out: W,
    tty: bool,
    /// Layer ids in the order they appeared, and the line each is drawn on.
    lines: HashMap<String, usize>,
    count: usize,
}

impl<W: Write> ProgressView<W> {
    pub fn new(out: W, tty: bool) -> Self {
        ProgressView {
            out,
            tty,
            lines: HashMap::new(),
            count: 0,
        }
    }

    pub fn show(&mut self, id: Option<&str>, status: &str, detail: Option<(i64, Option<i64>)>) {
        let text = match (id, detail) {
            (Some(id), Some((cur, total))) if self.tty => {
                format!("{id}: {status} {}", bar(cur, total))
            }
            (Some(id), _) => format!("{id}: {status}"),
            (None, _) => status.to_string(),
        };
        if !self.tty {
            // Byte counts only make sense as bars; plain output keeps the state changes.
            if detail.is_some() && matches!(status, "Downloading" | "Extracting" | "Pushing") {
                return;
            }
            let _ = writeln!(self.out, "{text}");
            return;
        }
        match id.and_then(|i| self.lines.get(i).copied()) {
            Some(line) => {
                let up = self.count - line;
                let _ = write!(self.out, "\x1b[{up}A\r\x1b[2K{text}\x1b[{up}B\r");
            }
            None => {
                if let Some(i) = id {
                    self.lines.insert(i.to_string(), self.count);
                    self.count += 1;
                } else {
                    // A line without id ends the layer block, as in docker's display.
                    self.lines.clear();
                    self.count = 0;
                }
                let _ = writeln!(self.out, "\x1b[2K{text}");
            }
        }
        let _ = self.out.flush();
    }
}

/// docker's progress bar: `[=====>      ]  1.2MB/3.4MB`.
fn bar(current: i64, total: Option<i64>) -> String {
    let cur = crate::cli::units::size3(current.max(0) as u64);
    match total.filter(|t| *t > 0) {
        Some(t) => {
            let width = 50usize;
            let filled = ((current.max(0) as f64 / t as f64) * width as f64) as usize;
            let filled = filled.min(width);
            let mut b = "=".repeat(filled);
            if filled < width {
                b.push('>');
                b.push_str(&" ".repeat(width - filled - 1));
            }
            format!("[{b}]  {cur}/{}", crate::cli::units::size3(t as u64))
        }
        None => cur,
    }
}

/// Pulls `name`, drawing progress on `out` (stdout for `pull`, stderr for `run`).
pub fn pull_with_progress(
    engine: &Engine,
    name: &str,
    opts: &PullOptions,
    quiet: bool,
    to_stderr: bool,
) -> CliResult<String> {
    let tty = if to_stderr {
        io::stderr().is_terminal()
    } else {
        io::stdout().is_terminal()
    };
    let sink: Box<dyn Write> = if quiet {
        Box::new(io::sink())
    } else if to_stderr {
        Box::new(io::stderr())
    } else {
        Box::new(io::stdout())
    };
    let mut view = ProgressView::new(sink, tty);
    let id = engine.image_pull(name, opts, &mut |m| {
        let detail = m
            .progress_detail
            .as_ref()
            .map(|d| (d.current.unwrap_or(0), d.total));
        view.show(m.id.as_deref(), m.status.as_deref().unwrap_or(""), detail);
    })?;
    Ok(id)
}

pub fn pull(engine: &Engine, a: PullArgs) -> CliResult {
    let opts = PullOptions {
        platform: a.platform.filter(|p| !p.is_empty()),
        all_tags: a.all_tags,
        credentials: None,
    };
    pull_with_progress(engine, &a.name, &opts, a.quiet, false)?;
    if a.quiet {
        let r = Reference::parse(&a.name).map_err(|e| CliError::failed(e.to_string()))?;
        let shown = if a.all_tags {
            r.name()
        } else {
            crate::engine::image::records::with_default_tag(&r).to_string()
        };
        println!("{shown}");
    }
    Ok(())
}

pub fn push(engine: &Engine, a: PushArgs) -> CliResult {
    let opts = PushOptions {
        all_tags: a.all_tags,
        credentials: None,
    };
    let sink: Box<dyn Write> = if a.quiet {
        Box::new(io::sink())
    } else {
        Box::new(io::stdout())
    };
    let mut view = ProgressView::new(sink, io::stdout().is_terminal());
    engine.image_push(&a.name, &opts, &mut |m| {
        let status = m.status.as_deref().unwrap_or("");
        // Per-layer push lines carry their id as "<id>: <status>" (bollard's
        // PushImageInfo has no id field); split it back out for the display.
        let (id, status) = match status.split_once(": ") {
            Some((id, rest)) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (Some(id), rest)
            }
            _ => (None, status),
        };
        let detail = m
            .progress_detail
            .as_ref()
            .map(|d| (d.current.unwrap_or(0), d.total));
        view.show(id, status, detail);
    })?;
    if a.quiet {
        let r = Reference::parse(&a.name).map_err(|e| CliError::failed(e.to_string()))?;
        println!("{}", crate::engine::image::records::with_default_tag(&r));
    }
    Ok(())
}

pub fn login(engine: &Engine, a: LoginArgs) -> CliResult {
    if a.password.is_some() && a.password_stdin {
        return Err(CliError::usage(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    let stdin_tty = io::stdin().is_terminal();
    let password = if a.password_stdin {
        if a.username.is_none() {
            return Err(CliError::usage(
                "Must provide --username with --password-stdin",
            ));
        }
        let mut s = String::new();
        io::stdin()
            .lock()
            .read_line(&mut s)
            .map_err(|e| CliError::failed(format!("reading the password from stdin: {e}")))?;
        Some(s.trim_end_matches(['\n', '\r']).to_string())
    } else {
        if a.password.is_some() {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        }
        a.password.clone()
    };
    let username = match a.username {
        Some(u) => u,
        None if stdin_tty => prompt("Username: ")?,
        None => {
            return Err(CliError::failed(
                "Cannot perform an interactive login from a non TTY device",
            ))
        }
    };
    let password = match password {
        Some(p) => p,
        None if stdin_tty => prompt_hidden("Password: ")?,
        None => {
            return Err(CliError::failed(
                "Cannot perform an interactive login from a non TTY device",
            ))
        }
    };
    if username.trim().is_empty() {
        return Err(CliError::failed("Username is required"));
    }
    if password.is_empty() {
        return Err(CliError::failed("Password is required"));
    }
    engine.registry_login(
        a.server.as_deref().unwrap_or(""),
        username.trim(),
        &password,
    )?;
    println!("Login Succeeded");
    Ok(())
}

pub fn logout(engine: &Engine, a: LogoutArgs) -> CliResult {
    let server = a.server.as_deref().unwrap_or("");
    let host = crate::engine::image::registry::creds::server_host(server);
    let key = crate::engine::image::registry::creds::auth_key(&host);
    if engine.registry_logout(server)? {
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(())
}

fn prompt(label: &str) -> CliResult<String> {
    eprint!("{label}");
    let _ = io::stderr().flush();
    let mut s = String::new();
    io::stdin()
        .lock()
        .read_line(&mut s)
        .map_err(|e| CliError::failed(format!("reading from the terminal: {e}")))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a line with echo off, restoring the terminal afterwards.
fn prompt_hidden(label: &str) -> CliResult<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let line = prompt(label);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
    }
    eprintln!();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_output_keeps_state_changes_only() {
        let mut buf = Vec::new();
        {
            let mut v = ProgressView::new(&mut buf, false);
            v.show(Some("latest"), "Pulling from library/busybox", None);
            v.show(Some("abc"), "Pulling fs layer", None);
            v.show(Some("abc"), "Downloading", Some((10, Some(100))));
            v.show(Some("abc"), "Pull complete", None);
            v.show(None, "Digest: sha256:00", None);
        }
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "latest: Pulling from library/busybox\nabc: Pulling fs layer\nabc: Pull complete\nDigest: sha256:00\n"
        );
    }

    #[test]
    fn terminal_output_updates_lines_in_place() {
        let mut buf = Vec::new();
        {
            let mut v = ProgressView::new(&mut buf, true);
            v.show(Some("a"), "Pulling fs layer", None);
            v.show(Some("b"), "Pulling fs layer", None);
            v.show(Some("a"), "Downloading", Some((50, Some(100))));
        }
        let s = String::from_utf8_lossy(&buf);
        assert!(
            s.contains("\x1b[2A\r\x1b[2Ka: Downloading [=========================>"),
            "{s:?}"
        );
        assert!(s.ends_with("\x1b[2B\r"), "{s:?}");
    }

    #[test]
    fn bars() {
        assert!(bar(0, Some(100)).starts_with("[>"));
        assert!(bar(100, Some(100)).starts_with(&format!("[{}]", "=".repeat(50))));
    }
}
