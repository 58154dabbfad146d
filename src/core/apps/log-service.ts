import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { Actor } from '../actor.ts';
import { nowIso } from '../clock.ts';
import type { Capabilities } from '../capabilities/capabilities.ts';
import { NotFound, Unauthenticated, ValidationFailed } from '../errors.ts';
import type { LongRequests } from '../long-requests.ts';
import type { AppService } from './app-service.ts';
import { heldBy } from './output.ts';

export interface LogSettings {
  /** Lines kept per app: older ones are dropped as new ones come. */
  linesPerApp: number;
}

export const LOG_LINE_MAX = 8192;
const READ_MAX = 10_000;
/** How long a link to an app's logs works. */
export const LOGS_LINK_TTL_MS = 15 * 60 * 1000;
const LOGS_LINK = 'app-logs';
/** A process type (`web`) or one process (`web-1`), as a link's reader filters lines by source. */
const SOURCE_FILTER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FOLLOW_POLL_MS = 300;
/** Lines of an app are gathered this long before they are written together. */
const BATCH_MS = 200;
/** Lines stored in one row: a reader of the last few decodes no more than this. */
const LINES_PER_CHUNK = 500;
/** Rows read at once, newest or next first. */
const CHUNKS_PER_READ = 32;

/** A line of an app's logs. */
export interface AppLogLine {
  app_id: string;
  /** Increasing per app: the position `?after=` and SSE ids resume from. */
  seq: number;
  /** `web-1`, `worker-2`, `router`, `run`... */
  source: string;
  line: string;
  created_at: string;
}

type StoredLine = [createdAt: string, source: string, line: string];

function linesOf(chunk: { app_id: string; first_seq: number | string; lines: string }): AppLogLine[] {
  const first = Number(chunk.first_seq);
  return (JSON.parse(chunk.lines) as StoredLine[]).map(([created_at, source, line], i) => ({ app_id: chunk.app_id, seq: first + i, source, line, created_at }));
}

/** Whether a line is of one source (`web-1`) or process type (`web`, every `web-<n>`); any, without one. */
const ofSource = (source: string | undefined) => (line: AppLogLine) => source === undefined || line.source === source || line.source.startsWith(`${source}-`);

export type LogService = ReturnType<typeof createLogService>;

/**
 * Each app's logs: its processes' output and the router's access lines, timestamped and tagged
 * with their source (`web-1`, `router`...), in a bounded store. Lines of an app are numbered in
 * the order they are stored (`seq`), which is where a reader resumes.
 */
