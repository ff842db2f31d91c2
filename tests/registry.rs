//! Pull, push and login against a real CNCF distribution registry (Debian's
//! `docker-registry`), each test starting its own instance on a free 127.0.0.1 port with
//! a private storage dir; a second kind of instance adds htpasswd auth and a self-signed
//! TLS certificate. The instances are killed when the test ends, passed or not.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::registry::{make_certs, Registry};
use common::{fixture, free_port, Berth, Run};

const BUSYBOX_ID: &str = "sha256:641dc2d744382baabc9b37e4542240767d98832a174a6d91467852e21f68d4ef";

/// berth with extra environment (docker config dir, certs.d, timeouts).
fn run_env(b: &Berth, env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut c = b.cmd();
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.args(args).output().expect("running berth");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A berth root whose docker config dir is private too (login state never leaks).
fn berth() -> (Berth, tempfile::TempDir) {
    let cfg = tempfile::tempdir().expect("tempdir");
    (Berth::new(), cfg)
}

fn digest_line(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.split_once(": digest: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in {stdout}"))
        .to_string()
}

fn nothing_registered(b: &Berth) {
    assert_eq!(b.run(&["images", "-q"]).ok().stdout.trim(), "");
    assert!(
        b.entries("layers").is_empty(),
        "layers: {:?}",
        b.entries("layers")
    );
    assert!(
        b.entries("blobs/sha256").is_empty(),
        "blobs: {:?}",
        b.entries("blobs/sha256")
    );
}

