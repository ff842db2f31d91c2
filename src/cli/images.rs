//! Image commands: images, image ls/inspect/rm/prune/history/load/save/import/tag.

use std::fs;
use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cli::output::{finish_batch, render_inspect, render_rows, write_out};
use crate::cli::units::{created_at, since, size3};
use crate::cli::{CliError, CliResult};
use crate::engine::image::import::ImportOptions;
use crate::engine::image::records::{DeleteRecord, ImageRecord};
use crate::engine::image::reference::Reference;
use crate::engine::store::ids::short_id;
use crate::engine::Engine;

#[derive(Debug, Subcommand)]
// Deferred: only the subcommand being run builds its arguments (a whole-tree build is
// most of a short command's start).
#[command(defer = true)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmiArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Load images from a tar archive or an OCI layout dir
    Load(LoadArgs),
    /// Save one or more images to a tar archive
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Download an image from a registry
    Pull(crate::cli::registry::PullArgs),
    /// Upload an image to a registry
    Push(crate::cli::registry::PushArgs),
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided (dangling=, reference=, label=, before=, since=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Only images of this repository (optionally with :TAG)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file (or OCI layout dir), instead of STDIN
    #[arg(short, long, value_name = "PATH")]
    input: Option<PathBuf>,
    /// Suppress the load progress output (the loaded names are still printed)
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform if server is multi-platform capable (os/arch)
    #[arg(long)]
    platform: Option<String>,
    /// A tar file, or - for STDIN
    #[arg(value_name = "file|-")]
    source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    size: bool,
    /// Only inspect objects of the given type (image)
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    #[arg(value_name = "IMAGE")]
    image: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn image_command(engine: &Engine, c: ImageCommand) -> CliResult {
    match c {
        ImageCommand::Ls(a) => images(engine, a),
        ImageCommand::Inspect(a) => inspect(
            engine,
            InspectArgs {
                format: a.format,
                size: false,
                kind: Some("image".into()),
                names: a.names,
            },
        ),
        ImageCommand::Rm(a) => rmi(engine, a),
        ImageCommand::Prune(a) => prune(engine, a),
        ImageCommand::History(a) => history(engine, a),
        ImageCommand::Load(a) => load(engine, a),
        ImageCommand::Save(a) => save(engine, a),
        ImageCommand::Import(a) => import(engine, a),
        ImageCommand::Tag(a) => tag(engine, a),
        ImageCommand::Pull(a) => crate::cli::registry::pull(engine, a),
        ImageCommand::Push(a) => crate::cli::registry::push(engine, a),
    }
}

/// Shell-style glob (`*`, `?`, `[...]`) as Go's path.Match, where `*` stops at `/`.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    fn m(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| m(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && t[0] != '/' && m(&p[1..], &t[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|&c| c == ']') else {
                    return false;
                };
                let Some(&c) = t.first() else { return false };
                let class = &p[1..end];
                let (neg, class) = match class.first() {
                    Some('^') | Some('!') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != neg && m(&p[end + 1..], &t[1..])
            }
            Some('\\') if p.len() > 1 => !t.is_empty() && t[0] == p[1] && m(&p[2..], &t[1..]),
            Some(&c) => !t.is_empty() && t[0] == c && m(&p[1..], &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    m(&p, &t)
}

/// reference=PATTERN matches the familiar name, or name:tag when the pattern has a tag.
pub(crate) fn reference_matches(pattern: &str, familiar_tag: &str) -> bool {
    let name = familiar_tag
        .rsplit_once(':')
        .map(|(n, _)| n)
        .unwrap_or(familiar_tag);
    glob(pattern, familiar_tag) || glob(pattern, name)
}

