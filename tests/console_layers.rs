//! The image layer explorer against the fake backend: the Images view's Layers tab,
//! with the history steps, the selected layer's file tree, and the wasted space.

use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::ui::harness::Harness;
use berth::ui::Settings;

#[tokio::test]
async fn layers_tab_snapshots() {
    for (w, h) in [(80, 24), (160, 45)] {
        let client = FakeClient::demo();
        let mut t = Harness::new(Arc::new(client), Settings::default(), fixed_now(), w, h).await;
        t.keys(&["2", "enter", "tab"]).await;
        let screen = t.screen();
        assert!(screen.contains("wasted 5.3"), "{screen}");
        insta::assert_snapshot!(format!("layers_{w}x{h}"), screen);
    }
}

#[tokio::test]
async fn moving_through_layers_shows_their_files() {
    let client = FakeClient::demo();
    let mut t = Harness::new(Arc::new(client), Settings::default(), fixed_now(), 160, 45).await;
    t.keys(&["2", "enter", "tab"]).await;
    let screen = t.screen();
    assert!(screen.contains("busybox"), "the base layer first: {screen}");
    t.keys(&["j"]).await;
    let screen = t.screen();
    assert!(screen.contains("main_Packages"), "{screen}");
    assert!(screen.contains("+"), "{screen}");
    t.keys(&["j", "j"]).await;
    let screen = t.screen();
    assert!(screen.contains("files of layer 4"), "{screen}");
    assert!(screen.contains(" - "), "removals are marked: {screen}");
    t.keys(&["k"]).await;
    assert!(t.screen().contains("no files changed (metadata only)"));
    // Back to Inspect and the layers are kept for the same image.
    t.keys(&["tab"]).await;
    assert!(t.screen().contains("Inspect"));
    assert!(t.app.details.layers.is_some());
}