#[test]
fn push_pull_round_trip_keeps_digests_and_skips_present_layers() {
    let reg = Registry::start();
    let host = reg.host();
    let (src, _c1) = berth();
    src.load("busybox-docker-archive.tar");
    let name = format!("{host}/tools/busybox:1.0");
    src.run(&["tag", "busybox:latest", &name]).ok();
    let pushed = src.run(&["push", &name]).ok();
    assert!(
        pushed.stdout.contains(&format!(
            "The push refers to repository [{host}/tools/busybox]"
        )),
        "{}",
        pushed.stdout
    );
    assert!(pushed.stdout.contains(": Pushed"), "{}", pushed.stdout);
    let digest = digest_line(&pushed.stdout);
    // A docker-archive image goes up as Docker schema2, its tar layer gzipped.
    let mut resp = ureq::Agent::new_with_defaults()
        .get(format!("http://{host}/v2/tools/busybox/manifests/{digest}"))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )
        .call()
        .expect("manifest");
    let m: serde_json::Value =
        serde_json::from_slice(&resp.body_mut().read_to_vec().expect("body")).expect("json");
    assert_eq!(
        m["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    assert_eq!(m["config"]["digest"], BUSYBOX_ID);
    // A second push finds every blob there already and yields the same manifest.
    let again = src.run(&["push", &name]).ok();
    assert!(
        again.stdout.contains("Layer already exists"),
        "{}",
        again.stdout
    );
    assert_eq!(digest_line(&again.stdout), digest);

    let (dst, _c2) = berth();
    let pulled = dst.run(&["pull", &name]).ok();
    assert!(
        pulled.stdout.contains("1.0: Pulling from tools/busybox"),
        "{}",
        pulled.stdout
    );
    assert!(pulled.stdout.contains("Pull complete"), "{}", pulled.stdout);
    assert!(
        pulled.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        pulled.stdout
    );
    assert!(
        pulled
            .stdout
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{}",
        pulled.stdout
    );
    assert_eq!(dst.image_id(&name), BUSYBOX_ID);
    let repo_digests = dst
        .run(&["inspect", "-f", "{{json .RepoDigests}}", &name])
        .ok();
    assert_eq!(
        repo_digests.stdout.trim(),
        format!("[\"{host}/tools/busybox@{digest}\"]")
    );
    // Layers that are present are never fetched again.
    let up_to_date = dst.run(&["pull", &name]).ok();
    assert!(
        up_to_date.stdout.contains("Already exists"),
        "{}",
        up_to_date.stdout
    );
    assert!(up_to_date
        .stdout
        .contains(&format!("Status: Image is up to date for {name}")));
    // Pulled content runs.
    let out = dst.run(&["run", "--rm", &name, "echo", "pulled"]).ok();
    assert_eq!(out.stdout.trim(), "pulled");
    // Pushing the pulled image back gives the same manifest digest.
    let back = dst.run(&["push", &name]).ok();
    assert_eq!(digest_line(&back.stdout), digest);

    // Another repository on the same registry: the layer is mounted, not uploaded.
    let other = format!("{host}/other/busybox:1");
    dst.run(&["tag", &name, &other]).ok();
    let mounted = dst.run(&["push", &other]).ok();
    assert!(
        mounted.stdout.contains("Mounted from tools/busybox"),
        "{}",
        mounted.stdout
    );
    assert_eq!(digest_line(&mounted.stdout), digest);

    // Pull by digest into a fresh root, and -q prints only the reference.
    let (bydigest, _c3) = berth();
    let pinned = format!("{host}/tools/busybox@{digest}");
    let q = bydigest.run(&["pull", "-q", &pinned]).ok();
    assert_eq!(q.stdout.trim(), pinned);
    assert_eq!(bydigest.image_id(&pinned), BUSYBOX_ID);
    let refs = bydigest
        .run(&[
            "inspect",
            "-f",
            "{{json .RepoTags}} {{json .RepoDigests}}",
            &pinned,
        ])
        .ok();
    assert_eq!(
        refs.stdout.trim(),
        format!("[] [\"{host}/tools/busybox@{digest}\"]")
    );

    let listed = bydigest
        .run(&[
            "images",
            "--digests",
            "--format",
            "{{.Repository}} {{.Tag}} {{.Digest}}",
        ])
        .ok();
    assert_eq!(
        listed.stdout.trim(),
        format!("{host}/tools/busybox <none> {digest}")
    );
    // The source root: the digest shows only on the row of the repository it belongs to.
    let listed = src
        .run(&[
            "images",
            "--digests",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.Digest}}",
        ])
        .ok();
    let mut rows: Vec<&str> = listed.stdout.lines().collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            format!("{host}/tools/busybox:1.0 {digest}"),
            "busybox:latest <none>".to_string()
        ]
    );

    // A root that has the layer from a load only fetches the manifest and config.
    let (local, _c4) = berth();
    local.load("busybox-docker-archive.tar");
    let skip = local.run(&["pull", &name]).ok();
    assert!(skip.stdout.contains("Already exists"), "{}", skip.stdout);
    assert!(!skip.stdout.contains("Pull complete"), "{}", skip.stdout);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn multi_arch_index_selects_the_platform() {
    let reg = Registry::start();
    let host = reg.host();
    let tar = std::fs::read(fixture("busybox-rootfs.tar")).expect("rootfs fixture");
    let diff_id = format!("sha256:{}", common::sha256_hex(&tar));
    let layer = gzip(&tar);
    let layer_digest = reg.put_blob(&layer);
    let mut entries = Vec::new();
    let mut platform_digests = std::collections::HashMap::new();
    for arch in ["amd64", "arm64", "s390x"] {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","config":{{"Cmd":["sh"],"Labels":{{"arch":"{arch}"}}}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
        );
        let config_digest = reg.put_blob(config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        );
        let md = format!("sha256:{}", common::sha256_hex(manifest.as_bytes()));
        platform_digests.insert(arch, md.clone());
        reg.put_manifest(
            &md,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        );
        entries.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
            manifest.len()
        ));
    }
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        entries.join(",")
    );
    reg.put_manifest(
        "multi",
        "application/vnd.oci.image.index.v1+json",
        index.as_bytes(),
    );
    let name = format!("{host}/multi:multi");

    let (b, _c) = berth();
    b.run(&["pull", "--platform", "linux/arm64", &name]).ok();
    let arch = b
        .run(&[
            "inspect",
            "-f",
            "{{.Architecture}} {{.Config.Labels.arch}}",
            &name,
        ])
        .ok();
    assert_eq!(arch.stdout.trim(), "arm64 arm64");
    // Same layer for every platform: switching platform downloads nothing new.
    let s390 = b.run(&["pull", "--platform", "linux/s390x", &name]).ok();
    assert!(s390.stdout.contains("Already exists"), "{}", s390.stdout);
    let arch = b.run(&["inspect", "-f", "{{.Architecture}}", &name]).ok();
    assert_eq!(arch.stdout.trim(), "s390x");
    let (host_b, _c2) = berth();
    let pulled = host_b.run(&["pull", &name]).ok();
    // As Docker: the digest printed and recorded is the index's (what the tag names).
    let index_digest = format!("sha256:{}", common::sha256_hex(index.as_bytes()));
    assert!(
        pulled.stdout.contains(&format!("Digest: {index_digest}")),
        "{}",
        pulled.stdout
    );
    let repo_digests = host_b
        .run(&["inspect", "-f", "{{json .RepoDigests}}", &name])
        .ok();
    assert_eq!(
        repo_digests.stdout.trim(),
        format!("[\"{host}/multi@{index_digest}\"]")
    );
    let want = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    };
    // Pushed back, the pulled image keeps its platform manifest's bytes, so that
    // manifest's digest (this one was written compactly, not the way berth would).
    let copy = format!("{host}/copy:1");
    host_b.run(&["tag", &name, &copy]).ok();
    let pushed = host_b.run(&["push", &copy]).ok();
    assert_eq!(digest_line(&pushed.stdout), platform_digests[want]);
    let arch = host_b
        .run(&["inspect", "-f", "{{.Architecture}}", &name])
        .ok();
    assert_eq!(arch.stdout.trim(), want);
    let none = b
        .run(&["pull", "--platform", "linux/riscv64", &name])
        .fails();
    assert!(
        none.stderr
            .contains("no matching manifest for linux/riscv64 in the manifest list entries"),
        "{}",
        none.stderr
    );
}

