//! Networking, as root, against real bridges, veth pairs, nftables rules and the
//! embedded DNS server. Every test has its own `--root`, so its bridges and its
//! nftables table carry their own names; the harness removes them afterwards.

mod common;

use std::process::Command;

use common::{eventually, free_port, with_busybox, Berth};

/// An HTTP GET through busybox nc inside a container; returns the body's last line.
fn nc_get(b: &Berth, extra: &[&str], host: &str, port: &str) -> common::Run {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}");
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    b.run(&args)
}

/// A busybox httpd serving `text` as index.html, detached, with `flags`.
fn web(b: &Berth, name: &str, text: &str, flags: &[&str]) -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::write(site.path().join("index.html"), format!("{text}\n")).expect("index.html");
    let vol = format!("{}:/www:ro", site.path().display());
    let mut args = vec!["run", "-d", "--name", name, "-v", &vol];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]);
    b.run(&args).ok();
    site
}

/// GET from the host with curl.
fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "-m", "3", url])
        .output()
        .unwrap_or_else(|e| {
            panic!("running curl failed ({e}): install curl (apt-get install curl)")
        });
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host's first global IPv4 address outside berth's pools.
fn host_ip() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap_or_else(|e| panic!("running ip failed ({e}): install iproute2"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let addrs: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|a| a.split('/').next())
        .map(str::to_string)
        .collect();
    addrs
        .iter()
        .find(|a| !a.starts_with("172.") && !a.starts_with("10.20"))
        .or_else(|| addrs.first())
        .cloned()
        .expect("this host needs a global IPv4 address for the network tests")
}

