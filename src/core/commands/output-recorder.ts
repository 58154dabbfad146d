import type { Kysely } from 'kysely';
import type { Notifier } from '../../store/notifier.ts';
import type { Database } from '../../store/schema.ts';
import { nowIso } from '../clock.ts';

export interface OutputRecorderSettings {
  /** Output is written at most this long after it came... */
  flushMs: number;
  /** ...or as soon as this much waits; also the largest chunk stored. */
  chunkChars: number;
  /** How much of the end of the output `tail()` keeps (the command's `result`). */
  tailChars: number;
  /** The most output stored: past it, the oldest chunks are deleted, so the end is what is kept. */
  limitChars: number;
}

/** How output is batched, whatever the limit. */
export const DEFAULT_OUTPUT_BATCHING: Omit<OutputRecorderSettings, 'limitChars'> = { flushMs: 100, chunkChars: 16 * 1024, tailChars: 64 * 1024 };

export type OutputRecorder = ReturnType<typeof createOutputRecorder>;

/** Whose output: a command's (by id), or an app's build or one-off run. */
export type OutputOwner = string | { appId: string; ownerId: string };

/**
 * Stores a command's (or an app build's, or a one-off run's) output as numbered chunks while it
 * runs. Output is gathered and written in batches (every `flushMs`, or at once when `chunkChars`
 * wait), so a command writing a byte at a time does not write a row per byte; writes happen one after the other, so chunks keep the order
 * the output came in. Each write wakes the live streams of the output, in every process. Past
 * `limitChars`, the oldest chunks are deleted as new ones come (a command's `output_cut`
 * counts what was cut), so a command printing for ever cannot fill the database.
 */
export function createOutputRecorder(db: Kysely<Database>, notifier: Notifier, owner: OutputOwner, settings: OutputRecorderSettings) {
  let pending = '';
  let tail = '';
  let nextSeq = 0;
  /** The sizes of the chunks still stored, oldest first, and their sum. */
  const stored: { seq: number; size: number }[] = [];
  let storedChars = 0;
  let cutChars = 0;
  let timer: NodeJS.Timeout | null = null;
  let writes: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  /** Takes output as it comes; the promise it may return resolves once a full batch is stored (backpressure). */
  function write(text: string): void | Promise<void> {
    if (text === '') return;
    // PostgreSQL text cannot hold U+0000; binary output is shown, not stored byte for byte.
    const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
    pending += clean;
    tail += clean;
    if (tail.length > 2 * settings.tailChars) tail = tail.slice(-settings.tailChars);
    if (pending.length >= settings.chunkChars) return flush();
    timer ??= setTimeout(() => void flush(), settings.flushMs);
  }

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const text = pending;
    pending = '';
    if (text !== '') writes = writes.then(() => store(text));
    return writes;
  }

  async function store(text: string): Promise<void> {
    if (failure !== null) return;
    const pieces = splitText(text, settings.chunkChars);
    const createdAt = nowIso();
    const rows = pieces.map((content, i) => ({ seq: nextSeq + i, content, created_at: createdAt }));
    const cut = chunksPastLimit(rows);
    try {
      await db.transaction().execute(async (trx) => {
        if (typeof owner === 'string') {
          await trx.insertInto('command_chunks').values(rows.map((row) => ({ ...row, command_id: owner }))).execute();
          if (cut.lastSeq !== null) {
            await trx.deleteFrom('command_chunks').where('command_id', '=', owner).where('seq', '<=', cut.lastSeq).execute();
            await trx.updateTable('commands').set((eb) => ({ output_cut: eb('output_cut', '+', cut.chars) })).where('id', '=', owner).execute();
          }
        } else {
          await trx.insertInto('app_output_chunks').values(rows.map((row) => ({ ...row, owner_id: owner.ownerId, app_id: owner.appId }))).execute();
          if (cut.lastSeq !== null) await trx.deleteFrom('app_output_chunks').where('owner_id', '=', owner.ownerId).where('seq', '<=', cut.lastSeq).execute();
        }
        await notifier.notify(trx, 'command_output');
      });
      nextSeq += rows.length;
      for (const row of rows) stored.push({ seq: row.seq, size: row.content.length });
      storedChars += text.length;
      while (stored.length && stored[0]!.seq <= (cut.lastSeq ?? -1)) storedChars -= stored.shift()!.size;
      cutChars += cut.chars;
    } catch (error) {
      // Kept for `close()`: later output is dropped rather than stored out of order.
      failure = error;
    }
  }

  /** The oldest stored chunks to delete so that, with `adding`, the stored output stays within the limit (the newest chunk always stays). */
  function chunksPastLimit(adding: { seq: number; content: string }[]): { lastSeq: number | null; chars: number } {
    const all = [...stored, ...adding.map((row) => ({ seq: row.seq, size: row.content.length }))];
    let total = storedChars + adding.reduce((sum, row) => sum + row.content.length, 0);
    let lastSeq: number | null = null;
    let chars = 0;
    for (let i = 0; total > settings.limitChars && i < all.length - 1; i++) {
      total -= all[i]!.size;
      chars += all[i]!.size;
      lastSeq = all[i]!.seq;
    }
    return { lastSeq, chars };
  }

  return {
    write,
    /** Stores what is left; throws when any write failed. */
    async close(): Promise<void> {
      await flush();
      if (failure !== null) throw failure;
    },
    /** The last `tailChars` characters of the output. */
    tail: () => (tail.length > settings.tailChars ? tail.slice(-settings.tailChars) : tail),
    chunkCount: () => nextSeq,
    /** Characters cut from the start of the stored output so far. */
    cutChars: () => cutChars,

  };
}

/** Pieces of at most `size` characters, never cutting a character made of two UTF-16 units. */
export function splitText(text: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - start > 1 && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}