#[test]
fn corrupted_blob_is_rejected_and_nothing_is_registered() {
    let reg = Registry::start();
    let host = reg.host();
    let (src, _c1) = berth();
    src.load("busybox-docker-archive.tar");
    let name = format!("{host}/corrupt:1");
    src.run(&["tag", "busybox", &name]).ok();
    src.run(&["push", &name]).ok();
    let manifest: serde_json::Value = serde_json::from_slice(
        &ureq::Agent::new_with_defaults()
            .get(format!("http://{host}/v2/corrupt/manifests/1"))
            .header(
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .call()
            .expect("manifest")
            .body_mut()
            .read_to_vec()
            .expect("body"),
    )
    .expect("json");
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest")
        .to_string();
    let file = reg.blob_file(&layer);
    let mut data = std::fs::read(&file).expect("registry blob file");
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&file, &data).expect("tamper");

    let (dst, _c2) = berth();
    let r = dst.run(&["pull", &name]).fails();
    assert!(
        r.stderr.contains(&format!(
            "filesystem layer verification failed for digest {layer}"
        )),
        "{}",
        r.stderr
    );
    nothing_registered(&dst);
    assert!(dst.entries("downloads").is_empty());
    assert!(
        dst.entries("tmp").is_empty(),
        "tmp: {:?}",
        dst.entries("tmp")
    );
}