fn inspect(b: &Berth, name: &str, template: &str) -> String {
    b.run(&["inspect", "-f", template, name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

fn table(b: &Berth) -> String {
    // The table name is derived from the root; list every berth table and keep ours by
    // the bridge name the default network reports.
    let bridge = b
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{index .Options \"com.docker.network.bridge.name\"}}",
            "bridge",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap_or_else(|e| panic!("running nft failed ({e}): install nftables"));
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.split("\ntable ")
        .find(|t| t.contains(&format!("\"{bridge}\"")) && t.contains("inet berth"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn default_bridge_gives_an_address_route_and_outbound_nat() {
    let b = with_busybox();
    let r = b
        .run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "ip -4 -o addr show eth0; ip route; cat /etc/hosts",
        ])
        .ok();
    assert!(r.stdout.contains("inet 172."), "{}", r.stdout);
    assert!(r.stdout.contains("default via 172."), "{}", r.stdout);
    // The host (outside the bridge) answers: routing and masquerade work.
    let ip = host_ip();
    b.run(&["run", "--rm", "busybox", "ping", "-c", "1", "-W", "2", &ip])
        .ok();
    let t = table(&b);
    assert!(t.contains("masquerade"), "{t}");
    // Addresses come back when containers exit: the next one gets the same.
    let first = inspect_ip_of_run(&b);
    let second = inspect_ip_of_run(&b);
    assert_eq!(first, second);
}

/// Sysctls for the container's own interface: the interfaces exist before the
/// runtime applies sysctls (as with Docker), every time.
#[test]
fn sysctls_can_name_the_containers_eth0() {
    let b = with_busybox();
    for _ in 0..5 {
        let r = b
            .run(&[
                "run",
                "--rm",
                "--sysctl",
                "net.ipv4.conf.eth0.route_localnet=1",
                "busybox",
                "cat",
                "/proc/sys/net/ipv4/conf/eth0/route_localnet",
            ])
            .ok();
        assert_eq!(r.stdout, "1\n");
    }
}

fn inspect_ip_of_run(b: &Berth) -> String {
    b.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0 | awk '{print $4}'",
    ])
    .ok()
    .stdout
    .trim()
    .to_string()
}

#[test]
fn user_network_resolves_names_aliases_and_short_ids() {
    let b = with_busybox();
    b.run(&["network", "create", "--subnet", "10.201.7.0/24", "appnet"])
        .ok();
    let _site = web(
        &b,
        "api",
        "hello-from-api",
        &[
            "--network",
            "appnet",
            "--network-alias",
            "backend",
            "--ip",
            "10.201.7.50",
        ],
    );
    assert_eq!(
        inspect(&b, "api", "{{.NetworkSettings.Networks.appnet.IPAddress}}"),
        "10.201.7.50"
    );
    for host in ["api", "backend", "api.appnet"] {
        let r = nc_get(&b, &["--network", "appnet"], host, "80").ok();
        assert!(r.stdout.contains("hello-from-api"), "{host}: {}", r.stdout);
    }
    let id = inspect(&b, "api", "{{.Id}}");
    let r = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "appnet",
            "busybox",
            "sh",
            "-c",
            &format!(
                "cat /etc/resolv.conf; nslookup {} 127.0.0.11; nslookup 10.201.7.50 127.0.0.11",
                &id[..12]
            ),
        ])
        .ok();
    assert!(r.stdout.contains("nameserver 127.0.0.11"), "{}", r.stdout);
    assert!(r.stdout.contains("Address: 10.201.7.50"), "{}", r.stdout);
    assert!(
        r.stdout.contains("name = api"),
        "reverse lookup: {}",
        r.stdout
    );
    // The default bridge has no embedded DNS: names do not resolve there.
    let r = nc_get(&b, &[], "api", "80");
    assert!(!r.stdout.contains("hello-from-api"));
    // In use: refused with Docker's message; after rm it goes, bridge included.
    let r = b.run(&["network", "rm", "appnet"]).fails();
    assert!(r.stderr.contains("has active endpoints"), "{}", r.stderr);
    let bridge = format!(
        "br-{}",
        &b.run(&["network", "inspect", "-f", "{{.Id}}", "appnet"])
            .ok()
            .stdout[..12]
    );
    assert!(link_exists(&bridge));
    b.run(&["rm", "-f", "api"]).ok();
    b.run(&["network", "rm", "appnet"]).ok();
    assert!(!link_exists(&bridge), "the bridge goes with the network");
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn published_ports_answer_on_localhost_host_address_and_hairpin() {
    let b = with_busybox();
    let port = free_port();
    let _site = web(&b, "web", "hello-published", &["-p", &format!("{port}:80")]);
    let ps = b.run(&["ps", "--format", "{{.Ports}}"]).ok().stdout;
    assert_eq!(ps.trim(), format!("0.0.0.0:{port}->80/tcp"));
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")).as_deref(),
        Some("hello-published\n")
    );
    let ip = host_ip();
    assert_eq!(
        curl(&format!("http://{ip}:{port}/")).as_deref(),
        Some("hello-published\n")
    );
    // Another container reaches it through the host's address (hairpin NAT).
    let r = nc_get(&b, &[], &ip, &port.to_string()).ok();
    assert!(r.stdout.contains("hello-published"), "{}", r.stdout);
    // The port is taken: a clear error, exit 125, nothing left running.
    let r = b.run(&[
        "run",
        "-d",
        "--name",
        "clash",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "9",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("port is already allocated"),
        "{}",
        r.stderr
    );
    // Stopping removes the DNAT rule.
    b.run(&["stop", "-t", "0", "web"]).ok();
    assert!(curl(&format!("http://127.0.0.1:{port}/")).is_none());
    assert!(!table(&b).contains(&format!("dport {port}")));
}

#[test]
fn publish_all_maps_exposed_ports_to_random_host_ports() {
    let b = with_busybox();
    // An image with EXPOSE: commit a container with --change.
    b.run(&["run", "--name", "base", "busybox", "true"]).ok();
    b.run(&[
        "commit",
        "-c",
        "EXPOSE 80",
        "-c",
        "EXPOSE 81/udp",
        "base",
        "exposer",
    ])
    .ok();
    let site = tempfile::tempdir().expect("site");
    std::fs::write(site.path().join("index.html"), "random-port\n").expect("index");
    let vol = format!("{}:/www", site.path().display());
    b.run(&[
        "run", "-d", "-P", "--name", "pub", "-v", &vol, "exposer", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ])
    .ok();
    let mapped = b.run(&["port", "pub", "80"]).ok().stdout;
    let port = mapped
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("port output: {mapped}"));
    assert!(port >= 1024, "{mapped}");
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")).as_deref(),
        Some("random-port\n")
    );
    let udp = b.run(&["port", "pub", "81/udp"]).ok().stdout;
    assert!(udp.starts_with("0.0.0.0:"), "{udp}");
}

