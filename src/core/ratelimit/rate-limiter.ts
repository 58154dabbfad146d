import type { Store } from '../../store/database.ts';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
}

interface WindowCount {
  windowStart: number;
  windowSeconds: number;
  /** The shared count as of this replica's last flush (its own requests included). */
  shared: number;
  /** Requests counted here and not yet added to the shared row. */
  pending: number;
}

/** How often in-process counts are added to the shared table. */
const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
const CLEANUP_INTERVAL_MS = 60_000;

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/**
 * Fixed-window request counters shared by every replica through `rate_limit_counters`.
 *
 * The hot path (`consume`) never waits for the database: each replica counts in memory and,
 * every `flushIntervalMs`, adds its pending counts to the shared row with one UPSERT per active
 * key, learning the cluster-wide total in the same statement. The trade-off: with N replicas a
 * key can overshoot its limit by what the other replicas admit during one flush interval. For
 * rare, security-relevant counts (login attempts) `hitNow` and its companions go straight to the table.
 */
export function createRateLimiter({ store, flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS }: { store: Pick<Store, 'db'>; flushIntervalMs?: number }) {
  const { db } = store;
  const counts = new Map<string, WindowCount>();
  let flushing: Promise<void> | null = null;
  let lastCleanup = 0;

  function windowOf(windowSeconds: number, now: number): number {
    return Math.floor(now / 1000 / windowSeconds) * windowSeconds;
  }

  function decide(count: number, limit: number, windowStart: number, windowSeconds: number, now: number, allowed: boolean): RateLimitDecision {
    return { allowed, limit, remaining: Math.max(0, limit - count), resetSeconds: Math.max(1, Math.ceil(windowStart + windowSeconds - now / 1000)) };
  }

  /** Counts one request against `key` unless it is over `limit` in the current window. */
  function consume(key: string, limit: number, windowSeconds: number, now = Date.now()): RateLimitDecision {
    const windowStart = windowOf(windowSeconds, now);
    let entry = counts.get(key);
    if (!entry || entry.windowStart !== windowStart) {
      entry = { windowStart, windowSeconds, shared: 0, pending: 0 };
      counts.set(key, entry);
    }
    const used = entry.shared + entry.pending;
    if (used >= limit) return decide(used, limit, windowStart, windowSeconds, now, false);
    entry.pending++;
    return decide(used + 1, limit, windowStart, windowSeconds, now, true);
  }

  async function addToShared(key: string, windowStart: number, windowSeconds: number, amount: number): Promise<number> {
    const row = await db
      .insertInto('rate_limit_counters')
      .values({ key, window_start: windowStart, count: amount, expires_at: windowStart + windowSeconds })
      .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ count: eb('rate_limit_counters.count', '+', eb.ref('excluded.count')) })))
      .returning('count')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async function flushNow(): Promise<void> {
    const now = Date.now();
    for (const [key, entry] of counts) {
      if (entry.windowStart + entry.windowSeconds <= now / 1000) {
        if (entry.pending === 0) counts.delete(key);
      }
      if (entry.pending === 0) continue;
      const amount = entry.pending;
      entry.pending = 0;
      try {
        entry.shared = Math.max(entry.shared + amount, await addToShared(key, entry.windowStart, entry.windowSeconds, amount));
      } catch (error) {
        entry.pending += amount;
        throw error;
      }
    }
    if (now - lastCleanup > CLEANUP_INTERVAL_MS) {
      lastCleanup = now;
      await db.deleteFrom('rate_limit_counters').where('expires_at', '<', Math.floor(now / 1000)).execute();
    }
  }

  /** Adds pending counts to the shared table (one flush at a time). */
  async function flush(): Promise<void> {
    while (flushing) await flushing;
    flushing = flushNow().finally(() => (flushing = null));
    return flushing;
  }

  /** Counts one event straight into the shared table and says whether it is still within `limit`. */
  async function hitNow(key: string, limit: number, windowSeconds: number, now = Date.now()): Promise<RateLimitDecision> {
    const windowStart = windowOf(windowSeconds, now);
    const count = await addToShared(key, windowStart, windowSeconds, 1);
    return decide(count, limit, windowStart, windowSeconds, now, count <= limit);
  }

  /** Takes back one event `hitNow` counted at `at` (an attempt that turned out fine). */
  async function unhitNow(key: string, windowSeconds: number, at: number): Promise<void> {
    await db
      .updateTable('rate_limit_counters')
      .set((eb) => ({ count: eb('count', '-', 1) }))
      .where('key', '=', key)
      .where('window_start', '=', windowOf(windowSeconds, at))
      .where('count', '>', 0)
      .execute();
  }

  /** Forgets every count of `key`. */
  async function clearNow(key: string): Promise<void> {
    await db.deleteFrom('rate_limit_counters').where('key', '=', key).execute();
  }

  let timer: NodeJS.Timeout | null = null;
  /** Starts periodic flushing; errors are reported and retried at the next tick. */
  function start(onError: (error: unknown) => void): void {
    timer ??= setInterval(() => void flush().catch(onError), flushIntervalMs).unref();
  }

  async function stop(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = null;
    await flush();
  }

  return { consume, flush, hitNow, unhitNow, clearNow, start, stop };
}
