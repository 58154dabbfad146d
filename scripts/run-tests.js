#!/usr/bin/env node
// Runs every test file under test/ with node:test through tsx (Node 20's `--test` does not
// find .ts files by itself). Arguments narrow the run to files whose path contains them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' ? [] : find(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(1);
}
const concurrency = process.env.NIMBUS_TEST_CONCURRENCY ?? '2';
// A file that hangs must fail alone, not hold the whole run: each file's process is bounded
// (Node 20 applies --test-timeout to the file as a whole), and exits once its tests are done
// even if something it started (a browser, a socket) is still holding its event loop.
const fileTimeoutMs = process.env.NIMBUS_TEST_FILE_TIMEOUT_MS ?? '1200000';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`, '--test-force-exit', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
