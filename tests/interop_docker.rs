//! Interop with the real thing: a private dockerd (Debian's docker.io 20.10, driven by
//! the docker CLI on PATH), skopeo and the CNCF registry, each started by the test that
//! uses it and stopped when it ends.
//!
//! - images pushed by Docker (schema2, gzip by Docker) and by skopeo (OCI) pull into
//!   berth with the registry's manifest digest and Docker's image id, and run;
//! - images berth made go up with `berth push` and down with `docker pull`/skopeo;
//! - `berth save` loads into Docker and `docker save` into berth with the same ids,
//!   layer diff ids, sizes, history and file contents (whiteouts and opaque dirs
//!   included; images saved by id keep no names);
//! - `diff` and `commit` record the same changes as Docker's for the same commands;
//! - the console's Docker API backend (and the console itself) drives the dockerd.
//!
//! A missing tool fails the test naming the Debian package (scripts/install-deps.sh
//! installs them all); nothing is skipped.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::dockerd::{pushed_digest, Dockerd};
use common::registry::Registry;
use common::{fixture, require_tool, sha256_hex, Berth};

/// The busybox fixture's id (its config digest), as every engine must report it.
const BUSYBOX_ID: &str = "sha256:641dc2d744382baabc9b37e4542240767d98832a174a6d91467852e21f68d4ef";

const SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SCHEMA2_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A shell probe whose output shows what the layers of a layered image did: a deleted
/// file (a whiteout), a replaced dir (an opaque dir) and an added file.
const PROBE: &str = "test -e /bin/base64 && echo base64-present || echo base64-gone; \
                     ls /var/www; cat /data/f 2>/dev/null || echo no-data";

/// What PROBE prints for an image made by [`MAKE_LAYER`] on busybox.
const PROBED: &str = "base64-gone\nonly\nhi\n";

/// Run in a busybox container, then committed: a second layer with a whiteout
/// (/bin/base64), an opaque dir (/var/www replaced by a dir holding only `only`) and new
/// files. (Not /etc: both engines bind-mount hosts, hostname and resolv.conf there.)
const MAKE_LAYER: &str = "rm /bin/base64 && rm -rf /var/www && mkdir /var/www && \
                          echo only > /var/www/only && mkdir /data && echo hi > /data/f";

/// Fetches a manifest as a client accepting schema2 and OCI (lists and indexes too)
/// would; returns its media type, its digest (of the bytes served) and the document.
fn registry_manifest(
    host: &str,
    repo: &str,
    reference: &str,
) -> (String, String, serde_json::Value) {
    let mut resp = ureq::Agent::new_with_defaults()
        .get(format!("http://{host}/v2/{repo}/manifests/{reference}"))
        // Lists and indexes too: asked for without them, the registry answers with the
        // linux/amd64 manifest of a list instead.
        .header(
            "Accept",
            &format!("{SCHEMA2}, {OCI_MANIFEST}, {SCHEMA2_LIST}, {OCI_INDEX}"),
        )
        .call()
        .unwrap_or_else(|e| panic!("GET manifest {repo}:{reference}: {e}"));
    let body = resp.body_mut().read_to_vec().expect("manifest body");
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("manifest json");
    let media = doc["mediaType"].as_str().unwrap_or_default().to_string();
    (media, format!("sha256:{}", sha256_hex(&body)), doc)
}

