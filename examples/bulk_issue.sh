#!/usr/bin/env bash
# Bulk issuance as an administrator scripts it: check first, import, keep the rejects.
# Usage: CERTCLI_HOME=... CERTCLI_KEY_PASSPHRASE=... examples/bulk_issue.sh ROSTER.csv [ROSTER2.jsonl ...]
set -uo pipefail
for roster in "$@"; do
  certcli --json admin issue "$roster" --dry-run > /dev/null
  status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 6 ]; then
    echo "cannot read $roster (exit $status)" >&2; exit "$status"
  fi
  certcli --json admin issue "$roster" --rejects "${roster%.*}.rejects.csv" > "${roster%.*}.report.json"
  status=$?
  case "$status" in
    0) echo "$roster: all rows imported" ;;
    6) echo "$roster: some rows rejected, see ${roster%.*}.rejects.csv (good rows were imported)" ;;
    *) echo "$roster: failed (exit $status)" >&2; exit "$status" ;;
  esac
done
certcli admin stats
