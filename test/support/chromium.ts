/**
 * A real headless Chromium for page tests (Debian's `chromium`, driven by playwright-core).
 * Without the binary the tests are skipped with a notice, or fail when FLEETKIT_REQUIRE_CHROMIUM=1 (CI).
 */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary, or undefined. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.FLEETKIT_CHROMIUM;
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

/** True when page tests can run; a notice (or an error under FLEETKIT_REQUIRE_CHROMIUM=1) otherwise. */
export function chromiumEnabled(suite: string): boolean {
  if (findChromium() !== undefined) return true;
  const msg = `chromium not found: skipping ${suite} (install with: apt-get install -y chromium)`;
  if (process.env.FLEETKIT_REQUIRE_CHROMIUM === '1') throw new Error(`FLEETKIT_REQUIRE_CHROMIUM=1 but ${msg}`);
  console.warn(`\n⚠ NOTICE: ${msg}\n`);
  return false;
}
