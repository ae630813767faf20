/**
 * A real headless Chromium for page tests (Debian's `chromium`, driven by playwright-core).
 * Without the binary the tests are skipped with a notice, or fail when FLEETKIT_REQUIRE_CHROMIUM=1 (CI).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';

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

/** What a report page's chart (`svg.chart`) drew, as the page tests check it. */
export interface ChartFacts {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Paths in the chart, and those that drew something (a non-trivial `d`, a length and a box). */
  readonly paths: number;
  readonly drawn: number;
  /** The axis labels' text, trimmed. */
  readonly axisLabels: string[];
  readonly ticks: number;
}

/**
 * Opens an HTML file in headless Chromium and hands `check` the page, every console error or
 * warning, page error and failed request seen while it loaded, and the facts of its charts.
 */
export async function withReportPage<T>(file: string, check: (opened: { readonly page: Page; readonly problems: readonly string[]; readonly charts: readonly ChartFacts[] }) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: findChromium() as string, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1340, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const paths = [...svg.querySelectorAll('path')].map((p) => ({ d: p.getAttribute('d') ?? '', length: (p as unknown as { getTotalLength(): number }).getTotalLength(), box: p.getBoundingClientRect() }));
        return {
          id: svg.id,
          width: box.width,
          height: box.height,
          paths: paths.length,
          drawn: paths.filter((p) => p.d.length > 3 && p.length > 0 && p.box.width + p.box.height > 0).length,
          axisLabels: [...svg.querySelectorAll('.axis-label')].map((t) => (t.textContent ?? '').trim()),
          ticks: svg.querySelectorAll('.tick').length,
        };
      }),
    );
    const result = await check({ page, problems, charts });
    if (process.env.FLEETKIT_REPORT_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.FLEETKIT_REPORT_SCREENSHOT, fullPage: true });
    return result;
  } finally {
    await browser.close();
  }
}