export function createLogService(deps: { store: Store; apps: AppService; settings: LogSettings; closing: AbortSignal; longRequests: LongRequests; capabilities: Capabilities }) {
  const { store, apps, settings } = deps;
  const { db } = store;
  /** One writer per app in this process: numbers are taken one after the other. */
  const queues = new Map<string, Promise<void>>();
  /** Lines waiting for their app's next write. */
  const pending = new Map<string, { lines: { source: string; line: string; at?: string }[]; written: Promise<void> }>();

  /** The number of the app's newest line (0: none yet). */
  const newestSeq = async (from: Pick<Store['db'], 'selectFrom'>, appId: string) =>
    Number((await from.selectFrom('app_log_chunks').select((eb) => eb.fn.max('last_seq').as('seq')).where('app_id', '=', appId).executeTakeFirst())?.seq ?? 0);

  async function write(appId: string, lines: { source: string; line: string; at?: string }[]): Promise<void> {
    const now = nowIso();
    const stored = lines.map((l): StoredLine => [l.at ?? now, l.source, l.line.slice(0, LOG_LINE_MAX)]);
    for (let attempt = 0; ; attempt++) {
      try {
        await db.transaction().execute(async (trx) => {
          const first = (await newestSeq(trx, appId)) + 1;
          const chunks = [];
          for (let i = 0; i < stored.length; i += LINES_PER_CHUNK) {
            const part = stored.slice(i, i + LINES_PER_CHUNK);
            chunks.push({ app_id: appId, first_seq: first + i, last_seq: first + i + part.length - 1, lines: JSON.stringify(part) });
          }
          await trx.insertInto('app_log_chunks').values(chunks).execute();
          // Whole rows go once all their lines are older than the last `linesPerApp`; readers skip the rest of them.
          await trx.deleteFrom('app_log_chunks').where('app_id', '=', appId).where('last_seq', '<=', first + stored.length - 1 - settings.linesPerApp).execute();
        });
        return;
      } catch (error) {
        // Another replica took the same numbers: take the next ones.
        if (!isUniqueViolation(error) || attempt >= 5) throw error;
      }
    }
  }

  /**
   * Stores lines of an app (the app gone: dropped). Lines are gathered for a moment and while
   * the app's previous write runs, then stored together: a busy router writes a batch every
   * moment, not a row per request (the SQLite driver blocks the process while it writes).
   */
  function append(appId: string, lines: { source: string; line: string; at?: string }[]): Promise<void> {
    if (!lines.length) return Promise.resolve();
    const waiting = pending.get(appId);
    if (waiting) {
      // One at a time: spread into push, a backlog of a few hundred thousand lines would overflow the stack.
      for (const line of lines) waiting.lines.push(line);
      return waiting.written;
    }
    const batch = { lines: [...lines], written: Promise.resolve() };
    pending.set(appId, batch);
    const previous = queues.get(appId) ?? Promise.resolve();
    batch.written = previous.then(() => sleep(BATCH_MS)).then(() => {
      pending.delete(appId);
      return write(appId, batch.lines);
    }).catch(() => undefined);
    queues.set(appId, batch.written);
    void batch.written.then(() => {
      if (queues.get(appId) === batch.written) queues.delete(appId);
    });
    return batch.written;
  }

  function assertCount(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > READ_MAX) throw ValidationFailed.field('n', `Ensure this value is a whole number from 1 to ${READ_MAX}.`);
  }

  /** The app's last `n` lines kept (oldest first), of one source or process type when given. */
  async function lastLines(appId: string, n: number, source?: string): Promise<AppLogLine[]> {
    // Lines up to `newest - linesPerApp` are dropped, even where their row is still kept for newer ones.
    const dropped = (await newestSeq(db, appId)) - settings.linesPerApp;
    const wanted = ofSource(source);
    const found: AppLogLine[][] = [];
    let count = 0;
    let before = Number.MAX_SAFE_INTEGER;
    while (count < n) {
      const chunks = await db.selectFrom('app_log_chunks').selectAll().where('app_id', '=', appId).where('first_seq', '<', before).where('last_seq', '>', dropped).orderBy('first_seq', 'desc').limit(CHUNKS_PER_READ).execute();
      for (const chunk of chunks) {
        const lines = linesOf(chunk).filter((line) => line.seq > dropped && wanted(line));
        found.push(lines);
        count += lines.length;
        if (count >= n) break;
      }
      if (chunks.length < CHUNKS_PER_READ) break;
      before = Number(chunks.at(-1)!.first_seq);
    }
    return found.reverse().flat().slice(-n);
  }

  /** The lines numbered after `position`, oldest first, a few rows' worth at a time: the lines and the position after them. */
  async function linesAfter(appId: string, position: number): Promise<{ lines: AppLogLine[]; position: number; more: boolean }> {
    const chunks = await db.selectFrom('app_log_chunks').selectAll().where('app_id', '=', appId).where('last_seq', '>', position).orderBy('last_seq').limit(CHUNKS_PER_READ).execute();
    if (!chunks.length) return { lines: [], position, more: false };
    const lines = chunks.flatMap(linesOf).filter((line) => line.seq > position);
    return { lines, position: Number(chunks.at(-1)!.last_seq), more: chunks.length === CHUNKS_PER_READ };
  }

  /**
   * The lines after `position` as they are written (of one source or process type when given),
   * in batches; an empty batch every `idleMs` of silence; until `signal` ends it.
   */
  async function* batchesAfter(appId: string, position: number, options: { source?: string; idleMs: number; signal: AbortSignal }): AsyncGenerator<AppLogLine[]> {
    const wanted = ofSource(options.source);
    let idleSince = Date.now();
    while (!options.signal.aborted) {
      const next = await linesAfter(appId, position);
      position = next.position;
      const lines = next.lines.filter(wanted);
      if (lines.length || Date.now() - idleSince >= options.idleMs) {
        idleSince = Date.now();
        yield lines;
      }
      if (!next.more) await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  /** The last `n` lines (oldest first). */
  async function tail(actor: Actor, appRef: string, n: number): Promise<AppLogLine[]> {
    const app = await apps.reach(actor, appRef, 'read');
    assertCount(n);
    return lastLines(app.id, n);
  }

  /**
   * A link to the app's logs for a reader without a credential (Scalingo's logs URL): a
   * capability to read this app's lines for 15 minutes while it stays in its organization and,
   * when the caller reaches it as a collaborator, while the caller still collaborates on it.
   */
  async function link(actor: Actor, appRef: string) {
    const app = await apps.reach(actor, appRef, 'read');
    const collaborator = !app.organization_path.startsWith(actor.organizationPath);
    const grant = { app: app.id, org: app.organization_id, ...(collaborator ? { collaborator: actor.principal.userId } : {}) };
    return { app, ...deps.capabilities.issue(LOGS_LINK, grant, LOGS_LINK_TTL_MS) };
  }

  /** What a link grants, read again: its app while the link still reaches it, or the error that ends it. */
  async function linkedApp(appId: string, grant: Record<string, string> | null): Promise<{ id: string }> {
    if (!grant || grant.app !== appId) throw new Unauthenticated('This logs URL is not valid, or has expired: ask for a new one.', 'authentication_failed');
    // An app moved to another organization, or deleted, is no longer the link's; nor one its collaborator was removed from.
    let query = db.selectFrom('apps').select('id').where('id', '=', appId).where('organization_id', '=', grant.org!).where('status', '!=', 'deleting');
    if (grant.collaborator !== undefined) {
      query = query.where('id', 'in', db.selectFrom('app_collaborators').select('app_id').where('user_id', '=', grant.collaborator).where('status', '=', 'accepted'));
    }
    const app = await query.executeTakeFirst();
    if (!app) throw new NotFound('app', 'No app matches the given query.');
    return app;
  }

  function assertSource(source: string | undefined): void {
    if (source !== undefined && !SOURCE_FILTER.test(source)) throw ValidationFailed.field('filter', 'Name a process type (web) or a process (web-1).');
  }

  /** The last `n` lines of the app a link names (of one source or process type when given). */
  async function tailByLink(appId: string, token: string, options: { n: number; source?: string }): Promise<AppLogLine[]> {
    const grant = deps.capabilities.read(LOGS_LINK, token);
    const app = await linkedApp(appId, grant);
    assertCount(options.n);
    assertSource(options.source);
    return lastLines(app.id, options.n, options.source);
  }

  /**
   * The lines the app writes from now on (after `afterSeq` when given), for the holder of a link
   * (of one source or process type when given), in batches; an empty batch every `idleMs` of silence. The app's link
   * streams are bounded as a credential's are, and end once the link no longer reaches the app
   * (within a second of the collaborator's removal), or when it expires.
   */
  async function followByLink(appId: string, token: string, options: { source?: string; afterSeq?: number; signal: AbortSignal; idleMs: number }) {
    const grant = deps.capabilities.read(LOGS_LINK, token);
    const app = await linkedApp(appId, grant);
    assertSource(options.source);
    const held = deps.longRequests.openFor(`app:${app.id}`, async () => {
      // Read again each time: an expired link ends the stream as a removed collaborator does.
      await linkedApp(appId, deps.capabilities.read(LOGS_LINK, token));
    });
    const signal = AbortSignal.any([options.signal, deps.closing]);
    return heldBy(held, options.signal, (async function* () {
      yield* batchesAfter(app.id, options.afterSeq ?? (await newestSeq(db, app.id)), { ...options, signal });
    })());
  }

  /** Lines after `afterSeq` as they come (first the last `n` when no position is given). */
  async function follow(actor: Actor, appRef: string, options: { afterSeq?: number; n: number; signal: AbortSignal; idleMs: number }) {
    const initial = options.afterSeq === undefined ? await tail(actor, appRef, options.n) : [];
    const app = await apps.reach(actor, appRef, 'read');
    const signal = AbortSignal.any([options.signal, deps.closing]);
    const held = deps.longRequests.open(actor, (current) => apps.reach(current, app.id, 'read'));
    return heldBy(held, options.signal, (async function* () {
      const position = options.afterSeq ?? (initial.length ? initial.at(-1)!.seq : await newestSeq(db, app.id));
      if (initial.length) yield initial;
      yield* batchesAfter(app.id, position, { idleMs: options.idleMs, signal });
    })());
  }

  return { append, tail, follow, link, tailByLink, followByLink };
}