#[test]
fn unreachable_missing_and_stalled_registries_give_clear_errors() {
    let (b, _c) = berth();
    // Nothing listens on a port we just freed.
    let closed = free_port();
    let r = b.run(&["pull", &format!("127.0.0.1:{closed}/x")]).fails();
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{closed}")),
        "{}",
        r.stderr
    );
    let r = b.run(&["pull", "no-such-host.invalid/x:1"]).fails();
    assert!(
        r.stderr.contains("no-such-host.invalid") && r.stderr.contains("no such host"),
        "{}",
        r.stderr
    );

    let reg = Registry::start();
    let host = reg.host();
    let r = b.run(&["pull", &format!("{host}/nothing:here")]).fails();
    assert!(
        r.stderr.contains("repository does not exist") || r.stderr.contains("manifest unknown"),
        "{}",
        r.stderr
    );
    let (src, _c2) = berth();
    src.load("busybox-docker-archive.tar");
    src.run(&["tag", "busybox", &format!("{host}/present:1")])
        .ok();
    src.run(&["push", &format!("{host}/present:1")]).ok();
    let r = b.run(&["pull", &format!("{host}/present:2")]).fails();
    assert!(
        r.stderr.contains(&format!(
            "manifest for {host}/present:2 not found: manifest unknown"
        )),
        "{}",
        r.stderr
    );
    let r = b.run(&["push", &format!("{host}/absent:1")]).fails();
    assert!(
        r.stderr.contains(&format!(
            "An image does not exist locally with the tag: {host}/absent"
        )),
        "{}",
        r.stderr
    );

    // A server that accepts connections and never answers.
    let stall = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = stall.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in stall.incoming().take(4).flatten() {
            held.push(c);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    let started = Instant::now();
    let r = run_env(
        &b,
        &[("BERTH_REGISTRY_TIMEOUT", Path::new("2"))],
        &["pull", &format!("127.0.0.1:{port}/x")],
    )
    .fails();
    assert!(r.stderr.contains("stopped answering"), "{}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    nothing_registered(&b);
    drop(holder);
}

#[test]
fn auth_and_tls_with_login_logout() {
    let (reg, tls) = Registry::start_with(true);
    let tls = tls.expect("tls");
    let host = reg.host();
    let (b, cfg) = berth();
    let env = [
        ("BERTH_CERTS_D", tls.certs_d.as_path()),
        ("DOCKER_CONFIG", cfg.path()),
    ];
    b.load("busybox-docker-archive.tar");
    let name = format!("{host}/private/busybox:1");
    b.run(&["tag", "busybox", &name]).ok();

    let r = run_env(&b, &env, &["push", &name]).fails();
    assert!(
        r.stderr.contains("no basic auth credentials"),
        "{}",
        r.stderr
    );
    let r = run_env(&b, &env, &["login", "-u", "alice", "-p", "wrong", &host]).fails();
    assert!(
        r.stderr.contains(&format!(
            "login attempt to https://{host}/v2/ failed with status: 401 Unauthorized"
        )),
        "{}",
        r.stderr
    );
    assert!(!cfg.path().join("config.json").exists());

    let mut c = b.cmd();
    c.env("BERTH_CERTS_D", &tls.certs_d)
        .env("DOCKER_CONFIG", cfg.path())
        .args(["login", "-u", "alice", "--password-stdin", &host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("login");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"wonderland\n")
        .expect("password");
    let out = child.wait_with_output().expect("login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Login Succeeded"
    );
    let saved: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cfg.path().join("config.json")).expect("config.json"),
    )
    .expect("json");
    // base64("alice:wonderland"), as the docker CLI writes it.
    assert_eq!(
        saved["auths"][host.as_str()]["auth"],
        "YWxpY2U6d29uZGVybGFuZA=="
    );

    let pushed = run_env(&b, &env, &["push", &name]).ok();
    let digest = digest_line(&pushed.stdout);
    let (other, _c2) = berth();
    let r = run_env(&other, &env, &["pull", &name]).ok();
    assert!(
        r.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        r.stdout
    );
    assert_eq!(other.image_id(&name), BUSYBOX_ID);

    let r = run_env(&b, &env, &["logout", &host]).ok();
    assert_eq!(
        r.stdout.trim(),
        format!("Removing login credentials for {host}")
    );
    let (third, _c3) = berth();
    let r = run_env(&third, &env, &["pull", &name]).fails();
    assert!(
        r.stderr.contains("no basic auth credentials"),
        "{}",
        r.stderr
    );

    // A certs.d CA that did not sign the registry's certificate is refused.
    let wrong = tempfile::tempdir().expect("tempdir");
    make_certs(wrong.path());
    let wrong_d = wrong.path().join("certs.d").join(&host);
    std::fs::create_dir_all(&wrong_d).expect("mkdir");
    std::fs::copy(wrong.path().join("ca.crt"), wrong_d.join("ca.crt")).expect("copy");
    let r = run_env(
        &third,
        &[
            ("BERTH_CERTS_D", wrong.path().join("certs.d").as_path()),
            ("DOCKER_CONFIG", cfg.path()),
        ],
        &["pull", &name],
    )
    .fails();
    assert!(r.stderr.contains("certificate"), "{}", r.stderr);
    nothing_registered(&third);
}

