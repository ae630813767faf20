// Every example is a program users run with `npx tsx examples/<name>.ts`: each must exit 0, and each
// imports fleetkit by its package name, as a user's program does.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
/** `fleetkit`, `fleetkit/shadow`, …: every specifier package.json exports. */
const publicSpecifiers = new Set(Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => (k === '.' ? 'fleetkit' : `fleetkit/${k.slice(2)}`)));

describe('examples', () => {
  it('there are examples', () => expect(examples.length).toBeGreaterThan(0));
  for (const file of examples) {
    it(`${file} imports only fleetkit's public entry points and Node built-ins`, () => {
      const source = readFileSync(`${dir}${file}`, 'utf8');
      const specifiers = [...source.matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
      expect(specifiers.length).toBeGreaterThan(0);
      for (const s of specifiers) expect(s.startsWith('node:') || publicSpecifiers.has(s), `${file} imports '${s}'`).toBe(true);
    });
    it(`${file} runs and exits 0`, async () => {
      // From the repository root, as `npx tsx examples/<name>.ts` is run: tsx maps `fleetkit` to
      // the sources through tsconfig.json "paths", so the examples need no build.
      const { stdout } = await run(process.execPath, ['--import', 'tsx', `${dir}${file}`], { cwd: root, timeout: 120_000, env: { ...process.env, FLEETKIT_EXAMPLE_FAST: '1' } });
      expect(stdout.trim().length).toBeGreaterThan(0);
    }, 130_000);
  }
});
