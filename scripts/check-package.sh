#!/usr/bin/env bash
# Checks the packed package the way users receive it:
#   1. publint --strict and are-the-types-wrong;
#   2. installs the tarball into an empty project (with the optional peers, @types/node and the
#      oldest supported TypeScript) and both imports and requires every entry point;
#   3. type-checks a consumer of every entry point (scripts/package-consumer/consumer.ts) against the
#      installed .d.ts/.d.cts with skipLibCheck off, under every setting of this matrix:
#        TypeScript          the project's own (newest supported) and OLDEST_TS; with OLDEST_TS
#                            the consumer sets "types": ["node"], because the @types packages
#                            that mqtt and vitest install (and that TypeScript loads by default
#                            whether imported or not) need a newer compiler than fleetkit does
#        module/resolution   nodenext, node16, esnext + bundler, preserve + bundler (TS ≥ 5.4)
#        strict              with and without exactOptionalPropertyTypes
#        consumer            ESM and CommonJS: a .ts in a "type": "module" folder and in a
#                            "type": "commonjs" folder, plus a .mts and a .cts (node16/nodenext,
#                            where the file format decides which of import/require types apply)
#      One tsc run per setting checks every consumer file; the runs share one install.
# Set CHECK_PACKAGE_JOBS to run that many tsc processes at once (default: the number of CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# The oldest TypeScript fleetkit's types support (README "Install"); the newest is the one in package.json.
OLDEST_TS=5.4.5
jobs=${CHECK_PACKAGE_JOBS:-$(nproc 2>/dev/null || echo 2)}
started=$SECONDS

# Pack what the sources say: rebuild when dist/ is missing or older than a source.
if [ ! -f dist/index.js ] || [ -n "$(find src package.json tsup.config.ts tsconfig.json tsconfig.build.json -newer dist/index.js -print -quit)" ]; then
  echo "dist/ is missing or stale: building"
  npx tsup --silent
fi

npx publint --strict
npx attw --pack . --profile node16

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cd "$work"
npm init -y >/dev/null 2>&1
# One install for everything below: the package, its optional peers (the types of fleetkit/mqtt,
# /cbor and /testing refer to them), the Node types a Node consumer has, and the oldest TypeScript.
npm install --no-audit --no-fund --ignore-scripts "./$tarball" mqtt@5 cbor-x@1 fast-check@4 vitest@4 @types/node@20 @electric-sql/pglite@0.5 \
  "typescript-oldest@npm:typescript@$OLDEST_TS" >/dev/null 2>&1
echo "installed the tarball into $work ($((SECONDS - started))s)"

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
# fleetkit/postgres reads its SQL migrations from the package's sql/ folder: from ESM and CJS.
node --input-type=module -e "
  import { migrate, openPGlite } from 'fleetkit/postgres';
  const db = await openPGlite();
  const r = await migrate(db);
  if (r.applied.length === 0 || r.version < 1) throw new Error('smoke: ESM migrations not found');
  await db.close();
"
node -e "
  const { loadMigrations } = require('fleetkit/postgres');
  if (loadMigrations().length === 0) throw new Error('smoke: CJS migrations not found');
"
echo "ok  import/require smoke tests"

# The consumers: one source, four files whose module format differs.
mkdir -p consumer/esm consumer/cjs
echo '{ "type": "module" }' >consumer/esm/package.json
echo '{ "type": "commonjs" }' >consumer/cjs/package.json
for file in consumer/esm/consumer.ts consumer/cjs/consumer.ts consumer/consumer.mts consumer/consumer.cts; do
  cp "$repo/scripts/package-consumer/consumer.ts" "$file"
done
echo '{ "type": "module" }' >consumer/package.json

newest_tsc="$repo/node_modules/typescript/bin/tsc"
oldest_tsc="$work/node_modules/typescript-oldest/bin/tsc"
newest_version=$(node "$newest_tsc" --version | sed 's/Version //')

# One line per setting: label tsc module moduleResolution exactOptionalPropertyTypes files...
all='"esm/consumer.ts", "cjs/consumer.ts", "consumer.mts", "consumer.cts"'
bundler='"esm/consumer.ts", "cjs/consumer.ts", "consumer.mts"'
settings=()
for ts in newest oldest; do
  for eopt in true false; do
    settings+=("$ts nodenext nodenext $eopt $all")
    settings+=("$ts node16 node16 $eopt $all")
    settings+=("$ts esnext bundler $eopt $bundler")
    settings+=("$ts preserve bundler $eopt $all")
  done
done

i=0
for s in "${settings[@]}"; do
  read -r ts module resolution eopt files <<<"$s"
  i=$((i + 1))
  if [ "$ts" = newest ]; then
    tsc=$newest_tsc version=$newest_version types='' typesLabel=''
  else
    tsc=$oldest_tsc version=$OLDEST_TS types=$',\n    "types": ["node"]' typesLabel=', types [node]'
  fi
  cat >"consumer/tsconfig.$i.json" <<JSON
{
  "compilerOptions": {
    "strict": true,
    "exactOptionalPropertyTypes": $eopt,
    "module": "$module",
    "moduleResolution": "$resolution",
    "target": "ES2022",
    "skipLibCheck": false,
    "noEmit": true$types
  },
  "files": [$files]
}
JSON
  printf '%s\t%s\t%s\n' "$i" "$tsc" "TypeScript $version, module $module, moduleResolution $resolution, strict, exactOptionalPropertyTypes $eopt, skipLibCheck false$typesLabel"
done >consumer/matrix.tsv

run_one() {
  local i=$1 tsc=$2 label=$3 t0=$SECONDS
  if node "$tsc" -p "consumer/tsconfig.$i.json" >"consumer/out.$i.txt" 2>&1; then
    echo "ok    $label ($((SECONDS - t0))s)"
  else
    echo "FAIL  $label"
    sed 's/^/      /' "consumer/out.$i.txt"
    return 1
  fi
}
export -f run_one
echo "type-checking the consumer of every entry point under $(wc -l <consumer/matrix.tsv) settings ($jobs at a time)"
if ! tr '\t\n' '\0\0' <consumer/matrix.tsv | xargs -0 -n 3 -P "$jobs" bash -c 'run_one "$@"' _; then
  echo "packed package: a consumer failed to type-check (see FAIL above)" >&2
  exit 1
fi
echo "packed package: publint, attw, import/require smoke tests and the consumer type-check matrix passed ($((SECONDS - started))s)"
