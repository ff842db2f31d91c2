//! Renders the console's main views (fake backend, pinned clock) to PNGs in
//! screenshots/: ratatui buffer -> SVG (DejaVu Sans Mono grid) -> PNG with resvg.
//! Ignored by default (it writes files and needs Debian's fonts-dejavu-core):
//!
//!     cargo test --test console_screenshots -- --ignored

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth::client::fake::{fixed_now, FakeClient};
use berth::ui::harness::Harness;
use berth::ui::theme::Theme;
use berth::ui::Settings;
use berth::widgets::svg::{buffer_to_svg, Palette, DARK, LIGHT};

const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots")
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

async fn shot(
    name: &str,
    settings: Settings,
    palette: Palette,
    (w, h): (u16, u16),
    ticks: usize,
    keys: &[&str],
    typed: &str,
) {
    let client = FakeClient::demo();
    let mut t = Harness::new(Arc::new(client), settings, fixed_now(), w, h).await;
    t.ticks(ticks).await;
    t.keys(keys).await;
    if !typed.is_empty() {
        t.type_text(typed).await;
    }
    let svg = buffer_to_svg(&t.render(), palette);
    std::fs::create_dir_all(out_dir()).expect("creating screenshots/");
    rasterise(&svg, &out_dir().join(format!("{name}.png")));
}

#[tokio::test]
#[ignore = "writes screenshots/*.png; run on demand with --ignored"]
async fn screenshots() {
    let big = (160, 45);
    let dark = Settings::default;
    shot(
        "containers",
        dark(),
        DARK,
        big,
        20,
        &["j", "space", "k"],
        "",
    )
    .await;
    shot("stats", dark(), DARK, big, 40, &["enter", "tab"], "").await;
    shot(
        "inspect",
        dark(),
        DARK,
        big,
        0,
        &["enter", "tab", "tab", "j", "j", "enter", "j", "j", "enter"],
        "",
    )
    .await;
    shot(
        "logs-search",
        dark(),
        DARK,
        big,
        5,
        &["enter", "t", "/"],
        "warning",
    )
    .await;
    shot("images", dark(), DARK, big, 0, &["2"], "").await;
    shot("events", dark(), DARK, big, 0, &["x", "4"], "").await;
    shot("help", dark(), DARK, big, 0, &["?"], "").await;
    shot("run-form", dark(), DARK, big, 0, &["2", "c"], "web2").await;
    shot("palette", dark(), DARK, big, 0, &[":"], "re").await;
    shot("containers-80x24", dark(), DARK, (80, 24), 20, &[], "").await;
    let light = Settings {
        theme: Theme::builtin("light").expect("the light theme"),
        ..Settings::default()
    };
    shot("containers-light", light, LIGHT, big, 20, &[], "").await;
}
