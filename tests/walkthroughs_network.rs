//! The networking walkthroughs of reference-features.md §12 (numbers 3, 15, 16, 18 and
//! 19, single host), end to end through the real binary, as root.
//!
//! Adaptations: no registry is involved, so the busybox fixture stands in for nginx
//! (busybox `httpd` serving a file), training/webapp and training/postgres; `nc` does
//! what the browser and `curl` inside containers do. #19's overlay network across two
//! hosts becomes a user-defined bridge network on one host (the single-host case the
//! issue asks for).

mod common;

use std::process::Command;

use common::{free_port, with_busybox, Berth};

fn inspect(b: &Berth, format: &str, name: &str) -> String {
    b.run(&["inspect", "-f", format, name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

fn curl(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "3", url])
        .output()
        .unwrap_or_else(|e| panic!("running curl failed ({e}): install curl"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `nginx`: busybox httpd serving `dir` on port 80, EXPOSE 80 and 443 like the image.
fn nginx_image(b: &Berth) {
    b.run(&["run", "--name", "nginx-base", "busybox", "true"])
        .ok();
    b.run(&[
        "commit",
        "-c",
        "EXPOSE 80 443",
        "-c",
        r#"CMD ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]"#,
        "nginx-base",
        "nginx",
    ])
    .ok();
    b.run(&["rm", "nginx-base"]).ok();
}

/// #3: `docker run -d -p 80:80 --name webserver nginx` → `docker ps` shows
/// `0.0.0.0:80->80/tcp, 443/tcp` → curl shows the page → a custom index.html through
/// `-v …:/usr/share/nginx/html:ro`.
#[test]
fn walkthrough_03_published_web_server_and_custom_page() {
    let b = with_busybox();
    nginx_image(&b);
    let site = tempfile::tempdir().expect("site");
    std::fs::write(site.path().join("index.html"), "Welcome to nginx!\n").expect("index");
    let port = free_port();
    let vol = format!("{}:/usr/share/nginx/html:ro", site.path().display());
    b.run(&[
        "run",
        "-d",
        "-p",
        &format!("{port}:80"),
        "--name",
        "webserver",
        "-v",
        &vol,
        "nginx",
    ])
    .ok();
    let ps = b
        .run(&["ps", "--format", "{{.Names}} {{.Ports}}"])
        .ok()
        .stdout;
    assert_eq!(
        ps.trim(),
        format!("webserver 0.0.0.0:{port}->80/tcp, 443/tcp")
    );
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")),
        "Welcome to nginx!\n"
    );
    // The page changes on the host; the container serves the new one (read-only bind).
    std::fs::write(site.path().join("index.html"), "my custom page\n").expect("index");
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")),
        "my custom page\n"
    );
    let r = b.run(&["exec", "webserver", "touch", "/usr/share/nginx/html/x"]);
    assert_ne!(r.code, 0, "the :ro mount refuses writes");
}

/// #15: `run -d -P` → `ps -l` shows the random port → `-p a:b -p c:d` →
/// `-p 127.0.0.1:5000:5000` → `-p 127.0.0.1::5000` → `/udp` → `docker port name 5000`;
/// then the NAT rules.
#[test]
fn walkthrough_15_port_mapping_variants_and_port() {
    let b = with_busybox();
    b.run(&["run", "--name", "app-base", "busybox", "true"])
        .ok();
    b.run(&["commit", "-c", "EXPOSE 5000", "app-base", "training/webapp"])
        .ok();
    let app = [
        "sh",
        "-c",
        "echo ' * Running on http://0.0.0.0:5000/'; exec httpd -f -p 5000 -h /",
    ];
    let mut args = vec!["run", "-d", "-P", "--name", "random"];
    args.push("training/webapp");
    args.extend_from_slice(&app);
    b.run(&args).ok();
    let ps = b.run(&["ps", "-l", "--format", "{{.Ports}}"]).ok().stdout;
    let random: u16 = ps
        .trim()
        .strip_prefix("0.0.0.0:")
        .and_then(|s| s.strip_suffix("->5000/tcp"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("ps -l ports: {ps}"));
    assert!(
        curl(&format!("http://127.0.0.1:{random}/etc/hostname")).contains(&inspect(
            &b,
            "{{.Config.Hostname}}",
            "random"
        ))
    );
    let logs = b.run(&["logs", "random"]).ok().stdout;
    assert!(logs.contains("Running on http://0.0.0.0:5000/"), "{logs}");

    let (p1, p2, p3, p4) = (free_port(), free_port(), free_port(), free_port());
    let mut args = vec![
        "run".to_string(),
        "-d".into(),
        "--name".into(),
        "many".into(),
        "-p".into(),
        format!("{p1}:5000"),
        "-p".into(),
        format!("{p2}:80"),
        "-p".into(),
        format!("127.0.0.1:{p3}:5000"),
        "-p".into(),
        "127.0.0.1::5000".into(),
        "-p".into(),
        format!("127.0.0.1:{p4}:5000/udp"),
        "training/webapp".into(),
    ];
    args.extend(app.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    b.run(&refs).ok();
    let all = b.run(&["port", "many"]).ok().stdout;
    assert!(all.contains(&format!("80/tcp -> 0.0.0.0:{p2}")), "{all}");
    assert!(
        all.contains(&format!("5000/udp -> 127.0.0.1:{p4}")),
        "{all}"
    );
    let five = b.run(&["port", "many", "5000"]).ok().stdout;
    let lines: Vec<&str> = five.lines().collect();
    assert_eq!(lines.len(), 3, "{five}");
    assert!(lines.contains(&format!("0.0.0.0:{p1}").as_str()), "{five}");
    assert!(
        lines.contains(&format!("127.0.0.1:{p3}").as_str()),
        "{five}"
    );
    for l in &lines {
        let port = l.rsplit(':').next().unwrap_or_default();
        assert!(
            curl(&format!("http://127.0.0.1:{port}/etc/hostname")).len() > 1,
            "{l}"
        );
    }
    // "Check the iptables DNAT/MASQUERADE rules": berth's nftables table has them.
    let rules = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("nft");
    let rules = String::from_utf8_lossy(&rules.stdout);
    let ip = inspect(&b, "{{.NetworkSettings.IPAddress}}", "many");
    assert!(
        rules.contains(&format!("tcp dport {p1} dnat ip to {ip}:5000")),
        "{rules}"
    );
    assert!(rules.contains("masquerade"));
}

/// #16: `run -d --name db training/postgres` → `run -d -P --name web --link db:db
/// training/webapp` → `ps` (NAMES `db,web/db`) → `run --rm --name web2 --link db:db
/// training/webapp env` (DB_* vars) → /etc/hosts → `ping db`.
#[test]
fn walkthrough_16_link_web_to_db() {
    let b = with_busybox();
    b.run(&["run", "--name", "pg-base", "busybox", "true"]).ok();
    b.run(&[
        "commit",
        "-c",
        "EXPOSE 5432",
        "-c",
        "ENV PG_VERSION=9.3",
        "pg-base",
        "training/postgres",
    ])
    .ok();
    b.run(&[
        "run",
        "-d",
        "--name",
        "db",
        "training/postgres",
        "sleep",
        "300",
    ])
    .ok();
    b.run(&[
        "run", "-d", "-P", "--name", "web", "--link", "db:db", "busybox", "sleep", "300",
    ])
    .ok();
    let names = b.run(&["ps", "--format", "{{.Names}}"]).ok().stdout;
    assert!(names.lines().any(|l| l == "db,web/db"), "{names}");
    let db_ip = inspect(&b, "{{.NetworkSettings.IPAddress}}", "db");
    let env = b
        .run(&[
            "run", "--rm", "--name", "web2", "--link", "db:db", "busybox", "env",
        ])
        .ok()
        .stdout;
    for want in [
        "DB_NAME=/web2/db".to_string(),
        format!("DB_PORT=tcp://{db_ip}:5432"),
        format!("DB_PORT_5432_TCP_ADDR={db_ip}"),
        "DB_PORT_5432_TCP_PORT=5432".into(),
        "DB_PORT_5432_TCP_PROTO=tcp".into(),
        "DB_ENV_PG_VERSION=9.3".into(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing:\n{env}");
    }
    let hosts = b.run(&["exec", "web", "cat", "/etc/hosts"]).ok().stdout;
    assert!(hosts.contains(&format!("{db_ip}\tdb ")), "{hosts}");
    let ping = b
        .run(&["exec", "web", "ping", "-c", "1", "-W", "2", "db"])
        .ok()
        .stdout;
    assert!(ping.contains(&format!("PING db ({db_ip})")), "{ping}");
}

/// #18: `run -it --rm --net=none` → a veth pair made by hand into its namespace with
/// 172.17.42.99/16 → ping; `--net=host` and `container:` modes.
#[test]
fn walkthrough_18_networking_by_hand_and_modes() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "--net=none",
        "--name",
        "bare",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let pid = inspect(&b, "{{.State.Pid}}", "bare");
    let tag = format!("{:x}", std::process::id() % 0xffff);
    let (host_end, ctr_end) = (format!("bh{tag}"), format!("bc{tag}"));
    struct Link(String);
    impl Drop for Link {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
    let ip = |args: &[&str]| {
        let ok = Command::new("ip")
            .args(args)
            .status()
            .expect("ip (install iproute2)");
        assert!(ok.success(), "ip {args:?}");
    };
    ip(&[
        "link", "add", &host_end, "type", "veth", "peer", "name", &ctr_end,
    ]);
    let _guard = Link(host_end.clone());
    ip(&["addr", "add", "10.204.42.1/24", "dev", &host_end]);
    ip(&["link", "set", &host_end, "up"]);
    ip(&["link", "set", &ctr_end, "netns", &pid]);
    let inside = |cmd: &str| {
        let out = Command::new("nsenter")
            .args(["--target", &pid, "--net", "--", "sh", "-c", cmd])
            .output()
            .expect("nsenter (install util-linux)");
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    inside(&format!(
        "ip link set {ctr_end} name eth0 && ip addr add 10.204.42.99/24 dev eth0 && ip link set eth0 up"
    ));
    let r = b
        .run(&["exec", "bare", "ping", "-c", "1", "-W", "2", "10.204.42.1"])
        .ok();
    assert!(r.stdout.contains("1 packets received"), "{}", r.stdout);

    // --net=host sees the host's interfaces; container: sees bare's eth0.
    let host_if = b
        .run(&[
            "run",
            "--rm",
            "--net=host",
            "busybox",
            "ls",
            "/sys/class/net",
        ])
        .ok()
        .stdout;
    assert!(host_if.contains(&host_end), "{host_if}");
    let shared = b
        .run(&[
            "run",
            "--rm",
            "--net=container:bare",
            "busybox",
            "ip",
            "-4",
            "-o",
            "addr",
        ])
        .ok()
        .stdout;
    assert!(shared.contains("10.204.42.99/24"), "{shared}");
}

/// #19: `network ls` (bridge/host/none) → `network create` → c1 and c2 on it → `ping
/// c1` from c2 → `network connect/disconnect/inspect/rm`.
#[test]
fn walkthrough_19_user_defined_network() {
    let b = with_busybox();
    let ls = b.run(&["network", "ls"]).ok().stdout;
    let names: Vec<&str> = ls
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(names, ["bridge", "host", "none"], "{ls}");
    b.run(&["network", "create", "multi"]).ok();
    b.run(&[
        "run",
        "-d",
        "--name=c1",
        "--net=multi",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let r = b
        .run(&[
            "run",
            "--rm",
            "--name=c2",
            "--net=multi",
            "busybox",
            "ping",
            "-c",
            "1",
            "-W",
            "2",
            "c1",
        ])
        .ok();
    let c1_ip = inspect(&b, "{{.NetworkSettings.Networks.multi.IPAddress}}", "c1");
    assert!(
        r.stdout.contains(&format!("PING c1 ({c1_ip})")),
        "{}",
        r.stdout
    );
    // connect a container from the default bridge, then disconnect it.
    b.run(&["run", "-d", "--name", "c3", "busybox", "sleep", "300"])
        .ok();
    b.run(&["network", "connect", "multi", "c3"]).ok();
    let inspected = b
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{range .Containers}}{{.Name}} {{end}}",
            "multi",
        ])
        .ok()
        .stdout;
    let mut members: Vec<&str> = inspected.split_whitespace().collect();
    members.sort();
    assert_eq!(members, ["c1", "c3"]);
    let r = b
        .run(&["exec", "c3", "ping", "-c", "1", "-W", "2", "c1"])
        .ok();
    assert!(r.stdout.contains("1 packets received"), "{}", r.stdout);
    b.run(&["network", "disconnect", "multi", "c3"]).ok();
    let r = b.run(&["exec", "c3", "ping", "-c", "1", "-W", "1", &c1_ip]);
    assert_ne!(r.code, 0, "c3 left multi: {}", r.stdout);
    let r = b.run(&["network", "rm", "multi"]).fails();
    assert!(r.stderr.contains("has active endpoints"), "{}", r.stderr);
    b.run(&["rm", "-f", "c1"]).ok();
    b.run(&["network", "rm", "multi"]).ok();
    let r = b.run(&["network", "inspect", "multi"]).fails();
    assert!(r.stderr.contains("network multi not found"), "{}", r.stderr);
}
