#!/usr/bin/env bash
# Builds the connector component with componentize-py (from PyPI, into .venv).
set -euo pipefail
cd "$(dirname "$0")"
[[ -x .venv/bin/componentize-py ]] || { python3 -m venv .venv && .venv/bin/pip install --quiet componentize-py==0.25.1; }
.venv/bin/componentize-py -d wit -w {{world}} componentize app -o connector.wasm
echo "built connector.wasm"
