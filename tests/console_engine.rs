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
use common::Berth;

/// Lets the engine's followers deliver and the app refresh until `ok` holds for the
/// screen, or fails with the last screen after `limit`.
async fn wait_for(h: &mut Harness, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        h.ticks(1).await;
        let screen = h.screen();
        if ok(&screen) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}; the screen:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.poll().await;
    }
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with('│') && l.contains(name))
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_key_stops_a_real_container() {
    let b = Berth::new();
    b.load("busybox-docker-archive.tar");
    let engine = Engine::open(Some(b.path())).expect("opening the engine");
    let body = ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(
            [
                "sh",
                "-c",
                "trap 'exit 0' TERM; echo hello from berth; while true; do sleep 0.1; done",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ..Default::default()
    };
    let id = engine
        .container_create(Some("e2e-web".into()), body)
        .expect("creating the container");
    // Starting re-executes the running program as the container's monitor, so it goes
    // through the berth binary rather than this test binary.
    b.run(&["start", &id]).ok();

    let client = EngineClient::new(engine);
    let mut h = Harness::with_log_wait(
        Arc::new(client),
        Settings::default(),
        chrono::Utc::now(),
        120,
        30,
        Duration::from_millis(50),
    )
    .await;
    wait_for(
        &mut h,
        "the running container and its log",
        Duration::from_secs(20),
        |s| row(s, "e2e-web").contains("running") && s.contains("hello from berth"),
    )
    .await;

    h.keys(&["x"]).await;
    wait_for(
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
