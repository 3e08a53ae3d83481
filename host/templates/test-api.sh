#!/usr/bin/env bash
# Builds the connector, checks it, and calls it through connector-host
# against httpbin (an HTTP echo API from PyPI) standing in for {{api}}: the
# script installs it into .httpbin, starts it on loopback with a connection
# whose bearer token the host applies, and stops it again.
#   CONNECTOR_HOST=/path/to/connector-host ./test.sh
set -euo pipefail
cd "$(dirname "$0")"
host=${CONNECTOR_HOST:-connector-host}
{{build}}
component={{component}}
"$host" check "$component"
[[ -x .httpbin/bin/waitress-serve ]] || { python3 -m venv .httpbin && .httpbin/bin/pip install --quiet "httpbin==0.10.4" "waitress==3.0.2"; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.httpbin/bin/waitress-serve --listen "127.0.0.1:$port" httpbin:app >/dev/null 2>&1 &
api=$!
trap 'kill $api' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/get" >/dev/null && break; sleep 0.1; done
cat > .test-authentications.toml <<TOML
[apis.{{api}}]
base_url = "http://127.0.0.1:$port"
credential = "bearer"
token_env = "TEST_API_TOKEN"
TOML
chmod 600 .test-authentications.toml
export TEST_API_TOKEN=test-token-only-the-host-sees
out=$("$host" --authentications .test-authentications.toml invoke "$component" get --input '{"path": "/bearer"}')
echo "$out"
# httpbin's /bearer answers only to a bearer token, and echoes it: the host
# applied it, and hid it from the connector's answer.
grep -q '"token": "\*\*\*"' <<<"$out" || { echo "test.sh: the token was not applied, or not hidden" >&2; exit 1; }
echo "test.sh: ok"
