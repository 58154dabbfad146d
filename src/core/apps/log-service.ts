import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { AppLogLineRow } from '../../store/schema.ts';
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

  async function write(appId: string, lines: { source: string; line: string; at?: string }[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await db.transaction().execute(async (trx) => {
          const last = await trx.selectFrom('app_log_lines').select((eb) => eb.fn.max('seq').as('seq')).where('app_id', '=', appId).executeTakeFirst();
          const first = Number(last?.seq ?? 0) + 1;
          const rows = lines.map((l, i) => ({ app_id: appId, seq: first + i, source: l.source, line: l.line.slice(0, LOG_LINE_MAX), created_at: l.at ?? nowIso() }));
          for (let i = 0; i < rows.length; i += 500) await trx.insertInto('app_log_lines').values(rows.slice(i, i + 500)).execute();
          await trx.deleteFrom('app_log_lines').where('app_id', '=', appId).where('seq', '<=', first + rows.length - 1 - settings.linesPerApp).execute();
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
      waiting.lines.push(...lines);
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

  /** Lines of one source (`web-1`) or process type (`web`, every `web-<n>`), when given. */
  function ofSource<Q extends ReturnType<typeof linesOf>>(query: Q, source: string | undefined): Q {
    // A prefix compared as text (in a LIKE pattern, `_` would match anything).
    return source === undefined ? query : (query.where((eb) => eb.or([eb('source', '=', source), eb(eb.fn('substr', ['source', eb.lit(1), eb.lit(source.length + 1)]), '=', `${source}-`)])) as Q);
  }

  const linesOf = (appId: string) => db.selectFrom('app_log_lines').selectAll().where('app_id', '=', appId);

  /** The app's last `n` lines (oldest first), of one source or process type when given. */
  async function lastLines(appId: string, n: number, source?: string): Promise<AppLogLineRow[]> {
    return (await ofSource(linesOf(appId), source).orderBy('seq', 'desc').limit(n).execute()).reverse();
  }

  const lastSeq = async (appId: string) => Number((await db.selectFrom('app_log_lines').select((eb) => eb.fn.max('seq').as('seq')).where('app_id', '=', appId).executeTakeFirst())?.seq ?? 0);

  /** The last `n` lines (oldest first). */
  async function tail(actor: Actor, appRef: string, n: number): Promise<AppLogLineRow[]> {
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
  async function tailByLink(appId: string, token: string, options: { n: number; source?: string }): Promise<AppLogLineRow[]> {
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
      let position = options.afterSeq ?? (await lastSeq(app.id));
      let idleSince = Date.now();
      while (!signal.aborted) {
        const rows = await db.selectFrom('app_log_lines').selectAll().where('app_id', '=', app.id).where('seq', '>', position).orderBy('seq').limit(500).execute();
        if (rows.length) position = Number(rows.at(-1)!.seq);
        const wanted = options.source === undefined ? rows : rows.filter((row) => row.source === options.source || row.source.startsWith(`${options.source}-`));
        if (wanted.length || Date.now() - idleSince >= options.idleMs) {
          idleSince = Date.now();
          yield wanted;
        }
        if (rows.length < 500) await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
      }
    })());
  }

  /** Lines after `afterSeq` as they come (first the last `n` when no position is given). */
  async function follow(actor: Actor, appRef: string, options: { afterSeq?: number; n: number; signal: AbortSignal; idleMs: number }) {
    const initial = options.afterSeq === undefined ? await tail(actor, appRef, options.n) : [];
    const app = await apps.reach(actor, appRef, 'read');
    const signal = AbortSignal.any([options.signal, deps.closing]);
    const held = deps.longRequests.open(actor, (current) => apps.reach(current, app.id, 'read'));
    return heldBy(held, options.signal, (async function* () {
      let position = options.afterSeq ?? (initial.length ? Number(initial.at(-1)!.seq) : await lastSeq(app.id));
      if (initial.length) yield initial;
      let idleSince = Date.now();
      while (!signal.aborted) {
        const rows = await db.selectFrom('app_log_lines').selectAll().where('app_id', '=', app.id).where('seq', '>', position).orderBy('seq').limit(500).execute();
        if (rows.length) position = Number(rows.at(-1)!.seq);
        if (rows.length || Date.now() - idleSince >= options.idleMs) {
          idleSince = Date.now();
          yield rows;
        }
        if (rows.length < 500) await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
    })());
  }

  return { append, tail, follow, link, tailByLink, followByLink };
}
