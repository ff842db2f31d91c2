//! End to end: the console over the real in-process engine. A container runs, shows
//! up in the table with its logs, the stop key stops it, and the table says so.
//! Needs root (real containers), like the other integration tests.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth::client::EngineClient;
use berth::engine::Engine;
use berth::ui::harness::Harness;
use berth::ui::Settings;
use bollard::models::ContainerCreateBody;
use common::console::{console_with_container, wait_screen};
use common::Berth;

/// Lets the engine's followers deliver and the app refresh until `ok` holds for the
/// screen, or fails with the last screen after `limit`.
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains(name))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_key_stops_a_real_container() {
    let b = Berth::new();
    let (mut h, id) = console_with_container(
        &b,
        "e2e-web",
        "trap 'exit 0' TERM; echo hello from berth; while true; do sleep 0.1; done",
    )
    .await;
    wait_screen(
        &mut h,
        "the running container and its log",
        Duration::from_secs(20),
        |s| row(s, "e2e-web").contains("running") && s.contains("hello from berth"),
    )
    .await;

    h.keys(&["x"]).await;
    wait_screen(
        &mut h,
        "the container to stop",
        Duration::from_secs(30),
        |s| row(s, "e2e-web").contains("exited"),
    )
    .await;
    let screen = h.screen();
    assert!(screen.contains("stop: e2e-web"), "{screen}");

    // And the engine agrees.
    let engine = Engine::open(Some(b.path())).expect("reopening the engine");
    let rec = engine.container_get(&id).expect("the container record");
    assert!(!rec.state.running, "{:?}", rec.state);
}

/// A 1,000,000-record json-file log opens on its tail within 200 ms, older pages are
/// read on scrolling up, and the console holds a bounded window of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_line_log_opens_on_its_tail() {
    use berth::client::{Client, LogRequest};
    use futures::StreamExt;
    use std::io::Write;

    const LINES: usize = 1_000_000;
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    let engine = Engine::open(Some(b.path())).expect("opening the engine");
    let body = ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(vec!["true".into()]),
        ..Default::default()
    };
    let id = engine
        .container_create(Some("e2e-biglog".into()), body)
        .expect("creating the container");
    let path = engine.container_log_path(&id);
    std::fs::create_dir_all(path.parent().expect("a log dir")).expect("creating the log dir");
    let start = chrono::DateTime::parse_from_rfc3339("2026-05-01T00:00:00Z")
        .expect("a time")
        .with_timezone(&chrono::Utc);
    {
        let f = std::fs::File::create(&path).expect("creating the log");
        let mut w = std::io::BufWriter::new(f);
        for i in 0..LINES {
            let t = start + chrono::Duration::microseconds(i as i64 * 10);
            writeln!(
                w,
                r#"{{"log":"\u001b[32mline {i:07}\u001b[0m GET /api/items 200\n","stream":"stdout","time":"{}"}}"#,
                t.format("%Y-%m-%dT%H:%M:%S%.9fZ")
            )
            .expect("writing the log");
        }
        w.flush().expect("writing the log");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let client = Arc::new(EngineClient::new(engine));
    let t0 = Instant::now();
    let req = LogRequest {
        tail: Some(500),
        follow: false,
        until: None,
    };
    let tail: Vec<_> = client
        .logs(&id, req)
        .await
        .expect("reading the tail")
        .collect()
        .await;
    let tail_ms = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(tail.len(), 500);
    let last = tail
        .last()
        .and_then(|l| l.as_ref().ok())
        .expect("a last line");
    assert!(
        last.text.contains(&format!("line {:07}", LINES - 1)),
        "{last:?}"
    );
    eprintln!(
        "1,000,000-line log ({} MB): tail of 500 read in {tail_ms:.1} ms",
        size / 1_000_000
    );
    assert!(
        tail_ms <= 200.0,
        "the tail took {tail_ms:.1} ms (limit 200 ms)"
    );

    let settings = Settings {
        log_tail: 500,
        log_lines: 2000,
        ..Settings::default()
    };
    let mut h = Harness::with_log_wait(
        client,
        settings,
        chrono::Utc::now(),
        120,
        40,
        Duration::from_millis(200),
    )
    .await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("line {:07}", LINES - 1)),
        "{screen}"
    );
    assert_eq!(h.app.details.logs.len(), 500);
    // Ten pages up: each is read when the view reaches the first line held.
    let t0 = Instant::now();
    for _ in 0..10 {
        h.keys(&["enter", "g"]).await;
    }
    let pages_ms = t0.elapsed().as_secs_f64() * 1000.0;
    eprintln!("10 older pages of 500 read in {pages_ms:.0} ms");
    // The view stays on the line it reached while the tenth page went in front of it.
    let screen = h.screen();
    assert!(
        screen.contains(&format!("line {:07}", LINES - 500 * 10)),
        "{screen}"
    );
    assert_eq!(h.app.details.logs.len(), 2000, "the window stays bounded");

    // The worst page: the log's first, found by walking back over the whole file.
    let client = EngineClient::new(Engine::open(Some(b.path())).expect("reopening the engine"));
    let t0 = Instant::now();
    let req = LogRequest {
        tail: Some(500),
        follow: false,
        until: Some(start + chrono::Duration::microseconds(999 * 10)),
    };
    let first: Vec<_> = client
        .logs(&id, req)
        .await
        .expect("reading the first page")
        .collect()
        .await;
    eprintln!(
        "the first page (500 records before record 1000) read in {:.0} ms",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(first.len(), 500);
}

