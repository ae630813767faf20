#!/usr/bin/env bash
# Checks the packed package the way users receive it: publint --strict, are-the-types-wrong,
# then installs the tarball into an empty project and both imports and requires every entry.
set -euo pipefail
cd "$(dirname "$0")/.."

npx publint --strict
npx attw --pack . --profile node16

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cd "$work"
npm init -y >/dev/null 2>&1
# Install the tarball with the project's own node_modules for dependencies already resolved.
npm install --no-audit --no-fund --ignore-scripts "./$tarball" mqtt@5 cbor-x@1 >/dev/null 2>&1

subpaths=$(node -e '
  const pkg = require("./node_modules/fleetkit/package.json");
  console.log(Object.keys(pkg.exports).filter((k) => k !== "./package.json" && k !== "./testing").map((k) => k === "." ? "fleetkit" : "fleetkit/" + k.slice(2)).join(" "));
')
for spec in $subpaths; do
  node --input-type=module -e "const m = await import('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec exports nothing (ESM)');"
  node -e "const m = require('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec exports nothing (CJS)');"
  echo "ok  import + require  $spec"
done
node --input-type=module -e "
  import { applyShadowUpdate, isFleetError } from 'fleetkit';
  const r = applyShadowUpdate(undefined, { state: { reported: { ok: true } } }, { now: 0 });
  if (!r.ok || r.document.version !== 1) throw new Error('smoke: shadow update failed');
  const bad = applyShadowUpdate(undefined, '{', { now: 0 });
  if (bad.ok || !isFleetError(bad.error)) throw new Error('smoke: rejection failed');
"
node -e "
  const { applyShadowUpdate, FleetError, isFleetError } = require('fleetkit');
  const esmError = new FleetError('INTERNAL', 'x');
  if (!isFleetError(esmError)) throw new Error('smoke: FleetError brand failed');
  if (!applyShadowUpdate(undefined, { state: {} }, { now: 0 }).ok) throw new Error('smoke: CJS update failed');
"
echo "packed package: publint, attw and import/require smoke tests passed"
