// `npm run bench [name...]`: runs every bench/<area>.bench.ts (or those whose name contains
// an argument), one process each, one after the other so they do not compete for the CPU.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && (filters.length === 0 || filters.some((s) => f.includes(s))))
  .sort();
if (benches.length === 0) {
  console.error(`no bench matches ${filters.join(' ')}`);
  process.exit(1);
}
let failed = false;
for (const bench of benches) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, bench)], { stdio: 'inherit' });
  failed ||= result.status !== 0;
}
process.exit(failed ? 1 : 0);
