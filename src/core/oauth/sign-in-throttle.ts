import { sql } from 'kysely';
import type { Store } from '../../store/database.ts';
import { RateLimited } from '../errors.ts';

const WINDOW_MS = 15 * 60_000;
/** Failures allowed in one window: per user name (guessing one password) and per address (spraying many). */
const LIMITS = { user: 5, address: 30 } as const;

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;

/**
 * Login throttling for the consent page (OWASP): after too many failures for one user name or
 * from one address, sign-ins are refused until the window ends, with the time to wait. Counts
 * live in the database so that every replica enforces the same limit.
 */
export function createSignInThrottle({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const keysOf = (username: string, address: string) => ({ user: `user:${username.toLowerCase()}`, address: `address:${address}` });

  /** Throws `RateLimited` while either key is over its limit. */
  async function check(username: string, address: string): Promise<void> {
    const keys = keysOf(username, address);
    const rows = await db.selectFrom('oauth_sign_in_failures').selectAll().where('key', 'in', [keys.user, keys.address]).execute();
    const now = Date.now();
    for (const row of rows) {
      const limit = row.key === keys.user ? LIMITS.user : LIMITS.address;
      const endsAt = Date.parse(row.window_started_at) + WINDOW_MS;
      if (row.failures >= limit && endsAt > now) throw new RateLimited(Math.ceil((endsAt - now) / 1000), 'Too many failed sign-ins. Try again later.');
    }
  }

  async function recordFailure(username: string, address: string): Promise<void> {
    const now = new Date();
    const windowStart = new Date(now.getTime() - WINDOW_MS).toISOString();
    for (const key of Object.values(keysOf(username, address))) {
      await db
        .insertInto('oauth_sign_in_failures')
        .values({ key, failures: 1, window_started_at: now.toISOString() })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            // A window that has ended starts over at this failure.
            failures: sql<number>`case when oauth_sign_in_failures.window_started_at < ${windowStart} then 1 else oauth_sign_in_failures.failures + 1 end`,
            window_started_at: sql<string>`case when oauth_sign_in_failures.window_started_at < ${windowStart} then ${now.toISOString()} else oauth_sign_in_failures.window_started_at end`,
          }),
        )
        .execute();
    }
  }

  /** A successful sign-in clears its user name's count (not the address's). */
  async function recordSuccess(username: string): Promise<void> {
    await db.deleteFrom('oauth_sign_in_failures').where('key', '=', `user:${username.toLowerCase()}`).execute();
  }

  return { check, recordFailure, recordSuccess };
}
