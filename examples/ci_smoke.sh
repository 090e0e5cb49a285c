#!/usr/bin/env bash
# A CI smoke test of the whole flow with a fixed clock, checking exit codes and JSON.
set -euo pipefail
export CERTCLI_HOME="$(mktemp -d)/home"
export CERTCLI_KEY_PASSPHRASE="smoke-test-passphrase"
export CERTCLI_PASSWORD="smoke-test-password"
export CERTCLI_NOW="2026-03-01T10:00:00+08:00"
here="$(cd "$(dirname "$0")" && pwd)"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

certcli --json admin init > /dev/null
certcli --json admin issue "$here/roster.csv" > /dev/null || [ $? -eq 6 ]   # one bad row on purpose
certcli --json register --name 王小明 --id-number 110101199003074477 > /dev/null
certcli --json login --id-number 110101199003074477 > /dev/null
certcli --json agree --yes > /dev/null
certcli --json annotate 2022ECO110100001 --days 30 | json '["status"]' | grep -qx pending
certcli --json admin process | json '["completed"]' | grep -qx 1
out="$(mktemp -d)/cert.pdf"
certcli --json download 2022ECO110100001 -o "$out" > /dev/null
certcli --json verify "$out" | json '["valid"]' | grep -qx True
# 30 days later the annotation has expired: verify must say NOT valid (exit 1)
if CERTCLI_NOW="2026-03-31T00:00:00+08:00" certcli verify "$out" > /dev/null; then
  echo "expired annotation verified as valid" >&2; exit 1
fi
echo "smoke test passed"
