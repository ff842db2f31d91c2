//! `--format` handling shared by every listing command: docker's `table ...` and raw
//! Go templates, `json`, and the default table, all aligned with docker's tabwriter.

use serde::Serialize;
use serde_json::Value;

use crate::cli::gotemplate::{docker_preformat, TabWriter, Template};
use crate::cli::CliError;

/// docker turns the two-character sequences `\t` and `\n` typed in a shell into real
/// tabs and newlines before parsing.
fn unescape(f: &str) -> String {
    f.replace("\\t", "\t").replace("\\n", "\n")
}

fn parse(src: &str) -> Result<Template, CliError> {
    Template::parse(src).map_err(|e| CliError::usage(e.to_string()))
}

fn exec(t: &Template, v: &Value) -> Result<String, CliError> {
    t.execute(v).map_err(|e| CliError::failed(e.to_string()))
}

/// Renders rows. `format` is what the user passed (None = the command's default
/// table); `headers` maps each field to its column title.
pub fn render_rows(
    format: Option<&str>,
    default_table: &str,
    headers: &Value,
    rows: &[Value],
) -> Result<String, CliError> {
    let format = match format.map(str::trim) {
        None | Some("") | Some("table") => default_table,
        Some(f) => f,
    };
    if format == "json" {
        let mut out = String::new();
        for r in rows {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        return Ok(out);
    }
    let (table, body) = docker_preformat(format);
    let t = parse(&body)?;
    if table {
        let mut tw = TabWriter::new();
        let header = t
            .execute_header(headers)
            .map_err(|e| CliError::failed(e.to_string()))?;
        tw.write_line(&header);
        for r in rows {
            for line in exec(&t, r)?.split('\n') {
                tw.write_line(line);
            }
        }
        return Ok(tw.finish());
    }
    let mut out = String::new();
    for r in rows {
        out.push_str(&exec(&t, r)?);
        out.push('\n');
    }
    Ok(out)
}

/// `inspect` output: a 4-space indented JSON array, or one template line per object.
pub fn render_inspect<T: Serialize>(
    format: Option<&str>,
    objects: &[T],
) -> Result<String, CliError> {
    let values: Vec<Value> = objects
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .collect();
    match format.map(unescape) {
        None => Ok(format!("{}\n", pretty(&objects))),
        Some(f) if f.trim() == "json" => Ok(format!("{}\n", pretty(&objects))),
        Some(f) => {
            let t = parse(&f)?;
            let mut out = String::new();
            for v in &values {
                out.push_str(&exec(&t, v)?);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

/// JSON with docker's 4-space indent, keeping struct field order.
pub fn pretty<T: Serialize + ?Sized>(v: &T) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if v.serialize(&mut ser).is_err() {
        return "null".into();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
pub fn write_out(s: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failed(format!("writing output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Docker keeps going past a failed name in a batch, then exits 1 with every error.
pub fn finish_batch(errors: Vec<String>) -> Result<(), CliError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(errors.join("\nError: ")))
    }
}

/// Writes an archive to `path` (a scratch file beside it, renamed when complete, so a
/// failure never leaves half a file where the user expects an archive) or to stdout
/// (refused on a terminal, as docker does). `what` names the action in errors.
pub fn write_archive(
    path: Option<&std::path::Path>,
    what: &str,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), crate::engine::Error>,
) -> Result<(), CliError> {
    use std::io::{IsTerminal, Write};
    match path {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
                CliError::failed(format!(
                    "failed to {what}: invalid output path: {}: {e}",
                    path.display()
                ))
            })?;
            {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
                write(&mut w)?;
                w.flush()
                    .map_err(|e| CliError::failed(format!("writing {}: {e}", path.display())))?;
            }
            tmp.persist(path).map_err(|e| {
                CliError::failed(format!("writing {}: {}", path.display(), e.error))
            })?;
            Ok(())
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(CliError::failed(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write(&mut w)?;
            match w.flush() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(CliError::failed(format!("writing output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

/// The output of docker's prune commands: a "Deleted <kind>:" section per kind that
/// removed something, then the total space reclaimed.
#[derive(Default)]
pub struct PruneReport {
    text: String,
    bytes: u64,
}

impl PruneReport {
    pub fn section(&mut self, title: &str, lines: impl IntoIterator<Item = String>, bytes: u64) {
        self.bytes += bytes;
        let lines: Vec<String> = lines.into_iter().collect();
        if lines.is_empty() {
            return;
        }
        self.text.push_str(&format!("Deleted {title}:\n"));
        for l in lines {
            self.text.push_str(&l);
            self.text.push('\n');
        }
        self.text.push('\n');
    }

    /// Image records in prune's lower-case form ("untagged: x", "deleted: sha256:...").
    pub fn images(&mut self, records: &[crate::engine::image::records::DeleteRecord], bytes: u64) {
        use crate::engine::image::records::DeleteRecord;
        let lines = records.iter().map(|r| match r {
            DeleteRecord::Untagged(t) => format!("untagged: {t}"),
            DeleteRecord::Deleted(d) => format!("deleted: {d}"),
        });
        self.section("Images", lines, bytes);
    }

    pub fn finish(mut self) -> String {
        self.text.push_str(&format!(
            "Total reclaimed space: {}\n",
            crate::cli::units::size3(self.bytes)
        ));
        self.text
    }
}