struct Filters {
    dangling: Option<bool>,
    references: Vec<String>,
    labels: Vec<(String, Option<String>)>,
    before: Option<chrono::DateTime<chrono::Utc>>,
    since: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_filters(engine: &Engine, raw: &[String]) -> CliResult<Filters> {
    let mut f = Filters {
        dangling: None,
        references: vec![],
        labels: vec![],
        before: None,
        since: None,
    };
    for r in raw {
        let (k, v) = r.split_once('=').ok_or_else(|| {
            CliError::usage(format!("bad format of filter (expected name=value): {r}"))
        })?;
        match k {
            "dangling" => {
                f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(CliError::failed(format!(
                            "invalid filter 'dangling={v}': use true or false"
                        )))
                    }
                })
            }
            "reference" => f.references.push(v.to_string()),
            "label" => f.labels.push(match v.split_once('=') {
                Some((a, b)) => (a.to_string(), Some(b.to_string())),
                None => (v.to_string(), None),
            }),
            "before" => f.before = engine.image_get(v)?.created_time(),
            "since" => f.since = engine.image_get(v)?.created_time(),
            _ => return Err(CliError::failed(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

fn image_row(
    img: &ImageRecord,
    tag: Option<&str>,
    digest: &str,
    trunc: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let (repo, t) = match tag {
        Some(t) => match Reference::parse(t) {
            Ok(r) => (r.familiar_name(), r.tag().unwrap_or("<none>").to_string()),
            Err(_) => (t.to_string(), "<none>".to_string()),
        },
        None => ("<none>".to_string(), "<none>".to_string()),
    };
    let id = if trunc {
        short_id(&img.id).to_string()
    } else {
        img.id.clone()
    };
    json!({
        "Containers": "N/A",
        "CreatedAt": created_at(img.created()),
        "CreatedSince": since(img.created(), now),
        "Digest": digest,
        "ID": id,
        "Repository": repo,
        "SharedSize": "N/A",
        "Size": size3(img.size),
        "Tag": t,
        "UniqueSize": "N/A",
        "VirtualSize": size3(img.size),
    })
}

pub fn images(engine: &Engine, a: ImagesArgs) -> CliResult {
    let filters = parse_filters(engine, &a.filter)?;
    let mut patterns = filters.references.clone();
    if let Some(r) = &a.reference {
        patterns.push(r.clone());
    }
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    let list = engine.image_list()?;
    // Untagged images that are parents of others are intermediate layers: -a shows them.
    let parents: std::collections::HashSet<&str> =
        list.iter().filter_map(|i| i.parent.as_deref()).collect();
    for img in &list {
        let dangling = img.tags.is_empty();
        if filters.dangling.is_some_and(|d| d != dangling) {
            continue;
        }
        if dangling && !a.all && parents.contains(img.id.as_str()) {
            continue;
        }
        let created = img.created_time();
        if let Some(b) = filters.before {
            if created.is_none_or(|c| c >= b) {
                continue;
            }
        }
        if let Some(since) = filters.since {
            if created.is_none_or(|c| c <= since) {
                continue;
            }
        }
        let labels = img
            .config
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        if !filters.labels.iter().all(|(k, v)| match v {
            Some(v) => labels.get(k) == Some(v),
            None => labels.contains_key(k),
        }) {
            continue;
        }
        // As in docker: a row's digest is the image's digest in that row's repository;
        // repositories known only by digest get a row of their own with tag <none>.
        let digests: Vec<(String, String)> = img
            .familiar_digests()
            .iter()
            .filter_map(|d| {
                d.rsplit_once('@')
                    .map(|(r, d)| (r.to_string(), d.to_string()))
            })
            .collect();
        let digest_of = |repo: &str| {
            digests
                .iter()
                .find(|(r, _)| r == repo)
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| "<none>".into())
        };
        let tags = img.familiar_tags();
        let tagged_repos: Vec<String> = tags
            .iter()
            .filter_map(|t| Reference::parse(t).ok().map(|r| r.familiar_name()))
            .collect();
        let digest_only: Vec<&(String, String)> = digests
            .iter()
            .filter(|(r, _)| !tagged_repos.contains(r))
            .collect();
        if tags.is_empty() && digest_only.is_empty() {
            // Untagged images only show when no name pattern was asked for.
            if patterns.is_empty() {
                rows.push(image_row(img, None, "<none>", !a.no_trunc, now));
            }
            continue;
        }
        for t in &tags {
            // Several reference filters (and the positional name) widen the match, as in docker.
            if patterns.is_empty() || patterns.iter().any(|p| reference_matches(p, t)) {
                let repo = Reference::parse(t)
                    .map(|r| r.familiar_name())
                    .unwrap_or_default();
                rows.push(image_row(img, Some(t), &digest_of(&repo), !a.no_trunc, now));
            }
        }
        for (repo, d) in digest_only {
            if patterns.is_empty() || patterns.iter().any(|p| reference_matches(p, repo)) {
                let mut row = image_row(img, None, d, !a.no_trunc, now);
                row["Repository"] = json!(repo);
                rows.push(row);
            }
        }
    }
    let headers = json!({
        "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
        "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY", "SharedSize": "SHARED SIZE",
        "Size": "SIZE", "Tag": "TAG", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
    });
    let default = if a.quiet {
        "{{.ID}}"
    } else if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    let format = if a.quiet { None } else { a.format.as_deref() };
    write_out(&render_rows(format, default, &headers, &rows)?)
}

fn print_records(records: &[DeleteRecord]) -> String {
    let mut s = String::new();
    for r in records {
        match r {
            DeleteRecord::Untagged(t) => s.push_str(&format!("Untagged: {t}\n")),
            DeleteRecord::Deleted(d) => s.push_str(&format!("Deleted: {d}\n")),
        }
    }
    s
}

pub fn rmi(engine: &Engine, a: RmiArgs) -> CliResult {
    let mut errors = Vec::new();
    for name in &a.images {
        match engine.image_remove(name, a.force) {
            Ok(records) => write_out(&print_records(&records))?,
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_batch(errors)
}

pub fn tag(engine: &Engine, a: TagArgs) -> CliResult {
    engine.image_tag(&a.source, &a.target)?;
    Ok(())
}

/// One object `inspect` found; untagged so each keeps Docker's field order.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Inspected {
    Container(Box<crate::engine::runtime::inspect::ContainerInspect>),
    Image(Box<crate::engine::image::inspect::ImageInspect>),
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CliResult {
    let want_container = matches!(a.kind.as_deref(), None | Some("container"));
    let want_image = matches!(a.kind.as_deref(), None | Some("image"));
    if !want_container && !want_image {
        return Err(CliError::failed(format!(
            "\"{}\" is not a valid value for --type",
            a.kind.as_deref().unwrap_or_default()
        )));
    }
    // Docker tries a container first, then an image.
    let mut found: Vec<Inspected> = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        if want_container {
            match engine.container_inspect(n) {
                Ok(c) => {
                    found.push(Inspected::Container(Box::new(c)));
                    continue;
                }
                Err(crate::engine::Error::NotFound(_)) => {}
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            }
        }
        if want_image {
            match engine.image_inspect(n) {
                Ok(i) => {
                    found.push(Inspected::Image(Box::new(i)));
                    continue;
                }
                Err(crate::engine::Error::NotFound(_)) if a.kind.is_none() => {}
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            }
        }
        errors.push(match a.kind.as_deref() {
            Some("container") => format!("No such container: {n}"),
            _ => format!("No such object: {n}"),
        });
    }
    if !found.is_empty() || a.format.is_none() {
        write_out(&render_inspect(a.format.as_deref(), &found)?)?;
    }
    finish_batch(errors)
}

/// `container inspect`.
pub fn inspect_containers(engine: &Engine, a: ImageInspectArgs) -> CliResult {
    inspect(
        engine,
        InspectArgs {
            format: a.format,
            size: false,
            kind: Some("container".into()),
            names: a.names,
        },
    )
}

pub fn history(engine: &Engine, a: HistoryArgs) -> CliResult {
    let rows = engine.image_history(&a.image)?;
    let now = chrono::Utc::now();
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let id = if r.id == "<missing>" || a.no_trunc {
                r.id.clone()
            } else {
                short_id(&r.id).to_string()
            };
            let created_by = r.created_by.replace('\t', " ");
            let created_by = if a.no_trunc || created_by.chars().count() <= 45 {
                created_by
            } else {
                format!("{}…", created_by.chars().take(44).collect::<String>())
            };
            let created_at = crate::cli::units::parse_time(&r.created)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            let (created, size) = if a.human {
                (since(Some(&r.created), now), size3(r.size))
            } else {
                (created_at.clone(), r.size.to_string())
            };
            json!({
                "ID": id,
                "CreatedSince": created,
                "CreatedAt": created_at,
                "CreatedBy": created_by,
                "Size": size,
                "Comment": r.comment,
            })
        })
        .collect();
    let headers = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    });
    let default = if a.quiet {
        "{{.ID}}"
    } else {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    };
    let format = if a.quiet { None } else { a.format.as_deref() };
    write_out(&render_rows(format, default, &headers, &values)?)
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CliResult {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !crate::cli::confirm(warning) {
        return Ok(());
    }
    let (records, reclaimed) = engine.image_prune(a.all)?;
    let mut report = crate::cli::output::PruneReport::default();
    report.images(&records, reclaimed);
    write_out(&report.finish())
}

