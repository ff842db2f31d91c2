//! `--format` handling shared by every listing command: docker's `table ...` and raw
//! Go templates, `json`, and the default table, all aligned with docker's tabwriter.

use serde::Serialize;
use serde_json::Value;

use crate::cli::gotemplate::{strip_table_prefix, TabWriter, Template};
use crate::cli::CliError;

/// docker turns the two-character sequences `\t` and `\n` typed in a shell into real
/// tabs and newlines before parsing.
fn unescape(f: &str) -> String {
    f.replace("\\t", "\t").replace("\\n", "\n")
}

fn parse(src: &str) -> Result<Template, CliError> {
    Template::parse(src).map_err(|e| CliError::usage(format!("template parsing error: {e}")))
}

fn exec(t: &Template, v: &Value) -> Result<String, CliError> {
    t.execute(v)
        .map_err(|e| CliError::usage(format!("template: {e}")))
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
        None | Some("") | Some("table") => default_table.to_string(),
        Some(f) => unescape(f),
    };
    if format == "json" {
        let mut out = String::new();
        for r in rows {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        return Ok(out);
    }
    if let Some(body) = strip_table_prefix(&format) {
        let t = parse(body)?;
        let mut tw = TabWriter::new();
        tw.write_line(&exec(&t, headers)?);
        for r in rows {
            for line in exec(&t, r)?.split('\n') {
                tw.write_line(line);
            }
        }
        return Ok(tw.finish());
    }
    let t = parse(&format)?;
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
