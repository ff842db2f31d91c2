//! Renders the console's main views (fake backend, pinned clock) to PNGs: ratatui
//! buffer -> SVG (DejaVu Sans Mono grid, Debian's fonts-dejavu-core) -> PNG with resvg.
//! Every run renders them into a scratch dir and checks them; to refresh the README's
//! pictures in screenshots/:
//!
//!     BERTH_UPDATE_SCREENSHOTS=1 cargo test --test console_screenshots

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::ui::harness::Harness;
use berth::ui::theme::Theme;
use berth::ui::Settings;
use berth::widgets::svg::{buffer_to_svg, Palette, DARK, LIGHT};

const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

fn out_dir() -> PathBuf {
    if std::env::var_os("BERTH_UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots")
    } else {
        std::env::temp_dir().join(format!("berth-screenshots-{}", std::process::id()))
    }
}

fn rasterise(svg: &str, png: &Path) {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut().load_fonts_dir(FONT_DIR);
    assert!(
        opt.fontdb.faces().any(|f| f
            .families
            .iter()
            .any(|(name, _)| name == "DejaVu Sans Mono")),
        "DejaVu Sans Mono not found in {FONT_DIR}: apt-get install fonts-dejavu-core"
    );
    let tree = resvg::usvg::Tree::from_str(svg, &opt).expect("parsing the SVG");
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("allocating a pixmap");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.save_png(png).expect("writing the PNG");
}

/// What to do before taking a picture: stats ticks, keys, text typed, more keys.
#[derive(Default)]
struct Scene<'a> {
    ticks: usize,
    keys: &'a [&'a str],
    typed: &'a str,
    after: &'a [&'a str],
}

async fn shot(name: &str, settings: Settings, palette: Palette, (w, h): (u16, u16), s: Scene<'_>) {
    let client = FakeClient::demo();
    let mut t = Harness::new(Arc::new(client), settings, fixed_now(), w, h).await;
    t.ticks(s.ticks).await;
    t.keys(s.keys).await;
    if !s.typed.is_empty() {
        t.type_text(s.typed).await;
    }
    t.keys(s.after).await;
    let svg = buffer_to_svg(&t.render(), palette);
    std::fs::create_dir_all(out_dir()).expect("creating the screenshots dir");
    let png = out_dir().join(format!("{name}.png"));
    rasterise(&svg, &png);
    // A picture of a real screen, not an empty canvas: PNGs of blank frames are tiny.
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "{} is only {size} bytes", png.display());
}

fn keys<'a>(keys: &'a [&'a str]) -> Scene<'a> {
    Scene {
        keys,
        ..Scene::default()
    }
}

#[tokio::test]
async fn screenshots() {
    let big = (160, 45);
    let dark = Settings::default;
    let marked = Scene {
        ticks: 20,
        keys: &["j", "space", "k"],
        ..Scene::default()
    };
    shot("containers", dark(), DARK, big, marked).await;
    let stats = Scene {
        ticks: 40,
        keys: &["enter", "tab"],
        ..Scene::default()
    };
    shot("stats", dark(), DARK, big, stats).await;
    let unfold = ["enter", "tab", "tab", "j", "j", "enter", "j", "j", "enter"];
    shot("inspect", dark(), DARK, big, keys(&unfold)).await;
    let search = Scene {
        ticks: 5,
        keys: &["enter", "t", "/"],
        typed: "warning",
        after: &["enter", "n"],
    };
    shot("logs-search", dark(), DARK, big, search).await;
    shot("images", dark(), DARK, big, keys(&["2"])).await;
    shot("events", dark(), DARK, big, keys(&["x", "5"])).await;
    shot("networks", dark(), DARK, big, keys(&["4"])).await;
    shot("help", dark(), DARK, big, keys(&["?"])).await;
    let form = Scene {
        keys: &["2", "c"],
        typed: "web2",
        ..Scene::default()
    };
    shot("run-form", dark(), DARK, big, form).await;
    let palette = Scene {
        keys: &[":"],
        typed: "re",
        ..Scene::default()
    };
    shot("palette", dark(), DARK, big, palette).await;
    let shell = Scene {
        keys: &["e"],
        typed: "echo hello from a terminal pane",
        after: &["enter"],
        ..Scene::default()
    };
    shot("terminal", dark(), DARK, big, shell).await;
    shot(
        "layers",
        dark(),
        DARK,
        big,
        keys(&["2", "enter", "tab", "j"]),
    )
    .await;
    let busy = || Scene {
        ticks: 20,
        ..Scene::default()
    };
    shot("containers-80x24", dark(), DARK, (80, 24), busy()).await;
    let light = Settings {
        theme: Theme::builtin("light").expect("the light theme"),
        ..Settings::default()
    };
    shot("containers-light", light, LIGHT, big, busy()).await;
    if std::env::var_os("BERTH_UPDATE_SCREENSHOTS").is_none() {
        let _ = std::fs::remove_dir_all(out_dir());
    }
}
