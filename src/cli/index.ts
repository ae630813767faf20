#!/usr/bin/env node
/**
 * The `fleetkit` command line: `fleetkit calc <calculator> [--field value …] [--json]`,
 * `fleetkit --help`, `fleetkit --version`. See docs/cli.md.
 *
 * @module
 */
import { runCli } from './main.js';
import { nodeIo } from './node-io.js';

runCli(process.argv.slice(2), nodeIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fleetkit: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
