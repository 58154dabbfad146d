import { randomBytes } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import { nowIso } from '../clock.ts';

export type ServerKeys = ReturnType<typeof createServerKeys>;

/**
 * Named random keys kept in the database, so every replica signs and verifies with the same
 * one. The first replica to need a key creates it; the others read it.
 */
export function createServerKeys({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const cache = new Map<string, Buffer>();

  async function read(name: string): Promise<Buffer | null> {
    const row = await db.selectFrom('oauth_server_keys').select('value').where('name', '=', name).executeTakeFirst();
    return row ? Buffer.from(row.value, 'base64') : null;
  }

  return {
    async get(name: string): Promise<Buffer> {
      const cached = cache.get(name);
      if (cached) return cached;
      let key = await read(name);
      if (!key) {
        try {
          await db.insertInto('oauth_server_keys').values({ name, value: randomBytes(32).toString('base64'), created_at: nowIso() }).execute();
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
        key = (await read(name))!;
      }
      cache.set(name, key);
      return key;
    },
  };
}