#[test]
fn kill_during_pull_leaves_nothing_half_registered() {
    let reg = Registry::start();
    let host = reg.host();
    // A layer big enough that the pull is still running when it is killed.
    let mut tar = tar::Builder::new(Vec::new());
    let mut noise = vec![0u8; 24 << 20];
    let mut state = 0x2545f4914f6cdd1du64;
    for chunk in noise.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(noise.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    tar.append_data(&mut h, "noise.bin", &noise[..])
        .expect("tar");
    let tar = tar.into_inner().expect("tar");
    let (src, _c1) = berth();
    std::fs::write(src.path().join("big.tar"), &tar).expect("write tar");
    let big = src.path().join("big.tar");
    src.run(&[
        "import",
        big.to_str().expect("utf-8"),
        &format!("{host}/big:1"),
    ])
    .ok();
    src.run(&["push", &format!("{host}/big:1")]).ok();

    let (b, _c2) = berth();
    let mut pull = b.cmd();
    pull.args(["pull", &format!("{host}/big:1")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = pull.spawn().expect("pull");
    let mut stdout = child.stdout.take().expect("stdout");
    // Kill it as soon as it reports the layer: mid download or mid unpack.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Pulling fs layer") {
        let n = stdout.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    let _ = child.wait();
    assert_eq!(b.run(&["images", "-q"]).ok().stdout.trim(), "");
    // The next pull finishes the job and cleans what the killed one left.
    let r = b.run(&["pull", &format!("{host}/big:1")]).ok();
    assert!(
        r.stdout.contains("Status: Downloaded newer image"),
        "{}",
        r.stdout
    );
    assert_eq!(b.entries("downloads"), Vec::<String>::new());
    assert_eq!(b.entries("tmp"), Vec::<String>::new());
    assert_eq!(b.run(&["images", "-q"]).ok().stdout.lines().count(), 1);
}

/// Pushes the busybox fixture to `reg` as `repo:tag` from a throwaway root.
fn seed(reg: &Registry, repo_tag: &str) -> String {
    let (src, _c) = berth();
    src.load("busybox-docker-archive.tar");
    let name = format!("{}/{repo_tag}", reg.host());
    src.run(&["tag", "busybox", &name]).ok();
    digest_line(&src.run(&["push", &name]).ok().stdout)
}

/// §12.1 pull, list, tag, inspect, history, rmi — against the local registry, since
/// the tests have no Docker Hub.
#[test]
fn walkthrough_01_pull_list_tag_inspect_history_rmi() {
    let reg = Registry::start();
    seed(&reg, "ubuntu:14.04");
    let ubuntu = format!("{}/ubuntu:14.04", reg.host());
    let (b, _c) = berth();
    let pulled = b.run(&["pull", &ubuntu]).ok();
    assert!(
        pulled.stdout.contains("14.04: Pulling from ubuntu"),
        "{}",
        pulled.stdout
    );
    let images = b.run(&["images"]).ok();
    let row: Vec<&str> = images
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{}/ubuntu", reg.host())))
        .expect("pulled image listed")
        .split_whitespace()
        .collect();
    assert_eq!(row[1], "14.04");
    assert_eq!(row[2], &BUSYBOX_ID[7..19]);
    b.run(&["tag", &ubuntu, "myubuntu:latest"]).ok();
    assert_eq!(b.image_id("myubuntu:latest"), b.image_id(&ubuntu));
    let arch = b
        .run(&["inspect", "-f", "{{.Architecture}}", "myubuntu:latest"])
        .ok();
    assert_eq!(arch.stdout.trim(), "amd64");
    let hist = b.run(&["history", &ubuntu]).ok();
    assert!(hist.stdout.starts_with("IMAGE"), "{}", hist.stdout);
    assert!(hist.stdout.contains(&BUSYBOX_ID[7..19]), "{}", hist.stdout);
    let untag = b.run(&["rmi", "myubuntu:latest"]).ok();
    assert_eq!(untag.stdout.trim(), "Untagged: myubuntu:latest");
    let gone = b.run(&["rmi", &ubuntu]).ok();
    assert!(
        gone.stdout.starts_with(&format!("Untagged: {ubuntu}\n")),
        "{}",
        gone.stdout
    );
    assert!(
        gone.stdout.contains(&format!("Deleted: {BUSYBOX_ID}")),
        "{}",
        gone.stdout
    );
    nothing_registered(&b);
}

/// §12.8 save and load an image for an offline host, starting from a pulled image.
#[test]
fn walkthrough_08_save_and_load_a_pulled_image() {
    let reg = Registry::start();
    seed(&reg, "ubuntu:14.04");
    let ubuntu = format!("{}/ubuntu:14.04", reg.host());
    let (online, _c) = berth();
    online.run(&["pull", &ubuntu]).ok();
    let tar = online.path().join("ubuntu_14.04.tar");
    online
        .run(&["save", "-o", tar.to_str().expect("utf-8"), &ubuntu])
        .ok();
    let (offline, _c2) = berth();
    let loaded = offline
        .run(&["load", "--input", tar.to_str().expect("utf-8")])
        .ok();
    assert_eq!(loaded.stdout.trim(), format!("Loaded image: {ubuntu}"));
    assert_eq!(offline.image_id(&ubuntu), online.image_id(&ubuntu));
    let out = offline
        .run(&["run", "--rm", &ubuntu, "echo", "offline"])
        .ok();
    assert_eq!(out.stdout.trim(), "offline");
}

/// §12.17 private registry push and pull. The registry runs as a host process (berth
/// has no `-p` port publishing yet, so not as a container); the rest is as typed.
#[test]
fn walkthrough_17_private_registry_push_and_pull() {
    let reg = Registry::start();
    let host = reg.host();
    // curl -i 127.0.0.1:5000/v2/
    let resp = ureq::Agent::new_with_defaults()
        .get(format!("http://{host}/v2/"))
        .call()
        .expect("GET /v2/");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("docker-distribution-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("registry/2.0")
    );
    let (b, _c) = berth();
    b.load("busybox-docker-archive.tar");
    let private = format!("{host}/ubuntu");
    b.run(&["tag", "busybox:latest", &private]).ok();
    let pushed = b.run(&["push", &private]).ok();
    assert!(
        pushed.stdout.contains("latest: digest: sha256:"),
        "{}",
        pushed.stdout
    );
    b.run(&["rmi", &private]).ok();
    assert!(b.run(&["inspect", &private]).code != 0);
    let pulled = b.run(&["pull", &private]).ok();
    // The layer is still here from busybox:latest: only the manifest and config move.
    assert!(
        pulled.stdout.contains("Already exists"),
        "{}",
        pulled.stdout
    );
    assert_eq!(b.image_id(&private), BUSYBOX_ID);
    b.run(&["tag", &private, "ubuntu:retagged"]).ok();
    assert_eq!(b.image_id("ubuntu:retagged"), BUSYBOX_ID);
}

/// Docker Hub references go to a configured mirror first (Docker Hub itself is never
/// contacted when the mirror has the image); `-a` pulls every tag.
#[test]
fn hub_mirror_and_all_tags() {
    let reg = Registry::start();
    seed(&reg, "library/busybox:latest");
    seed(&reg, "library/busybox:1.36");
    let (b, cfg) = berth();
    let daemon = cfg.path().join("daemon.json");
    std::fs::write(
        &daemon,
        format!(r#"{{"registry-mirrors": ["http://{}"]}}"#, reg.host()),
    )
    .expect("daemon.json");
    let env = [
        ("BERTH_DAEMON_CONFIG", daemon.as_path()),
        ("DOCKER_CONFIG", cfg.path()),
    ];
    let r = run_env(&b, &env, &["pull", "busybox"]).ok();
    assert!(
        r.stdout.contains("latest: Pulling from library/busybox"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Status: Downloaded newer image for busybox:latest"),
        "{}",
        r.stdout
    );
    assert_eq!(b.image_id("busybox:latest"), BUSYBOX_ID);
    let r = run_env(&b, &env, &["pull", "-a", "busybox"]).ok();
    assert!(
        r.stdout.contains("1.36: Pulling from library/busybox"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Status: Downloaded newer image for busybox"),
        "{}",
        r.stdout
    );
    assert_eq!(b.image_id("busybox:1.36"), BUSYBOX_ID);
    let r = run_env(&b, &env, &["pull", "-a", "busybox:1.36"]).fails();
    assert!(
        r.stderr.contains("tag can't be used with --all-tags/-a"),
        "{}",
        r.stderr
    );
}

/// A minimal registry of one image (`fake:latest`) on a std TcpListener, for what the
/// real one cannot be made to do: demand bearer tokens from its own token endpoint, cut
/// off or stall a blob half way, or serve a config whose diff id the layer does not match.
struct FakeRegistry {
    port: u16,
    state: std::sync::Arc<FakeState>,
}

struct FakeState {
    port: u16,
    /// 0: serve normally, 1: drop the connection mid-blob, 2: stall mid-blob,
    /// 3: serve the manifest whose config has a wrong diff id.
    mode: std::sync::atomic::AtomicUsize,
    /// `scope` parameters the token endpoint was asked for.
    scopes: std::sync::Mutex<Vec<String>>,
    /// How often the layer blob was requested.
    layer_gets: std::sync::atomic::AtomicUsize,
    layer_digest: String,
    blobs: Vec<(String, Vec<u8>)>,
    /// [good, wrong diff id]
    manifests: [Vec<u8>; 2],
}

const TOKEN: &str = "berth-test-token";

fn fake_image(diff_id: &str, layer_digest: &str, layer_len: usize) -> (Vec<u8>, Vec<u8>) {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    )
    .into_bytes();
    let config_digest = format!("sha256:{}", common::sha256_hex(&config));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{layer_len}}}]}}"#,
        config.len()
    )
    .into_bytes();
    (config, manifest)
}

