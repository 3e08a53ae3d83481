//! The CNCF "wasm OCI artifact" layout: an OCI image manifest whose config
//! is `application/vnd.wasm.config.v0+json` and whose one layer is the
//! component (`application/wasm`). Builds it for `push` and checks it on
//! pull.
//!
//! Guards against a manifest that is something else (a container image, an
//! index, a layer of another type, a digest in another algorithm) being
//! taken for a connector, and against a layer that announces more bytes
//! than a component may have.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::digest::sha256_digest;
use crate::oci::reference::check_digest;

/// The media type of the manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of the config that marks a wasm artifact.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The media type of the component layer.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The annotation tools such as oras name a layer's file by.
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The largest manifest taken; the distribution spec asks registries to
/// accept manifests of up to 4 MiB.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageManifest {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

/// The component layer of a manifest, after checking that the manifest is
/// a wasm artifact whose layer fits in `max_component_bytes`.
pub(crate) fn component_layer(manifest: &[u8], max_component_bytes: u64) -> anyhow::Result<Descriptor> {
    if manifest.len() > MAX_MANIFEST_BYTES {
        bail!("the manifest is {} bytes, over the limit of {MAX_MANIFEST_BYTES}", manifest.len());
    }
    let manifest: ImageManifest =
        serde_json::from_slice(manifest).context("the manifest is not an OCI image manifest")?;
    if manifest.schema_version != 2 {
        bail!("the manifest has schemaVersion {}, not 2", manifest.schema_version);
    }
    if let Some(media_type) = manifest.media_type.as_deref().filter(|m| *m != MANIFEST_MEDIA_TYPE) {
        bail!("the manifest's media type is `{media_type}`, not {MANIFEST_MEDIA_TYPE}");
    }
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        bail!(
            "the manifest's config is `{}`, not {CONFIG_MEDIA_TYPE}: it is not a wasm component artifact",
            manifest.config.media_type
        );
    }
    let mut layers = manifest.layers.into_iter().filter(|layer| layer.media_type == LAYER_MEDIA_TYPE);
    let (Some(layer), None) = (layers.next(), layers.next()) else {
        bail!("the manifest must have exactly one {LAYER_MEDIA_TYPE} layer");
    };
    check_digest(&layer.digest).context("the component layer")?;
    if layer.size > max_component_bytes {
        bail!(
            "the component layer is {} bytes, over the limit of {max_component_bytes} (--max-component-bytes raises it)",
            layer.size
        );
    }
    Ok(layer)
}

/// A component laid out for a registry: the blobs and the manifest that
/// ties them, with their digests.
pub(crate) struct Artifact {
    pub config: Vec<u8>,
    pub config_digest: String,
    pub layer_digest: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
}

/// Lays `component` out as a wasm artifact; `title` names the layer's file
/// for tools that save it (oras).
pub(crate) fn build(component: &[u8], title: &str, created: SystemTime) -> anyhow::Result<Artifact> {
    let layer_digest = sha256_digest(component);
    let (imports, exports) = component_world(component)?;
    let created = humantime::format_rfc3339_seconds(created).to_string();
    let config = serde_json::to_vec(&serde_json::json!({
        "created": created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {"imports": imports, "exports": exports},
    }))?;
    let config_digest = sha256_digest(&config);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MANIFEST_MEDIA_TYPE.to_owned()),
        config: Descriptor {
            media_type: CONFIG_MEDIA_TYPE.to_owned(),
            digest: config_digest.clone(),
            size: config.len() as u64,
            annotations: None,
        },
        layers: vec![Descriptor {
            media_type: LAYER_MEDIA_TYPE.to_owned(),
            digest: layer_digest.clone(),
            size: component.len() as u64,
            annotations: Some(BTreeMap::from([(TITLE_ANNOTATION.to_owned(), title.to_owned())])),
        }],
        annotations: Some(BTreeMap::from([("org.opencontainers.image.created".to_owned(), created)])),
    };
    let manifest = serde_json::to_vec(&manifest)?;
    let manifest_digest = sha256_digest(&manifest);
    Ok(Artifact { config, config_digest, layer_digest, manifest, manifest_digest })
}

/// The names a component imports and exports at its top level (not those
/// of the modules and components nested in it).
fn component_world(component: &[u8]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    use wasmparser::{Parser, Payload};
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.context("the component does not parse")? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    imports.push(import.context("the component's imports do not parse")?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    exports.push(export.context("the component's exports do not parse")?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(config: &str, layers: &[(&str, &str, u64)]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": config, "digest": format!("sha256:{}", "0".repeat(64)), "size": 2},
            "layers": layers.iter().map(|(media_type, digest, size)| serde_json::json!({
                "mediaType": media_type, "digest": digest, "size": size,
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn only_a_wasm_artifact_with_one_component_layer_passes() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let good = manifest(CONFIG_MEDIA_TYPE, &[(LAYER_MEDIA_TYPE, &digest, 10)]);
        assert_eq!(component_layer(&good, 10).unwrap().digest, digest);
        for (bytes, reason) in [
            (manifest("application/vnd.oci.image.config.v1+json", &[(LAYER_MEDIA_TYPE, &digest, 10)]), "not a wasm"),
            (manifest(CONFIG_MEDIA_TYPE, &[]), "exactly one"),
            (
                manifest(CONFIG_MEDIA_TYPE, &[(LAYER_MEDIA_TYPE, &digest, 1), (LAYER_MEDIA_TYPE, &digest, 1)]),
                "exactly one",
            ),
            (manifest(CONFIG_MEDIA_TYPE, &[("application/octet-stream", &digest, 1)]), "exactly one"),
            (manifest(CONFIG_MEDIA_TYPE, &[(LAYER_MEDIA_TYPE, "md5:00", 1)]), "sha256"),
            (manifest(CONFIG_MEDIA_TYPE, &[(LAYER_MEDIA_TYPE, &digest, 11)]), "over the limit"),
            (b"{\"schemaVersion\": 2, \"manifests\": []}".to_vec(), "not an OCI image manifest"),
            (vec![b' '; MAX_MANIFEST_BYTES + 1], "over the limit"),
        ] {
            let error = format!("{:#}", component_layer(&bytes, 10).unwrap_err());
            assert!(error.contains(reason), "{reason}: {error}");
        }
    }
}