pub fn load(engine: &Engine, a: LoadArgs) -> CliResult {
    let report = match &a.input {
        Some(p) if p.is_dir() => engine.image_load_dir(p)?,
        Some(p) => {
            let f = fs::File::open(p)
                .map_err(|e| CliError::failed(format!("open {}: {e}", p.display())))?;
            engine.image_load(f)?
        }
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(CliError::failed(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            engine.image_load(stdin.lock())?
        }
    };
    // -q only hides progress; the names loaded are still printed, as docker does.
    let mut out = String::new();
    for (tag, old) in &report.retagged {
        out.push_str(&format!(
            "The image {tag} already exists, renaming the old one with ID {old} to empty string\n"
        ));
    }
    for (id, tags) in &report.images {
        if tags.is_empty() {
            out.push_str(&format!("Loaded image ID: {id}\n"));
        }
        for t in tags {
            out.push_str(&format!("Loaded image: {t}\n"));
        }
    }
    write_out(&out)
}

pub fn save(engine: &Engine, a: SaveArgs) -> CliResult {
    crate::cli::output::write_archive(a.output.as_deref(), "save image", |w| {
        engine.image_save(&a.images, w)
    })
}

pub fn import(engine: &Engine, a: ImportArgs) -> CliResult {
    let tag = match &a.reference {
        Some(r) => Some(Reference::parse(r).map_err(|e| CliError::failed(e.to_string()))?),
        None => None,
    };
    let arch = match a.platform.as_deref() {
        None => None,
        Some(p) => {
            let mut parts = p.split('/');
            match (parts.next(), parts.next()) {
                (Some("linux"), Some(arch)) if !arch.is_empty() => Some(arch.to_string()),
                _ => {
                    return Err(CliError::failed(format!(
                        "invalid platform {p:?}: expected linux/<arch>"
                    )))
                }
            }
        }
    };
    let opts = ImportOptions {
        changes: a.change.clone(),
        message: a.message.clone(),
        source: "-".into(),
        tag,
        platform_arch: arch,
    };
    let id = if a.source == "-" {
        engine.image_import(io::stdin().lock(), &opts)?
    } else if a.source.starts_with("http://") || a.source.starts_with("https://") {
        return Err(CliError::failed(
            "importing from a URL is not supported yet: download the file, then import it",
        ));
    } else {
        let f = fs::File::open(&a.source)
            .map_err(|e| CliError::failed(format!("open {}: {e}", a.source)))?;
        let r: Box<dyn Read> = Box::new(f);
        engine.image_import(r, &opts)?
    };
    write_out(&format!("{id}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_like_go_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*", "busybox"));
        assert!(!glob("*", "library/busybox"));
        assert!(glob("*/*", "user/app"));
        assert!(glob("busybox:1.?", "busybox:1.3"));
        assert!(glob("[a-c]*", "busybox"));
        assert!(!glob("[^a-c]*", "busybox"));
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("debian", "busybox:latest"));
    }
}
