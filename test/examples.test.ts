// Every example is a program users run with `npx tsx examples/<name>.ts`: each must exit 0.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();

describe('examples', () => {
  it('there are examples', () => expect(examples.length).toBeGreaterThan(0));
  for (const file of examples) {
    it(`${file} runs and exits 0`, async () => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', `${dir}${file}`], { timeout: 120_000, env: { ...process.env, FLEETKIT_EXAMPLE_FAST: '1' } });
      expect(stdout.trim().length).toBeGreaterThan(0);
    }, 130_000);
  }
});
