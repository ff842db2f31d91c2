//! The console on a real engine, for end-to-end tests: one started busybox container
//! and a harness on the in-process engine client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth::client::EngineClient;
use berth::engine::Engine;
use berth::ui::harness::Harness;
use berth::ui::Settings;
use bollard::models::ContainerCreateBody;

use super::Berth;

/// Creates and starts container `name` running `sh -c script` (busybox, loaded first),
/// then opens the console on the engine at 120x30. Returns the harness and the id.
pub async fn console_with_container(b: &Berth, name: &str, script: &str) -> (Harness, String) {
    b.load("busybox-docker-archive.tar");
    let engine = Engine::open(Some(b.path())).expect("opening the engine");
    let body = ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(["sh", "-c", script].map(String::from).to_vec()),
        ..Default::default()
    };
    let id = engine
        .container_create(Some(name.into()), body)
        .expect("creating the container");
    // Starting re-executes the running program as the container's monitor, so it goes
    // through the berth binary rather than the test binary.
    b.run(&["start", &id]).ok();
    let h = Harness::with_log_wait(
        Arc::new(EngineClient::new(engine)),
        Settings::default(),
        chrono::Utc::now(),
        120,
        30,
        Duration::from_millis(50),
    )
    .await;
    (h, id)
}

/// Ticks and polls the console until `ok(screen)` holds; fails with the screen after
/// `limit`.
pub async fn wait_screen(h: &mut Harness, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        h.ticks(1).await;
        h.poll().await;
        let screen = h.screen();
        if ok(&screen) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}; the screen:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
