//! Manifest and index documents (Docker schema2, OCI), their media types, and picking
//! one platform's manifest out of a list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, Result};
use crate::engine::image::config::host_arch;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// What pull asks for, best first.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A fetched manifest document: either a list of per-platform manifests or one image.
pub enum Document {
    Index(Index),
    Image(Manifest),
}

/// Parses a manifest body using its Content-Type, or its own mediaType/shape.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Document> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid(format!("the registry sent an invalid manifest: {e}")))?;
    let declared = v
        .get("mediaType")
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()));
    if v.get("schemaVersion").and_then(|s| s.as_u64()) == Some(1) {
        return Err(Error::invalid(
            "the registry sent a Docker schema 1 manifest: that format is deprecated and not supported; push the image again with a current client",
        ));
    }
    let is_index = match declared.as_deref() {
        Some(DOCKER_LIST) | Some(OCI_INDEX) => true,
        Some(DOCKER_MANIFEST) | Some(OCI_MANIFEST) => false,
        _ => v.get("manifests").is_some(),
    };
    let bad = |e: serde_json::Error| {
        Error::invalid(format!("the registry sent an invalid manifest: {e}"))
    };
    if is_index {
        Ok(Document::Index(serde_json::from_value(v).map_err(bad)?))
    } else {
        Ok(Document::Image(serde_json::from_value(v).map_err(bad)?))
    }
}

/// The platform a pull wants: `--platform os/arch[/variant]` or this machine's.
pub fn wanted_platform(spec: Option<&str>) -> Result<Platform> {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(Platform {
            os: "linux".into(),
            architecture: host_arch().into(),
            variant: None,
        });
    };
    let parts: Vec<&str> = spec.split('/').collect();
    let (os, arch, variant) = match parts.as_slice() {
        [arch] if *arch != "linux" => ("linux", *arch, None),
        [os, arch] => (*os, *arch, None),
        [os, arch, v] => (*os, *arch, Some(v.to_string())),
        _ => {
            return Err(Error::invalid(format!(
                "invalid platform {spec:?}: expected os/arch[/variant], e.g. linux/arm64"
            )))
        }
    };
    let arch = match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    Ok(Platform {
        os: os.to_ascii_lowercase(),
        architecture: arch.to_string(),
        variant,
    })
}

pub fn platform_string(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    }
}

/// The entry for `want` in an index: same os and architecture, and the same variant
/// when one was asked for (else the first, as containerd's default matcher prefers).
pub fn select<'a>(index: &'a Index, want: &Platform) -> Result<&'a Descriptor> {
    let matches = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && p.architecture == want.architecture
                && (want.variant.is_none() || p.variant == want.variant)
        })
    };
    index.manifests.iter().find(matches).ok_or_else(|| {
        Error::not_found(format!(
            "no matching manifest for {} in the manifest list entries",
            platform_string(want)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(os: &str, arch: &str, variant: Option<&str>, digest: &str) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1,
            platform: Some(Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(str::to_string),
            }),
            annotations: None,
        }
    }

    #[test]
    fn selects_the_wanted_platform() {
        let idx = Index {
            manifests: vec![
                desc("linux", "amd64", None, "a"),
                desc("linux", "arm", Some("v6"), "b"),
                desc("linux", "arm", Some("v7"), "c"),
                desc("unknown", "unknown", None, "att"),
            ],
        };
        let p = wanted_platform(Some("linux/arm/v7")).expect("platform");
        assert_eq!(select(&idx, &p).expect("select").digest, "c");
        let p = wanted_platform(Some("linux/amd64")).expect("platform");
        assert_eq!(select(&idx, &p).expect("select").digest, "a");
        let p = wanted_platform(Some("linux/s390x")).expect("platform");
        assert_eq!(
            select(&idx, &p).unwrap_err().to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
        assert!(wanted_platform(Some("a/b/c/d")).is_err());
        assert_eq!(wanted_platform(None).expect("host").os, "linux");
    }

    #[test]
    fn parses_by_media_type_or_shape() {
        let idx = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(parse(None, idx), Ok(Document::Index(_))));
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"x","digest":"sha256:0","size":1},"layers":[]}"#;
        assert!(matches!(parse(None, m), Ok(Document::Image(_))));
        assert!(parse(None, br#"{"schemaVersion":1}"#).is_err());
    }
}
