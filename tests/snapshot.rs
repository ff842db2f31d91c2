//! Images with many layers mount as one overlay (past the one-page `lowerdir=` limit),
//! and a container-style upper dir diffs back into a layer that loads again.

mod common;

use common::{sha256_hex, Berth, MountGuard, RawTar};

/// A docker-archive of one image with `n` layers: layer i adds /f<i> and rewrites /top,
/// and the last layer deletes /f0 with a whiteout.
fn many_layer_archive(n: usize) -> Vec<u8> {
    let mut layers = Vec::new();
    for i in 0..n {
        let mut t = RawTar::new();
        t.file(&format!("f{i}"), format!("layer {i}\n").as_bytes());
        t.file("top", format!("{i}\n").as_bytes());
        if i == n - 1 {
            t.file(".wh.f0", b"");
        }
        layers.push(t.finish());
    }
    let diffs: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let history: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"created_by":"layer {i}"}}"#))
        .collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":{}}},"history":[{}]}}"#,
        serde_json::to_string(&diffs).expect("json"),
        history.join(",")
    );
    let cid = sha256_hex(config.as_bytes());
    let paths: Vec<String> = diffs
        .iter()
        .map(|d| format!("{}/layer.tar", &d[7..]))
        .collect();
    let manifest = format!(
        r#"[{{"Config":"{cid}.json","RepoTags":["tall:latest"],"Layers":{}}}]"#,
        serde_json::to_string(&paths).expect("json")
    );
    let mut t = RawTar::new();
    t.file(&format!("{cid}.json"), config.as_bytes());
    for (p, l) in paths.iter().zip(&layers) {
        t.file(p, l);
    }
    t.file("manifest.json", manifest.as_bytes());
    t.finish()
}

#[test]
fn a_150_layer_image_mounts_and_its_upper_dir_diffs_back() {
    let b = Berth::new();
    b.run_stdin(&["load"], &many_layer_archive(150)).ok();
    let engine = berth::engine::Engine::open(Some(b.path())).expect("engine");
    let lowers = engine.image_layer_dirs("tall").expect("layer dirs");
    assert_eq!(lowers.len(), 150);
    let classic: usize = lowers.iter().map(|p| p.as_os_str().len() + 1).sum();
    assert!(
        classic > 4096,
        "the test must exceed the one-page mount option limit"
    );

    let work = tempfile::tempdir().expect("tmp");
    let (upper, wdir, merged) = (
        work.path().join("upper"),
        work.path().join("work"),
        work.path().join("merged"),
    );
    for d in [&upper, &wdir, &merged] {
        std::fs::create_dir(d).expect("mkdir");
    }
    berth::engine::image::snapshot::mount_overlay(&lowers, Some((&upper, &wdir)), &merged)
        .expect("mount 150 layers");
    let guard = MountGuard(merged.clone());
    assert_eq!(
        std::fs::read_to_string(merged.join("top")).expect("top"),
        "149\n"
    );
    assert_eq!(
        std::fs::read_to_string(merged.join("f77")).expect("f77"),
        "layer 77\n"
    );
    assert!(!merged.join("f0").exists(), "whiteout hides f0");
    // What a container would do: add, change, delete.
    std::fs::write(merged.join("added"), "new").expect("write");
    std::fs::write(merged.join("top"), "changed").expect("write");
    std::fs::remove_file(merged.join("f5")).expect("rm");
    drop(guard);

    let changes = berth::engine::image::layer::changes(&upper, &lowers).expect("changes");
    let summary: Vec<String> = changes
        .iter()
        .map(|c| format!("{:?} {}", c.kind, c.path))
        .collect();
    assert!(summary.contains(&"Added /added".to_string()), "{summary:?}");
    assert!(
        summary.contains(&"Modified /top".to_string()),
        "{summary:?}"
    );
    assert!(summary.contains(&"Deleted /f5".to_string()), "{summary:?}");

    let mut tar = Vec::new();
    berth::engine::image::layer::diff_to_tar(&upper, &mut tar).expect("diff");
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(&tar[..]);
    for e in ar.entries().expect("entries") {
        let e = e.expect("entry");
        names.push(e.path().expect("path").display().to_string());
    }
    for want in ["added", "top", ".wh.f5"] {
        assert!(
            names.iter().any(|n| n.trim_start_matches("./") == want),
            "{want} missing from {names:?}"
        );
    }
}
