/**
 * The real {@link CliIo}: process streams and the version from the installed package.json.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CliIo } from './main.js';

/**
 * The version of the fleetkit package this program belongs to: the nearest `package.json`
 * named "fleetkit" above the running script (works for the ESM and CJS builds alike, and through
 * the `node_modules/.bin` symlink).
 */
function packageVersion(): string {
  const script = process.argv[1];
  if (script === undefined) return 'unknown';
  let dir = dirname(realpathSync(script));
  for (let depth = 0; depth < 8; depth += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'fleetkit' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'unknown';
}

/** A {@link CliIo} on `process.stdout` / `process.stderr`. */
export function nodeIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    version: packageVersion,
  };
}
