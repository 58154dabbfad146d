import { chown, mkdir } from 'node:fs/promises';
import * as tar from 'tar';
import type { ReadEntry } from 'tar';
import type { SourceFacts, SourceLimits } from '../app-host.ts';
import { ComputeRejected } from '../compute-host.ts';
import { normalizeEntryPath, rejectUnreadable } from '../images/layers.ts';

/** The user every build and process runs as (busybox's `nimbus` user), owner of the unpacked source. */
export const APP_USER = { uid: 1000, gid: 1000 };

const ACCEPTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink']);
/** Files read out of the archive for core: small text files. */
const FACT_FILES = new Set(['Procfile', 'package.json']);
const FACT_FILE_MAX = 64 * 1024;

const refuse = (message: string) => new ComputeRejected(message, 'source');

interface Inspection extends SourceFacts {
  /** 1 when every entry is under one top directory (`my-app/...`, as `git archive --prefix` makes): it is stripped. */
  strip: number;
}

/**
 * Reads the archive's entries without writing anything: it must be a tar (gzip or not) of only
 * files, directories and symbolic links, with no path leaving the app (`..`, absolute), and
 * within the limits. Returns the Procfile and package.json's start script.
 */
export async function inspectSource(archive: string, limits: SourceLimits): Promise<Inspection> {
  let entries = 0;
  let bytes = 0;
  let problem: ComputeRejected | undefined;
  const tops = new Set<string>();
  let topFiles = false;
  const files = new Map<string, Promise<string>>();
  try {
    await tar.t({
      file: archive,
      strict: true,
      noResume: true,
      onReadEntry: (entry: ReadEntry) => {
        const clean = normalizeEntryPath(entry.path);
        entries += 1;
        bytes += entry.size ?? 0;
        if (problem) {
          // Already refused: read nothing more.
        } else if (entry.path.startsWith('/') || clean === undefined) problem = refuse(`The archive holds a path outside the app: ${JSON.stringify(entry.path)}.`);
        else if (!ACCEPTED_TYPES.has(entry.type)) problem = refuse(`The archive holds a ${entry.type} entry (${JSON.stringify(entry.path)}): only files, directories and symbolic links are accepted.`);
        else if (entries > limits.entries) problem = refuse(`The archive holds more than ${limits.entries} entries.`);
        else if (bytes > limits.unpackedBytes) problem = refuse(`The archive unpacks to more than ${limits.unpackedBytes} bytes.`);
        if (!problem && clean) {
          const [top, ...rest] = clean.split('/');
          tops.add(top!);
          if (rest.length === 0 && entry.type !== 'Directory') topFiles = true;
          // Procfile and package.json at the top, or under the one top directory.
          if (rest.length <= 1 && FACT_FILES.has(rest[0] ?? top!) && entry.type !== 'Directory' && (entry.size ?? 0) <= FACT_FILE_MAX) {
            files.set(clean, readEntry(entry));
            return;
          }
        }
        entry.resume();
      },
    });
  } catch (error) {
    if (problem) throw problem;
    rejectUnreadable('The source archive', error);
  }
  if (problem) throw problem;
  if (entries === 0) throw refuse('The archive is empty.');
  const strip = tops.size === 1 && !topFiles ? 1 : 0;
  const prefix = strip ? `${[...tops][0]}/` : '';
  const text = async (name: string) => (files.has(`${prefix}${name}`) ? files.get(`${prefix}${name}`)! : null);
  const packageJson = await text('package.json');
  return { strip, procfile: await text('Procfile'), startScript: startScriptOf(packageJson) };
}

function readEntry(entry: ReadEntry): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    entry.on('error', reject);
  });
}

function startScriptOf(packageJson: string | null): string | null {
  if (packageJson === null) return null;
  try {
    const start = (JSON.parse(packageJson) as { scripts?: { start?: unknown } }).scripts?.start;
    return typeof start === 'string' && start.trim() ? start : null;
  } catch {
    throw refuse('package.json is not valid JSON.');
  }
}

/** Unpacks an inspected archive into `into`, every file owned by the app user. */
export async function unpackSource(archive: string, into: string, limits: SourceLimits): Promise<void> {
  const { strip } = await inspectSource(archive, limits);
  await mkdir(into, { recursive: true });
  await chown(into, APP_USER.uid, APP_USER.gid);
  try {
    await tar.x({ file: archive, cwd: into, strip, strict: true, preserveOwner: false, uid: APP_USER.uid, gid: APP_USER.gid, filter: (_path, entry) => ACCEPTED_TYPES.has((entry as ReadEntry).type) });
  } catch (error) {
    rejectUnreadable('The source archive', error);
  }
}
