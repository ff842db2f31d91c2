//! A real CNCF distribution registry (Debian's `docker-registry`) for tests: each
//! instance on a free 127.0.0.1 port with a private config and storage dir, killed when
//! dropped; optionally with htpasswd auth and a TLS certificate from a CA made here.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, require_tool};

/// A registry process with its own config and storage, killed on drop.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

pub struct Tls {
    /// certs.d root holding `127.0.0.1:<port>/ca.crt`
    pub certs_d: PathBuf,
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_with(false).0
    }

    /// With `secure`: htpasswd auth (user "alice", password "wonderland") and TLS with a
    /// certificate from a CA made here.
    pub fn start_with(secure: bool) -> (Registry, Option<Tls>) {
        super::require_root();
        require_tool("docker-registry", "docker-registry");
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let d = dir.path();
        let mut extra = String::new();
        let mut tls = None;
        if secure {
            require_tool("htpasswd", "apache2-utils");
            require_tool("openssl", "openssl");
            let out = Command::new("htpasswd")
                .args(["-Bbn", "alice", "wonderland"])
                .output()
                .expect("htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            std::fs::write(d.join("htpasswd"), &out.stdout).expect("write htpasswd");
            make_certs(d);
            let certs_d = d.join("certs.d");
            let host_dir = certs_d.join(format!("127.0.0.1:{port}"));
            std::fs::create_dir_all(&host_dir).expect("mkdir certs.d");
            std::fs::copy(d.join("ca.crt"), host_dir.join("ca.crt")).expect("copy ca");
            extra = format!(
                "  tls:\n    certificate: {0}/server.crt\n    key: {0}/server.key\nauth:\n  htpasswd:\n    realm: berth-test\n    path: {0}/htpasswd\n",
                d.display()
            );
            tls = Some(Tls { certs_d });
        }
        let cfg = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}/storage\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
            d.display()
        );
        std::fs::write(d.join("config.yml"), cfg).expect("write config");
        let log = std::fs::File::create(d.join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("starting docker-registry");
        let reg = Registry { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start: {}",
                std::fs::read_to_string(reg.dir.path().join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (reg, tls)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The file the registry serves for a blob.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    pub fn put_blob(&self, data: &[u8]) -> String {
        let digest = format!("sha256:{}", super::sha256_hex(data));
        let agent = ureq::Agent::new_with_defaults();
        let resp = agent
            .post(format!("http://{}/v2/multi/blobs/uploads/", self.host()))
            .send_empty()
            .expect("start upload");
        assert_eq!(resp.status().as_u16(), 202);
        let loc = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_string();
        let url = if loc.starts_with("http") {
            loc
        } else {
            format!("http://{}{loc}", self.host())
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let resp = agent
            .put(format!("{url}{sep}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(data)
            .expect("upload");
        assert_eq!(resp.status().as_u16(), 201, "blob upload");
        digest
    }

    pub fn put_manifest(&self, reference: &str, media_type: &str, body: &[u8]) {
        let resp = ureq::Agent::new_with_defaults()
            .put(format!(
                "http://{}/v2/multi/manifests/{reference}",
                self.host()
            ))
            .header("Content-Type", media_type)
            .send(body)
            .expect("put manifest");
        assert_eq!(resp.status().as_u16(), 201, "manifest upload");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn make_certs(d: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=berth test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
}