/// `berth inspect -f TEMPLATE NAME`, trimmed.
#[track_caller]
fn berth_field(b: &Berth, name: &str, template: &str) -> String {
    b.run(&["inspect", "-f", template, name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// What both engines must agree on for one image, as inspect and history show it.
const INSPECT: &str = "{{.Id}} {{json .RootFS.Layers}} size={{.Size}} {{.Created}} {{.Os}}/\
                       {{.Architecture}} {{json .Config.Cmd}} {{json .Config.Env}} \
                       {{.Author}}|{{.Comment}}|{{.DockerVersion}}";
const HISTORY: &str = "{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}";

/// Docker's `image` and berth's `image` are the same image: id, diff ids, size (as
/// Docker measures a layer), creation time, config and history.
#[track_caller]
fn assert_same_image(dk: &Dockerd, docker_name: &str, b: &Berth, berth_name: &str) {
    assert_eq!(
        b.run(&["image", "inspect", "-f", INSPECT, berth_name])
            .ok()
            .stdout,
        dk.ok(&["image", "inspect", "-f", INSPECT, docker_name]),
        "inspect: berth's {berth_name} vs docker's {docker_name}"
    );
    let history = ["history", "--no-trunc", "--format", HISTORY];
    assert_eq!(
        b.run(&[&history[..], &[berth_name]].concat()).ok().stdout,
        dk.ok(&[&history[..], &[docker_name]].concat()),
        "history: berth's {berth_name} vs docker's {docker_name}"
    );
}

/// `berth run --rm IMAGE sh -c PROBE`'s output.
#[track_caller]
fn berth_probe(b: &Berth, image: &str) -> String {
    b.run(&["run", "--rm", "--network", "none", image, "sh", "-c", PROBE])
        .ok()
        .stdout
}

/// Makes `image` in dockerd: busybox plus one committed layer from [`MAKE_LAYER`].
fn docker_layered(dk: &Dockerd, image: &str) {
    let maker = format!("maker-{}", image.replace(['/', ':'], "-"));
    dk.ok(&["run", "--name", &maker, "busybox", "sh", "-c", MAKE_LAYER]);
    dk.ok(&["commit", "-c", "CMD [\"sh\"]", &maker, image]);
    dk.ok(&["rm", &maker]);
}

/// The same in berth.
fn berth_layered(b: &Berth, image: &str) {
    let maker = format!("maker-{}", image.replace(['/', ':', '.'], "-"));
    b.run(&[
        "run",
        "--name",
        &maker,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        MAKE_LAYER,
    ])
    .ok();
    b.run(&["commit", "-c", "CMD [\"sh\"]", &maker, image]).ok();
    b.run(&["rm", &maker]).ok();
}

/// Docker pushes (schema2, its own gzip) to a registry; berth pulls them with the
/// manifest digest the registry serves and Docker's image id, and runs them with the
/// same files Docker shows. Then the other way: an image berth committed goes up with
/// `berth push`, and Docker pulls it with berth's id and digest and runs it.
#[test]
fn docker_pushed_images_pull_and_run_in_berth_and_back() {
    let dk = Dockerd::start();
    let reg = Registry::start();
    let host = reg.host();
    dk.ok(&[
        "load",
        "-i",
        fixture("busybox-docker-archive.tar")
            .to_str()
            .expect("utf-8"),
    ]);
    docker_layered(&dk, "interop/layered:1");
    assert_eq!(
        dk.ok(&["run", "--rm", "interop/layered:1", "sh", "-c", PROBE]),
        PROBED
    );

    let b = Berth::new();
    for (local, repo) in [
        ("busybox:latest", "interop/busybox"),
        ("interop/layered:1", "interop/layered"),
    ] {
        let remote = format!("{host}/{repo}:1");
        dk.ok(&["tag", local, &remote]);
        let digest = pushed_digest(&dk.ok(&["push", &remote]));
        let (media, served, doc) = registry_manifest(&host, repo, "1");
        assert_eq!(media, SCHEMA2, "docker pushes schema2: {doc}");
        assert_eq!(served, digest, "the registry serves what docker pushed");
        let docker_id = dk.image_id(local);
        assert_eq!(doc["config"]["digest"].as_str(), Some(docker_id.as_str()));

        let pulled = b.run(&["pull", &remote]).ok();
        assert!(
            pulled.stdout.contains(&format!("Digest: {digest}")),
            "{}",
            pulled.stdout
        );
        assert_eq!(b.image_id(&remote), docker_id, "berth's id is docker's id");
        assert_eq!(
            berth_field(&b, &remote, "{{index .RepoDigests 0}}"),
            format!("{host}/{repo}@{digest}")
        );
        assert_same_image(&dk, local, &b, &remote);
    }
    assert_eq!(dk.image_id("busybox:latest"), BUSYBOX_ID);

    // A manifest list made by the docker CLI: berth picks this platform's image and, as
    // Docker does, reports and records the list's digest (what the tag names).
    let list = format!("{host}/interop/busybox:list");
    dk.ok(&[
        "manifest",
        "create",
        "--insecure",
        &list,
        &format!("{host}/interop/busybox:1"),
    ]);
    let list_digest = dk
        .ok(&["manifest", "push", "--insecure", &list])
        .trim()
        .to_string();
    let (media, served, doc) = registry_manifest(&host, "interop/busybox", "list");
    assert_eq!(served, list_digest);
    assert_eq!(media, SCHEMA2_LIST, "{doc}");
    let docker_pull = dk.ok(&["pull", &list]);
    let berth_pull = b.run(&["pull", &list]).ok().stdout;
    for out in [&docker_pull, &berth_pull] {
        assert!(out.contains(&format!("Digest: {list_digest}")), "{out}");
    }
    assert_eq!(b.image_id(&list), BUSYBOX_ID);
    let digests = "{{json .RepoDigests}}";
    let repo_digests = berth_field(&b, &list, digests);
    assert!(
        repo_digests.contains(&format!("{host}/interop/busybox@{list_digest}")),
        "{repo_digests}"
    );
    assert_eq!(
        repo_digests,
        dk.ok(&["image", "inspect", "-f", digests, &list]).trim()
    );
    let hello = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("{host}/interop/busybox:1"),
            "echo",
            "hello from docker's push",
        ])
        .ok();
    assert_eq!(hello.stdout, "hello from docker's push\n");
    assert_eq!(
        berth_probe(&b, &format!("{host}/interop/layered:1")),
        PROBED
    );

    // berth -> registry -> docker: an image berth committed (its layers stored
    // uncompressed, gzipped on the way up).
    let made = format!("{host}/berth/layered:1");
    b.run(&[
        "tag",
        &format!("{host}/interop/busybox:1"),
        "busybox:latest",
    ])
    .ok();
    berth_layered(&b, &made);
    let digest = pushed_digest(&b.run(&["push", &made]).ok().stdout);
    let (media, served, doc) = registry_manifest(&host, "berth/layered", "1");
    assert_eq!(served, digest, "the registry serves what berth pushed");
    assert!(media == SCHEMA2 || media == OCI_MANIFEST, "{doc}");
    dk.ok(&["pull", &made]);
    assert_eq!(
        dk.image_id(&made),
        b.image_id(&made),
        "docker's id is berth's id"
    );
    assert_eq!(
        dk.ok(&["image", "inspect", "-f", "{{index .RepoDigests 0}}", &made])
            .trim(),
        format!("{host}/berth/layered@{digest}")
    );
    assert_same_image(&dk, &made, &b, &made);
    assert_eq!(dk.ok(&["run", "--rm", &made, "sh", "-c", PROBE]), PROBED);
}

/// skopeo writes OCI manifests (`--format oci`): the OCI layout fixture as is, and the
/// docker-archive fixture converted and compressed by skopeo (gzip, and zstd). berth
/// pulls each with the served digest and runs it; a pulled image pushed back keeps its
/// digest, and skopeo reads it.
#[test]
fn skopeo_oci_images_pull_and_run_in_berth() {
    require_tool("skopeo", "skopeo");
    let layout = format!("oci:{}:latest", fixture("busybox-oci").display());
    let archive = format!(
        "docker-archive:{}",
        fixture("busybox-docker-archive.tar").display()
    );
    let gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    let zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    let cases = [
        (layout, "skopeo/layout", "gzip", gzip),
        (archive.clone(), "skopeo/archive", "gzip", gzip),
        (archive, "skopeo/zstd", "zstd", zstd),
    ];
    for (src, repo, compression, layer_type) in cases {
        // A registry each: skopeo would otherwise reuse a blob of the same content it
        // pushed for an earlier case (gzip instead of the zstd asked for).
        let reg = Registry::start();
        let host = reg.host();
        let dest = format!("docker://{host}/{repo}:1");
        let out = std::process::Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                "--format",
                "oci",
                "--dest-compress-format",
                compression,
            ])
            .args([&src, &dest])
            .output()
            .expect("running skopeo");
        assert!(
            out.status.success(),
            "skopeo copy {src} {dest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (media, digest, doc) = registry_manifest(&host, repo, "1");
        assert_eq!(media, OCI_MANIFEST, "{doc}");
        assert_eq!(
            doc["layers"][0]["mediaType"].as_str(),
            Some(layer_type),
            "{doc}"
        );
        let config = doc["config"]["digest"]
            .as_str()
            .expect("config digest")
            .to_string();

        // A fresh root each, so every layer is really downloaded and unpacked.
        let b = Berth::new();
        let remote = format!("{host}/{repo}:1");
        let pulled = b.run(&["pull", &remote]).ok();
        assert!(
            pulled.stdout.contains(&format!("Digest: {digest}")),
            "{}",
            pulled.stdout
        );
        assert_eq!(b.image_id(&remote), config);
        assert_eq!(
            berth_field(&b, &remote, "{{index .RepoDigests 0}}"),
            format!("{host}/{repo}@{digest}")
        );
        let ran = b
            .run(&["run", "--rm", &remote, "cat", "/var/www/index.html"])
            .ok();
        assert_eq!(ran.stdout, "hello from busybox httpd\n");

        // Back up under another name: the same manifest bytes, so the same digest.
        let back = format!("{host}/{repo}-back:1");
        b.run(&["tag", &remote, &back]).ok();
        assert_eq!(pushed_digest(&b.run(&["push", &back]).ok().stdout), digest);
        let out = std::process::Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{back}"))
            .output()
            .expect("running skopeo");
        assert!(
            out.status.success(),
            "skopeo inspect: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), digest);
    }
}

/// `berth save` -> `docker load` and `docker save` -> `berth load`: ids (config
/// digests), layer diff ids and file contents agree both ways, for a loaded image, an
/// imported one and committed ones with whiteouts.
#[test]
fn save_and_load_between_berth_and_docker_keep_ids() {
    let dk = Dockerd::start();
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    let rootfs = fixture("busybox-rootfs.tar");
    b.run(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        rootfs.to_str().expect("utf-8"),
        "berth/imported:1",
    ])
    .ok();
    berth_layered(&b, "berth/layered:1");
    let saved = b.path().join("berth-save.tar");
    let names = ["busybox:latest", "berth/imported:1", "berth/layered:1"];
    b.run(
        &[
            &["save", "-o", saved.to_str().expect("utf-8")][..],
            &names[..],
        ]
        .concat(),
    )
    .ok();
    let loaded = dk.ok(&["load", "-i", saved.to_str().expect("utf-8")]);
    for name in names {
        assert!(
            loaded.contains(&format!("Loaded image: {name}")),
            "{loaded}"
        );
        assert_eq!(
            dk.image_id(name),
            b.image_id(name),
            "{name}: docker's id is berth's"
        );
        assert_same_image(&dk, name, &b, name);
    }
    assert_eq!(dk.image_id("busybox:latest"), BUSYBOX_ID);

    // An image without names, saved by its full id: Docker loads it without names too.
    let untagged = b
        .run(&["import", "-m", "untagged", rootfs.to_str().expect("utf-8")])
        .ok()
        .stdout
        .trim()
        .to_string();
    let by_id = b.path().join("berth-save-id.tar");
    b.run(&["save", "-o", by_id.to_str().expect("utf-8"), &untagged])
        .ok();
    assert_eq!(
        dk.ok(&["load", "-i", by_id.to_str().expect("utf-8")]),
        format!("Loaded image ID: {untagged}\n")
    );
    assert_eq!(
        dk.ok(&["image", "inspect", "-f", "{{json .RepoTags}}", &untagged])
            .trim(),
        "[]"
    );
    assert_same_image(&dk, &untagged, &b, &untagged);

    assert_eq!(
        dk.ok(&["run", "--rm", "berth/layered:1", "sh", "-c", PROBE]),
        PROBED
    );
    assert_eq!(
        dk.ok(&[
            "run",
            "--rm",
            "berth/imported:1",
            "cat",
            "/var/www/index.html"
        ]),
        "hello from busybox httpd\n"
    );

    // Docker's own archive (dockerd 20.10 writes the classic layout) of an image it
    // committed, into a fresh berth root.
    docker_layered(&dk, "docker/layered:1");
    let dsaved = dk.dir().join("docker-save.tar");
    dk.ok(&[
        "save",
        "-o",
        dsaved.to_str().expect("utf-8"),
        "docker/layered:1",
        "busybox:latest",
    ]);
    let b2 = Berth::new();
    let out = b2
        .run(&["load", "-i", dsaved.to_str().expect("utf-8")])
        .ok();
    for name in ["docker/layered:1", "busybox:latest"] {
        assert!(
            out.stdout.contains(&format!("Loaded image: {name}")),
            "{}",
            out.stdout
        );
        assert_eq!(
            b2.image_id(name),
            dk.image_id(name),
            "{name}: berth's id is docker's"
        );
        assert_same_image(&dk, name, &b2, name);
    }
    assert_eq!(berth_probe(&b2, "docker/layered:1"), PROBED);

    // And Docker's archive of an image saved by id, without names.
    let untagged = dk
        .ok(&["import", "-m", "untagged", rootfs.to_str().expect("utf-8")])
        .trim()
        .to_string();
    let by_id = dk.dir().join("docker-save-id.tar");
    dk.ok(&["save", "-o", by_id.to_str().expect("utf-8"), &untagged]);
    let out = b2.run(&["load", "-i", by_id.to_str().expect("utf-8")]).ok();
    assert_eq!(out.stdout, format!("Loaded image ID: {untagged}\n"));
    assert_eq!(berth_field(&b2, &untagged, "{{json .RepoTags}}"), "[]");
    assert_same_image(&dk, &untagged, &b2, &untagged);
}