#[test]
fn links_write_hosts_and_environment() {
    let b = with_busybox();
    b.run(&[
        "run",
        "-d",
        "--name",
        "db",
        "-e",
        "DB_PASSWORD=s3cret",
        "--expose",
        "5432",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let db_ip = inspect(&b, "db", "{{.NetworkSettings.IPAddress}}");
    assert!(db_ip.starts_with("172."), "{db_ip}");
    let r = b
        .run(&[
            "run",
            "--rm",
            "--name",
            "web2",
            "--link",
            "db:db",
            "busybox",
            "sh",
            "-c",
            "env | sort; cat /etc/hosts; ping -c 1 -W 2 db",
        ])
        .ok();
    let out = r.stdout;
    for want in [
        "DB_NAME=/web2/db".to_string(),
        format!("DB_PORT=tcp://{db_ip}:5432"),
        format!("DB_PORT_5432_TCP=tcp://{db_ip}:5432"),
        format!("DB_PORT_5432_TCP_ADDR={db_ip}"),
        "DB_PORT_5432_TCP_PORT=5432".into(),
        "DB_PORT_5432_TCP_PROTO=tcp".into(),
        "DB_ENV_DB_PASSWORD=s3cret".into(),
    ] {
        assert!(out.contains(&want), "missing {want} in:\n{out}");
    }
    assert!(out.contains(&format!("{db_ip}\tdb ")), "{out}");
    assert!(out.contains("1 packets received"), "{out}");
    // Linking to a stopped container fails like Docker.
    b.run(&["stop", "-t", "0", "db"]).ok();
    let r = b.run(&["run", "--rm", "--link", "db:db", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("Cannot link to a non running container"),
        "{}",
        r.stderr
    );
}

#[test]
fn networks_are_isolated_and_internal_has_no_egress() {
    let b = with_busybox();
    b.run(&["network", "create", "--subnet", "10.202.1.0/24", "front"])
        .ok();
    b.run(&["network", "create", "--subnet", "10.202.2.0/24", "back"])
        .ok();
    b.run(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.202.3.0/24",
        "vault",
    ])
    .ok();
    let _a = web(&b, "on-back", "back-secret", &["--network", "back"]);
    let back_ip = inspect(
        &b,
        "on-back",
        "{{.NetworkSettings.Networks.back.IPAddress}}",
    );
    // Same network: reachable. Another network: not.
    let r = nc_get(&b, &["--network", "back"], &back_ip, "80").ok();
    assert!(r.stdout.contains("back-secret"), "{}", r.stdout);
    let r = nc_get(&b, &["--network", "front"], &back_ip, "80");
    assert!(
        !r.stdout.contains("back-secret"),
        "isolation broken: {}",
        r.stdout
    );
    // Internal: no route out, but containers on it talk to each other.
    let ip = host_ip();
    let r = b.run(&[
        "run",
        "--rm",
        "--network",
        "vault",
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        &ip,
    ]);
    assert_ne!(r.code, 0, "an internal network must not reach {ip}");
    let _v = web(&b, "in-vault", "vault-data", &["--network", "vault"]);
    let r = nc_get(&b, &["--network", "vault"], "in-vault", "80").ok();
    assert!(r.stdout.contains("vault-data"), "{}", r.stdout);
    // connect/disconnect a running container.
    b.run(&["network", "connect", "front", "on-back"]).ok();
    let front_ip = inspect(
        &b,
        "on-back",
        "{{.NetworkSettings.Networks.front.IPAddress}}",
    );
    assert!(front_ip.starts_with("10.202.1."), "{front_ip}");
    let r = nc_get(&b, &["--network", "front"], "on-back", "80").ok();
    assert!(r.stdout.contains("back-secret"), "{}", r.stdout);
    b.run(&["network", "disconnect", "front", "on-back"]).ok();
    let r = nc_get(&b, &["--network", "front"], &front_ip, "80");
    assert!(!r.stdout.contains("back-secret"));
    let ls = b
        .run(&["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .stdout;
    for n in ["back", "bridge", "front", "host", "none", "vault"] {
        assert!(ls.lines().any(|l| l == n), "{n} missing from {ls}");
    }
}

#[test]
fn container_mode_shares_the_network_namespace() {
    let b = with_busybox();
    let _s = web(&b, "owner", "shared-ns", &[]);
    let r = nc_get(&b, &["--network", "container:owner"], "127.0.0.1", "80").ok();
    assert!(r.stdout.contains("shared-ns"), "{}", r.stdout);
    // It also takes the owner's hostname and /etc files, as in Docker.
    let owner_host = inspect(&b, "owner", "{{.Config.Hostname}}");
    let r = b
        .run(&[
            "run",
            "--rm",
            "--network",
            "container:owner",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname",
        ])
        .ok();
    assert_eq!(r.stdout, format!("{owner_host}\n{owner_host}\n"));
    let r = b.run(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "-p",
        "81:81",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("conflicting options"), "{}", r.stderr);
    let r = b.run(&["run", "--rm", "--network", "nosuchnet", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("network nosuchnet not found"),
        "{}",
        r.stderr
    );
}

#[test]
fn killed_monitor_leaves_no_address_or_rule_behind() {
    let b = with_busybox();
    let port = free_port();
    b.run(&[
        "run",
        "-d",
        "--name",
        "victim",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    let ip = inspect(&b, "victim", "{{.NetworkSettings.IPAddress}}");
    assert!(table(&b).contains(&format!("dport {port}")));
    let engine = berth::engine::Engine::open(Some(b.path())).expect("engine");
    let monitor = engine
        .container_get("victim")
        .expect("record")
        .state
        .monitor_pid as i32;
    assert!(monitor > 0);
    // SAFETY: kill(2) on a pid we just read.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    // The next command notices, kills the container and cleans up.
    assert!(eventually(10, || common::state(&b, "victim", "Status") == "exited"));
    assert!(
        eventually(10, || !table(&b).contains(&format!("dport {port}"))),
        "the DNAT rule must go"
    );
    let next = inspect_ip_of_run(&b);
    assert_eq!(
        next.split('/').next(),
        Some(ip.as_str()),
        "the address came back"
    );
}

#[test]
fn forward_drop_policy_from_another_tool_is_worked_around() {
    // In a private network namespace, so the DROP policy touches nothing else.
    let ns = format!("berth-fwd-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .expect("ip netns");
    assert!(ok.success(), "ip netns add failed: install iproute2");
    struct Netns(String);
    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _guard = Netns(ns.clone());
    let nft = |script: &str| {
        let mut c = Command::new("ip")
            .args(["netns", "exec", &ns, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        use std::io::Write;
        c.stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write");
        assert!(c.wait().expect("nft").success());
    };
    nft("table ip filter {\n chain FORWARD {\n  type filter hook forward priority filter; policy drop;\n }\n}\n");
    let b = with_busybox();
    let run = |args: &[&str]| {
        // nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup mounts.
        let out = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{ns}"))
            .args([env!("CARGO_BIN_EXE_berth"), "--root"])
            .arg(b.path())
            .args(args)
            .output()
            .expect("berth in netns");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, _) = run(&["network", "create", "--subnet", "10.203.0.0/24", "n1"]);
    assert_eq!(code, 0);
    let site = tempfile::tempdir().expect("site");
    std::fs::write(site.path().join("index.html"), "through-drop\n").expect("index");
    let vol = format!("{}:/www", site.path().display());
    let (code, _) = run(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "n1",
        "-v",
        &vol,
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    assert_eq!(code, 0);
    let (_, out) = run(&[
        "run",
        "--rm",
        "--network",
        "n1",
        "busybox",
        "sh",
        "-c",
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 srv 80",
    ]);
    assert!(
        out.contains("through-drop"),
        "bridged traffic was dropped: {out}"
    );
    let listed = Command::new("ip")
        .args([
            "netns", "exec", &ns, "nft", "list", "chain", "ip", "filter", "FORWARD",
        ])
        .output()
        .expect("nft list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("comment \"berth\""), "{listed}");
    run(&["rm", "-f", "srv"]);
}

#[test]
fn concurrent_starts_get_distinct_addresses_and_flags_reach_the_files() {
    let b = with_busybox();
    b.run(&["network", "create", "--subnet", "10.205.0.0/28", "small"])
        .ok();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let cmd = b
                .cmd()
                .args([
                    "run",
                    "-d",
                    "--name",
                    &format!("par{i}"),
                    "--network",
                    "small",
                    "busybox",
                    "sleep",
                    "300",
                ])
                .spawn()
                .expect("spawning berth");
            cmd
        })
        .collect();
    for mut h in handles {
        assert!(h.wait().expect("berth run").success());
    }
    let mut ips: Vec<String> = (0..8)
        .map(|i| {
            inspect(
                &b,
                &format!("par{i}"),
                "{{.NetworkSettings.Networks.small.IPAddress}}",
            )
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 8, "{ips:?}");
    // A /28 has 13 addresses for containers: the 14th start says so.
    for i in 8..13 {
        b.run(&[
            "run",
            "-d",
            "--name",
            &format!("par{i}"),
            "--network",
            "small",
            "busybox",
            "sleep",
            "300",
        ])
        .ok();
    }
    let r = b.run(&["run", "-d", "--network", "small", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("no available IPv4 addresses"),
        "{}",
        r.stderr
    );

    let r = b
        .run(&[
            "run",
            "--rm",
            "--hostname",
            "box",
            "--mac-address",
            "02:42:de:ad:be:ef",
            "--add-host",
            "gw:host-gateway",
            "--add-host",
            "db.local:10.9.9.9",
            "--dns",
            "10.1.1.1",
            "--dns-search",
            "corp.example",
            "--dns-option",
            "ndots:2",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /sys/class/net/eth0/address /etc/hosts /etc/resolv.conf",
        ])
        .ok();
    let gw = b
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
            "bridge",
        ])
        .ok()
        .stdout;
    let out = r.stdout;
    assert!(out.starts_with("box\n02:42:de:ad:be:ef\n"), "{out}");
    assert!(out.contains(&format!("{}\tgw\n", gw.trim())), "{out}");
    assert!(out.contains("10.9.9.9\tdb.local\n"), "{out}");
    assert!(out.contains("nameserver 10.1.1.1\n"), "{out}");
    assert!(out.contains("search corp.example\n"), "{out}");
    assert!(out.contains("options ndots:2\n"), "{out}");
}
