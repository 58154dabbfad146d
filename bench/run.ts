// `npm run bench [name...]`: runs every bench/<area>.bench.ts (or those whose name contains
// an argument), one process each, one after the other so they do not compete for the CPU,
// then prints every figure each bench reported beside its goal, as one table.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOALS_FILE_ENV, goalsTable, type GoalFigure } from './support/goals.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const benches = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && (filters.length === 0 || filters.some((s) => f.includes(s))))
  .sort();
if (benches.length === 0) {
  console.error(`no bench matches ${filters.join(' ')}`);
  process.exit(1);
}
const goalsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-goals-')), 'goals.jsonl');
fs.writeFileSync(goalsFile, '');
const failures: string[] = [];
for (const bench of benches) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, bench)], { stdio: 'inherit', env: { ...process.env, [GOALS_FILE_ENV]: goalsFile } });
  if (result.status !== 0) failures.push(bench);
}
const figures: GoalFigure[] = fs
  .readFileSync(goalsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
fs.rmSync(path.dirname(goalsFile), { recursive: true, force: true });
console.log(`\nsummary (${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)} at the end, Node ${process.version})\n`);
console.log(goalsTable(figures));
if (failures.length > 0) console.log(`\nmeasurement failed in: ${failures.join(', ')}`);
process.exit(failures.length > 0 ? 1 : 0);
