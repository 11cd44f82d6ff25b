#!/bin/bash
# Regenerates the ts-proto code into a temporary copy and fails if it differs from what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s#out: packages/wire/src/gen#out: $tmp/gen#" buf.gen.yaml > "$tmp/buf.gen.yaml"
npx --no-install buf lint
npx --no-install buf generate --template "$tmp/buf.gen.yaml"
if ! diff -r "$tmp/gen" packages/wire/src/gen >/dev/null; then
  echo "proto: generated code is stale; run 'npm run proto' and commit" >&2
  diff -r "$tmp/gen" packages/wire/src/gen | head -20 >&2
  exit 1
fi
echo "proto: generated code is up to date"
