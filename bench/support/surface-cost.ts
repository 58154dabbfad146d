import { percent, reportGoal } from './goals.ts';
import { load, type LoadFigures } from './load.ts';

export interface Target {
  url: string;
  headers: Record<string, string>;
}

/** What a compatibility surface may cost against the native route it translates. */
const TARGET_COST = 0.15;

/**
 * A surface's route against the native route it translates, on the same server: two rounds of
 * each, alternating; prints each round and the surface's cost (1 - surface rate / native rate)
 * against its target. Answers whether any request failed.
 */
export async function compareWithNative(labels: { bench: string; native: string; surface: string; cost: string }, native: Target, surface: Target): Promise<boolean> {
  const rounds: { native: LoadFigures; surface: LoadFigures }[] = [];
  for (let round = 0; round < 2; round++) rounds.push({ native: await load(native), surface: await load(surface) });
  const total = (side: 'native' | 'surface') => rounds.reduce((sum, r) => sum + r[side].requestsPerSecond, 0);
  const cost = 1 - total('surface') / total('native');
  const width = Math.max(labels.native.length, labels.surface.length) + 10;
  const row = (name: string, f: LoadFigures) => `  ${name.padEnd(width)} ${String(f.requestsPerSecond).padStart(7)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}`;
  rounds.forEach((r, i) => {
    console.log(row(`${labels.native} (round ${i + 1})`, r.native));
    console.log(row(`${labels.surface} (round ${i + 1})`, r.surface));
  });
  reportGoal({ bench: labels.bench, figure: labels.cost, measured: `${percent(cost)} of the native rate`, goal: `< ${percent(TARGET_COST)}`, met: cost < TARGET_COST });
  return rounds.some((r) => r.native.errors + r.native.non2xx + r.surface.errors + r.surface.non2xx > 0);
}
