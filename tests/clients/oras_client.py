"""oras (the ORAS project's Python client) as the third-party side of the
OCI tests: push a component in the wasm artifact layout, or pull one, and
print what happened as JSON.

    oras_client.py push oci://REGISTRY/REPO:TAG FILE [LAYER_MEDIA_TYPE]  -> {"digest": ...}
    oras_client.py pull oci://REGISTRY/REPO@DIGEST DIR  -> {"files": [...], "manifest": {...}}
"""

import json
import os
import sys
import tempfile

import oras.client
import oras.provider

CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json"
LAYER_MEDIA_TYPE = "application/wasm"


def target_of(reference):
    assert reference.startswith("oci://"), reference
    return reference[len("oci://"):]


def client_for(target):
    return oras.client.OrasClient(hostname=target.split("/")[0], insecure=True)


def push(reference, path, layer_media_type=LAYER_MEDIA_TYPE):
    target = target_of(reference)
    directory, name = os.path.split(os.path.abspath(path))
    with tempfile.TemporaryDirectory() as scratch:
        config = os.path.join(scratch, "config.json")
        with open(config, "w") as f:
            json.dump({"architecture": "wasm", "os": "wasip2", "layerDigests": []}, f)
        os.chdir(directory)
        response = client_for(target).push(
            target=target,
            files=[f"{name}:{layer_media_type}"],
            manifest_config=f"{config}:{CONFIG_MEDIA_TYPE}",
            disable_path_validation=True,
            quiet=True,
        )
    response.raise_for_status()
    return {"digest": response.headers["Docker-Content-Digest"]}


def pull(reference, outdir):
    target = target_of(reference)
    client = client_for(target)
    manifest = client.get_manifest(target)
    files = client.pull(target=target, outdir=outdir)
    return {"files": files, "manifest": manifest}


if __name__ == "__main__":
    command, reference, path = sys.argv[1:4]
    result = push(reference, path, *sys.argv[4:]) if command == "push" else pull(reference, path)
    print(json.dumps(result))
