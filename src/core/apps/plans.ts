import { ValidationFailed } from '../errors.ts';

const MIB = 1024 * 1024;

/** Container sizes (Scalingo's names): memory and CPU limits a cgroup enforces on each container. */
export const SIZES: Record<string, { memoryBytes: number; cpu: number }> = {
  S: { memoryBytes: 256 * MIB, cpu: 0.5 },
  M: { memoryBytes: 512 * MIB, cpu: 1 },
  L: { memoryBytes: 1024 * MIB, cpu: 1 },
  XL: { memoryBytes: 2048 * MIB, cpu: 2 },
  '2XL': { memoryBytes: 4096 * MIB, cpu: 2 },
};
export const DEFAULT_SIZE = 'M';
/** The limits of a build container. */
export const BUILD_LIMITS = { memoryBytes: 1024 * MIB, cpu: 1 };
/** Most containers of one process type. */
export const MAX_AMOUNT = 20;
/** The port every web process is told to listen on (`PORT`): each container has its own address. */
export const WEB_PORT = 5000;

const PROCESS_TYPE = /^[a-z][a-z0-9_-]{0,29}$/;

/**
 * A Procfile: `type: command` lines; blank lines and `#` comments are skipped. Refused (400 on
 * `field`) when a line is not of that form or a type repeats.
 */
export function parseProcfile(text: string, field = 'source'): Record<string, string> {
  const types: Record<string, string> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([^:\s]+)\s*:\s*(.+)$/.exec(line);
    if (!match || !PROCESS_TYPE.test(match[1]!)) throw ValidationFailed.field(field, `Procfile line ${index + 1} is not "<type>: <command>" with a type of lowercase letters, digits, "-" and "_".`);
    if (Object.hasOwn(types, match[1]!)) throw ValidationFailed.field(field, `Procfile declares "${match[1]}" twice.`);
    types[match[1]!] = match[2]!;
  }
  return types;
}

/** The process types a source runs: its Procfile, or `web: npm start` for a Node.js app with a start script. Every app needs `web`: the router serves it. */
export function processTypesOf(facts: { procfile: string | null; startScript: string | null }, stack: string): Record<string, string> {
  const types = facts.procfile !== null ? parseProcfile(facts.procfile) : stack === 'nodejs' && facts.startScript ? { web: 'npm start' } : {};
  if (!types.web) {
    throw ValidationFailed.field('source', facts.procfile !== null
      ? 'The Procfile declares no "web" process: the router serves every app from its web processes.'
      : 'Nothing to run: add a Procfile with a "web" process (or, on the nodejs stack, a "start" script in package.json).');
  }
  return types;
}
