// Every bench states its figures against their goals through `reportGoal`, so that one
// `npm run bench` can end with a table of all of them (bench/run.ts collects the lines).
import fs from 'node:fs';

export interface GoalFigure {
  /** The bench that measured it (its file name without `.bench.ts`). */
  bench: string;
  figure: string;
  /** As measured, with its unit: "1,692 req/s (21% of direct)". */
  measured: string;
  /** As the goal is written: "≥ 70% of direct". */
  goal: string;
  met: boolean;
}

/** Where bench/run.ts asks each bench process to append its figures, one JSON line each. */
export const GOALS_FILE_ENV = 'NIMBUS_BENCH_GOALS_FILE';

/** Prints a figure beside its goal and, under `npm run bench`, records it for the summary table. */
export function reportGoal(figure: GoalFigure): void {
  console.log(`  ${figure.figure}: ${figure.measured} (goal: ${figure.goal}) ${figure.met ? 'met' : 'MISSED'}`);
  const file = process.env[GOALS_FILE_ENV];
  if (file) fs.appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

/** The recorded figures as a Markdown table, the shape bench/README.md keeps them in. */
export function goalsTable(figures: GoalFigure[]): string {
  const rows = [['bench', 'figure', 'measured', 'goal', ''], ['---', '---', '---', '---', '---'], ...figures.map((f) => [f.bench, f.figure, f.measured, f.goal, f.met ? 'met' : 'MISSED'])];
  return rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