/// Events written by another process (the CLI) reach the console at once: the events
/// follower wakes on the database's change rather than polling it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_another_process_arrive_promptly() {
    use berth::client::{Client, EventsFrom};
    use futures::StreamExt;

    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    let client = EngineClient::new(Engine::open(Some(b.path())).expect("opening the engine"));
    let mut events = client.events(EventsFrom::Now).await.expect("subscribing");
    // Let the follower reach its wait before the change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    b.run(&["create", "--name", "e2e-evt", "busybox", "true"])
        .ok();
    let created = t0.elapsed();
    let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .expect("an event, not an error");
    let latency = t0.elapsed() - created;
    assert_eq!(ev.action.as_deref(), Some("create"), "{ev:?}");
    // Well under the 2 s the follower waits when nothing changes.
    assert!(latency < Duration::from_millis(1000), "took {latency:?}");
}

/// The layer explorer on a real image built in two commits: a file added, then removed
/// by a whiteout in the next layer, which counts as wasted space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_explorer_on_committed_layers() {
    use berth::client::{Client, FileChangeKind};

    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    b.run(&[
        "run",
        "--name",
        "e2e-l1",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/big bs=1024 count=300 2>/dev/null; echo hi > /etc/motd",
    ])
    .ok();
    b.run(&["commit", "e2e-l1", "e2e-layers:one"]).ok();
    b.run(&[
        "run",
        "--name",
        "e2e-l2",
        "--network",
        "none",
        "e2e-layers:one",
        "rm",
        "/big",
    ])
    .ok();
    b.run(&["commit", "e2e-l2", "e2e-layers:two"]).ok();

    let client = EngineClient::new(Engine::open(Some(b.path())).expect("opening the engine"));
    let m = client
        .image_layers("e2e-layers:two")
        .await
        .expect("the layer explorer's model");
    let real: Vec<_> = m.layers.iter().filter(|l| !l.empty).collect();
    assert_eq!(real.len(), 3, "{m:#?}");
    assert!(
        real[0]
            .changes
            .iter()
            .any(|c| c.path == "/bin/busybox" && c.size > 100_000),
        "the base layer: {:?}",
        real[0].changes.iter().take(5).collect::<Vec<_>>()
    );
    let added = real[1]
        .changes
        .iter()
        .find(|c| c.path == "/big")
        .expect("/big in the second layer");
    assert_eq!(
        (added.kind, added.size),
        (FileChangeKind::Added, 300 * 1024)
    );
    assert!(real[1].changes.iter().any(|c| c.path == "/etc/motd"));
    let removed = real[2]
        .changes
        .iter()
        .find(|c| c.path == "/big")
        .expect("/big in the third layer");
    assert_eq!(removed.kind, FileChangeKind::Removed);
    assert_eq!(
        removed.size,
        300 * 1024,
        "a removal is sized by the copy it hides"
    );
    assert_eq!(m.wasted, 300 * 1024);
    assert_eq!(m.wasted_paths[0].0, "/big");
}