/// What a container changed, as `diff` lists it and `commit` records it, is what
/// Docker lists and records for the same commands: the runtime's own mount points
/// (/etc/hosts and the like) are in neither, and a container that changed nothing
/// commits to an image without a new layer.
#[test]
fn diff_and_commit_match_docker() {
    let dk = Dockerd::start();
    dk.ok(&[
        "load",
        "-i",
        fixture("busybox-docker-archive.tar")
            .to_str()
            .expect("utf-8"),
    ]);
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    let cases = [
        ("quiet", "true"),
        ("adds", "echo x > /added"),
        ("edits", "echo y >> /etc/passwd && rm /bin/base64"),
        (
            "nests",
            "mkdir -p /a/b && echo z > /a/b/c && rm -rf /var/www",
        ),
    ];
    for (name, script) in cases {
        dk.ok(&["run", "--name", name, "busybox", "sh", "-c", script]);
        b.run(&[
            "run",
            "--name",
            name,
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .ok();
        // dockerd lists changes in no fixed order (a map walk): compare them sorted.
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(
            sorted(&b.run(&["diff", name]).ok().stdout),
            sorted(&dk.ok(&["diff", name])),
            "diff of {name} ({script})"
        );
        let image = format!("committed/{name}:1");
        dk.ok(&["commit", name, &image]);
        b.run(&["commit", name, &image]).ok();
        let layers = "{{len .RootFS.Layers}}";
        assert_eq!(
            berth_field(&b, &image, layers),
            dk.ok(&["image", "inspect", "-f", layers, &image]).trim(),
            "layers of {image}"
        );
        let history = ["history", "--format", "{{.CreatedBy}}|{{.Size}}", &image];
        assert_eq!(
            b.run(&history).ok().stdout,
            dk.ok(&history),
            "history of {image}"
        );
    }
}

/// Reads a console session until it ends (or `enough` holds for what came so far, or
/// 20 s pass); returns its output and exit code.
async fn read_session(
    s: &mut berth::client::Session,
    enough: impl Fn(&str) -> bool,
) -> (String, Option<i64>) {
    use berth::client::SessionOutput;
    use futures::StreamExt;
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(item)) = tokio::time::timeout_at(end, s.output.next()).await {
        match item.expect("session output") {
            SessionOutput::Stdout(b) | SessionOutput::Stderr(b) => out.extend(b),
            SessionOutput::Exited(code) => {
                return (String::from_utf8_lossy(&out).into_owned(), code)
            }
        }
        if enough(&String::from_utf8_lossy(&out)) {
            break;
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), None)
}

/// The console's Docker API backend against the real dockerd: lists, create, start,
/// logs, stats, top, exec (plain and with a tty), attach, stop, remove, tag, pull,
/// volumes, networks, events; then
/// the console itself on that backend shows the container and stops it with `x`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_docker_backend_against_real_dockerd() {
    use berth::client::docker::Endpoint;
    use berth::client::{
        Client, ContainerAction, DockerClient, EventsFrom, ExecOptions, LogRequest, LogStreamKind,
        SessionInput,
    };
    use bollard::models::ContainerCreateBody;
    use futures::StreamExt;

    let dk = Dockerd::start();
    dk.ok(&[
        "load",
        "-i",
        fixture("busybox-docker-archive.tar")
            .to_str()
            .expect("utf-8"),
    ]);
    let c = DockerClient::connect(Endpoint::from_host(&dk.host)).expect("connect");
    assert!(c.describe().contains(&dk.host), "{}", c.describe());

    let images = c.images().await.expect("images");
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0].id, BUSYBOX_ID);
    assert_eq!(images[0].repo_tags, ["busybox:latest"]);
    let inspect = c.image_inspect("busybox").await.expect("image inspect");
    assert_eq!(inspect.id.as_deref(), Some(BUSYBOX_ID));
    assert!(c.containers().await.expect("containers").is_empty());

    let body = ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(
            [
                "sh",
                "-c",
                "trap 'exit 0' TERM; echo line1; echo line2 >&2; while true; do sleep 0.1; done",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ..Default::default()
    };
    let id = c
        .container_create(Some("cons-dk".into()), body)
        .await
        .expect("create");
    c.container_action(&id, ContainerAction::Start)
        .await
        .expect("start");
    let list = c.containers().await.expect("containers");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id.as_deref(), Some(id.as_str()));
    assert_eq!(
        list[0].names.as_deref(),
        Some(&["/cons-dk".to_string()][..])
    );
    assert_eq!(list[0].image.as_deref(), Some("busybox"));

    let mut lines = Vec::new();
    for _ in 0..100 {
        let req = LogRequest {
            tail: None,
            follow: false,
            until: None,
        };
        let mut logs = c.logs(&id, req).await.expect("logs");
        lines.clear();
        while let Some(l) = logs.next().await {
            let l = l.expect("log line");
            assert!(
                l.time.is_some(),
                "timestamps are parsed off the lines: {l:?}"
            );
            lines.push((l.stream, l.text));
        }
        if lines.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lines.sort_by_key(|l| l.1.clone());
    assert_eq!(
        lines,
        [
            (LogStreamKind::Stdout, "line1".to_string()),
            (LogStreamKind::Stderr, "line2".to_string())
        ]
    );
    let st = c.stats(&id).await.expect("stats");
    assert!(st.pids >= 1, "{st:?}");
    let top = c.top(&id).await.expect("top");
    assert!(top.titles.unwrap_or_default().iter().any(|t| t == "PID"));

    let mut s = c
        .exec_session(
            &id,
            ExecOptions {
                cmd: ["sh", "-c", "echo exec-$((6*7)); exit 3"]
                    .map(String::from)
                    .to_vec(),
                ..Default::default()
            },
        )
        .await
        .expect("exec");
    let (out, code) = read_session(&mut s, |_| false).await;
    assert_eq!(out, "exec-42\n");
    assert_eq!(code, Some(3));

    // A terminal pane's exec: a tty, resized, typed into.
    let mut s = c
        .exec_session(
            &id,
            ExecOptions {
                cmd: vec!["sh".into()],
                tty: true,
                ..Default::default()
            },
        )
        .await
        .expect("exec -t");
    let send =
        |s: &berth::client::Session, m: SessionInput| s.input.send(m).expect("session input");
    send(
        &s,
        SessionInput::Resize {
            rows: 33,
            cols: 101,
        },
    );
    // The backend sends input in order, a resize's request done before the next keys.
    send(&s, SessionInput::Stdin(b"stty size; exit 5\n".to_vec()));
    let (out, code) = read_session(&mut s, |_| false).await;
    assert!(out.contains("33 101"), "{out:?}");
    assert_eq!(code, Some(5));

    // The attach pane: stdin to the main process of a container made with -i.
    let body = ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(vec!["cat".into()]),
        open_stdin: Some(true),
        attach_stdin: Some(true),
        ..Default::default()
    };
    let cat = c
        .container_create(Some("cons-cat".into()), body)
        .await
        .expect("create -i");
    c.container_action(&cat, ContainerAction::Start)
        .await
        .expect("start");
    let mut s = c.attach_session(&cat).await.expect("attach");
    send(&s, SessionInput::Stdin(b"ping through attach\n".to_vec()));
    let (out, _) = read_session(&mut s, |o| o.contains("ping through attach")).await;
    assert!(out.contains("ping through attach"), "{out:?}");
    drop(s);
    c.container_remove(&cat, true).await.expect("rm -f");

    c.container_rename(&id, "cons-dk2").await.expect("rename");
    c.container_action(&id, ContainerAction::Stop)
        .await
        .expect("stop");
    let state = c
        .container_inspect(&id)
        .await
        .expect("inspect")
        .state
        .expect("state");
    assert_eq!(state.running, Some(false), "{state:?}");
    assert_eq!(state.exit_code, Some(0), "{state:?}");
    let err = c
        .container_inspect("nosuch")
        .await
        .expect_err("missing container");
    assert_eq!(err.kind, berth::client::ErrorKind::NotFound);
    c.container_remove(&id, false).await.expect("rm");
    assert!(c.containers().await.expect("containers").is_empty());

    c.image_tag("busybox", "cons/img:7").await.expect("tag");
    assert!(c
        .image_inspect("cons/img:7")
        .await
        .expect("inspect")
        .repo_tags
        .unwrap_or_default()
        .contains(&"cons/img:7".to_string()));
    let layers = c.image_layers("busybox").await.expect("history");
    assert!(
        layers.layers.iter().any(|l| !l.empty && l.size > 0),
        "{layers:?}"
    );
    c.image_remove("cons/img:7", false).await.expect("untag");

    // A pull through the backend, from a registry docker pushed to.
    let reg = Registry::start();
    let remote = format!("{}/cons/busybox:1", reg.host());
    dk.ok(&["tag", "busybox", &remote]);
    dk.ok(&["push", &remote]);
    dk.ok(&["rmi", &remote]);
    let mut progress = c.image_pull(&remote).await.expect("pull");
    let mut statuses = Vec::new();
    while let Some(p) = progress.next().await {
        let p = p.expect("progress");
        assert!(p.error_detail.is_none(), "{p:?}");
        statuses.push(p.status.unwrap_or_default());
    }
    assert!(
        statuses.iter().any(|s| s.starts_with("Digest: sha256:")),
        "{statuses:?}"
    );
    let tags: Vec<String> = c
        .images()
        .await
        .expect("images")
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .collect();
    assert!(tags.contains(&remote), "{tags:?}");

    let v = c
        .volume_create(Some("cons-vol".into()))
        .await
        .expect("volume");
    assert_eq!(v.name, "cons-vol");
    assert!(c
        .volumes()
        .await
        .expect("volumes")
        .iter()
        .any(|v| v.name == "cons-vol"));
    c.volume_remove("cons-vol", false).await.expect("volume rm");
    let nets: Vec<String> = c
        .networks()
        .await
        .expect("networks")
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    assert!(
        nets.contains(&"none".to_string()) && nets.contains(&"host".to_string()),
        "{nets:?}"
    );

    let mut ev = c.events(EventsFrom::Last(100)).await.expect("events");
    let mut seen = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(3), ev.next()).await {
        seen.push(e.expect("event").action.unwrap_or_default());
        if seen.iter().any(|a| a == "destroy") {
            break;
        }
    }
    assert!(
        seen.iter().any(|a| a == "create") && seen.iter().any(|a| a == "destroy"),
        "{seen:?}"
    );

    // The console itself on this backend: the running container appears with its log,
    // and the stop key stops it in dockerd.
    dk.ok(&[
        "run",
        "-d",
        "--name",
        "cons-ui",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo hello from dockerd; while true; do sleep 0.1; done",
    ]);
    let client: Arc<dyn Client> =
        Arc::new(DockerClient::connect(Endpoint::from_host(&dk.host)).expect("connect"));
    let mut h = berth::ui::harness::Harness::with_log_wait(
        client,
        berth::ui::Settings::default(),
        chrono::Utc::now(),
        120,
        30,
        Duration::from_millis(50),
    )
    .await;
    let row = |screen: &str| {
        screen
            .lines()
            .find(|l| l.starts_with('│') && l.contains("cons-ui"))
            .unwrap_or("")
            .to_string()
    };
    common::console::wait_screen(
        &mut h,
        "the dockerd container and its log",
        Duration::from_secs(30),
        |s| row(s).contains("running") && s.contains("hello from dockerd"),
    )
    .await;
    h.keys(&["x"]).await;
    common::console::wait_screen(
        &mut h,
        "the container to stop",
        Duration::from_secs(30),
        |s| row(s).contains("exited"),
    )
    .await;
    assert_eq!(
        dk.ok(&["inspect", "-f", "{{.State.Running}}", "cons-ui"])
            .trim(),
        "false"
    );
}
