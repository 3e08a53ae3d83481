#!/usr/bin/env bash
# Builds the connector, checks it, and calls an operation that reads
# without input through connector-host against moto (a local AWS emulator
# from PyPI), which the script installs into .venv, starts on loopback and
# stops again. moto does not emulate every AWS service.
#   CONNECTOR_HOST=/path/to/connector-host ./test.sh
set -euo pipefail
cd "$(dirname "$0")"
host=${CONNECTOR_HOST:-connector-host}
cargo build --release --target wasm32-wasip2
component=target/wasm32-wasip2/release/{{crate}}.wasm
"$host" check "$component"
operation="{{read_operation}}"
if [[ -z $operation ]]; then
    echo "test.sh: built and checked (no operation of this service reads without input)"
    exit 0
fi
[[ -x .venv/bin/moto_server ]] || { python3 -m venv .venv && .venv/bin/pip install --quiet "moto[server]==5.2.5"; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/moto-api/data.json" >/dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$port"
"$host" invoke "$component" "$operation"
echo "test.sh: ok"