impl FakeRegistry {
    fn start() -> FakeRegistry {
        use std::sync::atomic::AtomicUsize;
        use std::sync::{Arc, Mutex};
        let tar = std::fs::read(fixture("busybox-rootfs.tar")).expect("rootfs fixture");
        let diff_id = format!("sha256:{}", common::sha256_hex(&tar));
        let layer = gzip(&tar);
        let layer_digest = format!("sha256:{}", common::sha256_hex(&layer));
        let (config, manifest) = fake_image(&diff_id, &layer_digest, layer.len());
        let wrong = format!("sha256:{}", "0".repeat(64));
        let (bad_config, bad_manifest) = fake_image(&wrong, &layer_digest, layer.len());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(FakeState {
            port,
            mode: AtomicUsize::new(0),
            scopes: Mutex::new(Vec::new()),
            layer_gets: AtomicUsize::new(0),
            layer_digest: layer_digest.clone(),
            blobs: vec![
                (format!("sha256:{}", common::sha256_hex(&config)), config),
                (
                    format!("sha256:{}", common::sha256_hex(&bad_config)),
                    bad_config,
                ),
                (layer_digest, layer),
            ],
            manifests: [manifest, bad_manifest],
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let st = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        FakeRegistry { port, state }
    }

    fn set_mode(&self, mode: usize) {
        self.state
            .mode
            .store(mode, std::sync::atomic::Ordering::SeqCst);
    }

    fn layer_gets(&self) -> usize {
        self.state
            .layer_gets
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn serve(mut conn: TcpStream, st: &FakeState) -> std::io::Result<()> {
    use std::sync::atomic::Ordering;
    let mode = st.mode.load(Ordering::SeqCst);
    let mut req = Vec::new();
    let mut byte = [0u8; 1];
    while !req.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        // A TLS ClientHello (berth tries https first on loopback): plain HTTP only here,
        // so hang up at once as a real HTTP server's error answer would.
        if req.is_empty() && byte[0] == 0x16 {
            return Ok(());
        }
        req.push(byte[0]);
    }
    let req = String::from_utf8_lossy(&req).into_owned();
    let target = req.split_whitespace().nth(1).unwrap_or("/").to_string();
    let authorized = req.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("authorization: bearer ") && l.ends_with(TOKEN)
    });
    let reply = |conn: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(body)
    };
    if let Some(q) = target.strip_prefix("/token?") {
        for kv in q.split('&') {
            if let Some(v) = kv.strip_prefix("scope=") {
                st.scopes
                    .lock()
                    .expect("scopes")
                    .push(v.replace("%3A", ":").replace("%2C", ","));
            }
        }
        let body = format!(r#"{{"token":"{TOKEN}"}}"#);
        return reply(
            &mut conn,
            "200 OK",
            "Content-Type: application/json\r\n",
            body.as_bytes(),
        );
    }
    if !authorized {
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{}/token\",service=\"fake\"\r\nContent-Type: application/json\r\n",
            st.port
        );
        return reply(
            &mut conn,
            "401 Unauthorized",
            &challenge,
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    if target == "/v2/" {
        return reply(&mut conn, "200 OK", "", b"{}");
    }
    if target.starts_with("/v2/fake/manifests/") {
        let m = &st.manifests[usize::from(mode == 3)];
        return reply(
            &mut conn,
            "200 OK",
            "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n",
            m,
        );
    }
    if let Some(d) = target.strip_prefix("/v2/fake/blobs/") {
        if let Some((_, data)) = st.blobs.iter().find(|(digest, _)| digest == d) {
            if d == st.layer_digest {
                st.layer_gets.fetch_add(1, Ordering::SeqCst);
            }
            if d == st.layer_digest && (mode == 1 || mode == 2) {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    data.len()
                );
                conn.write_all(head.as_bytes())?;
                conn.write_all(&data[..data.len() / 2])?;
                conn.flush()?;
                if mode == 2 {
                    std::thread::sleep(Duration::from_secs(15));
                }
                return Ok(());
            }
            return reply(
                &mut conn,
                "200 OK",
                "Content-Type: application/octet-stream\r\n",
                data,
            );
        }
    }
    reply(
        &mut conn,
        "404 Not Found",
        "Content-Type: application/json\r\n",
        br#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#,
    )
}

#[test]
fn bearer_tokens_dropped_and_stalled_downloads() {
    let fake = FakeRegistry::start();
    let name = format!("127.0.0.1:{}/fake:latest", fake.port);
    let (b, cfg) = berth();
    let env = [
        ("DOCKER_CONFIG", cfg.path()),
        ("BERTH_REGISTRY_TIMEOUT", Path::new("2")),
    ];

    fake.set_mode(1);
    let r = run_env(&b, &env, &["pull", &name]).fails();
    assert!(r.stderr.contains("unexpected EOF"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("/v2/fake/blobs/{}", fake.state.layer_digest)),
        "{}",
        r.stderr
    );
    nothing_registered(&b);

    fake.set_mode(2);
    let started = Instant::now();
    let r = run_env(&b, &env, &["pull", &name]).fails();
    assert!(r.stderr.contains("stopped answering"), "{}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );
    nothing_registered(&b);

    fake.set_mode(0);
    let r = run_env(&b, &env, &["pull", &name]).ok();
    assert!(r.stdout.contains("Pull complete"), "{}", r.stdout);
    let out = b.run(&["run", "--rm", &name, "echo", "token"]).ok();
    assert_eq!(out.stdout.trim(), "token");
    let scopes = fake.state.scopes.lock().expect("scopes").clone();
    assert!(
        scopes.iter().any(|s| s == "repository:fake:pull"),
        "{scopes:?}"
    );
}

/// A pull that fails after its layer blob was verified keeps the blob, and the next pull
/// uses it instead of downloading it again.
#[test]
fn verified_blobs_of_a_failed_pull_are_reused() {
    let fake = FakeRegistry::start();
    let name = format!("127.0.0.1:{}/fake:latest", fake.port);
    let (b, cfg) = berth();
    let env = [("DOCKER_CONFIG", cfg.path())];
    fake.set_mode(3);
    let r = run_env(&b, &env, &["pull", &name]).fails();
    assert!(
        r.stderr.contains("layer content digest mismatch"),
        "{}",
        r.stderr
    );
    assert_eq!(b.run(&["images", "-q"]).ok().stdout.trim(), "");
    assert_eq!(fake.layer_gets(), 1);
    assert_eq!(b.entries("downloads").len(), 1, "the verified blob is kept");
    fake.set_mode(0);
    let r = run_env(&b, &env, &["pull", &name]).ok();
    assert!(r.stdout.contains("Pull complete"), "{}", r.stdout);
    assert_eq!(fake.layer_gets(), 1, "the layer was not downloaded again");
    assert!(b.entries("downloads").is_empty());
    let out = b.run(&["run", "--rm", &name, "echo", "reused"]).ok();
    assert_eq!(out.stdout.trim(), "reused");
}
