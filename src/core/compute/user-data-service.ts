import { assertAllowed, type Actor } from '../actor.ts';
import { nowIso } from '../clock.ts';
import { NotFound, QuotaExceeded, ValidationFailed } from '../errors.ts';
import type { ComputeDeps } from './context.ts';
import type { ServerService } from './server-service.ts';

/**
 * A server's user data: named values (a cloud-init script, keys, settings) kept with the
 * server and removed with it. Values are bytes, given and returned as they are.
 */

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const USER_DATA_LIMITS = { valueBytes: 64 * 1024, keys: 64 } as const;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw ValidationFailed.field('key', 'Enter a key of at most 128 letters, digits, ".", "_" or "-", starting with a letter or digit.');
}

export type UserDataService = ReturnType<typeof createUserDataService>;

export function createUserDataService({ store, servers }: Pick<ComputeDeps, 'store'> & { servers: Pick<ServerService, 'findVisible'> }) {
  const { db } = store;
  const entries = (serverId: string) => db.selectFrom('server_user_data').where('server_id', '=', serverId);

  async function keys(actor: Actor, serverId: string): Promise<string[]> {
    assertAllowed(actor, 'server:read');
    const server = await servers.findVisible(actor, serverId);
    return (await entries(server.id).select('key').orderBy('key').execute()).map((r) => r.key);
  }

  async function get(actor: Actor, serverId: string, key: string): Promise<Buffer> {
    assertAllowed(actor, 'server:read');
    const server = await servers.findVisible(actor, serverId);
    const row = await entries(server.id).select('value').where('key', '=', key).executeTakeFirst();
    if (!row) throw new NotFound('user_data', `The server has no user data "${key}".`);
    return Buffer.from(row.value, 'base64');
  }

  /** Sets one key (creating or replacing it). */
  async function set(actor: Actor, serverId: string, key: string, value: Buffer): Promise<void> {
    assertAllowed(actor, 'server:write');
    const server = await servers.findVisible(actor, serverId);
    checkKey(key);
    if (value.length > USER_DATA_LIMITS.valueBytes) throw ValidationFailed.field('value', `Ensure the value has no more than ${USER_DATA_LIMITS.valueBytes} bytes.`);
    const row = { server_id: server.id, key, value: value.toString('base64'), size_bytes: value.length, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      // The server's row lock makes concurrent sets of new keys take turns for the count.
      await trx.updateTable('servers').set({ updated_at: row.updated_at }).where('id', '=', server.id).execute();
      const existing = await trx.selectFrom('server_user_data').select('key').where('server_id', '=', server.id).execute();
      if (!existing.some((e) => e.key === key) && existing.length >= USER_DATA_LIMITS.keys) {
        throw new QuotaExceeded('user_data', USER_DATA_LIMITS.keys, `A server holds at most ${USER_DATA_LIMITS.keys} user data keys.`);
      }
      await trx
        .insertInto('server_user_data')
        .values(row)
        .onConflict((oc) => oc.columns(['server_id', 'key']).doUpdateSet({ value: row.value, size_bytes: row.size_bytes, updated_at: row.updated_at }))
        .execute();
    });
  }

  async function remove(actor: Actor, serverId: string, key: string): Promise<void> {
    assertAllowed(actor, 'server:write');
    const server = await servers.findVisible(actor, serverId);
    const result = await db.deleteFrom('server_user_data').where('server_id', '=', server.id).where('key', '=', key).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new NotFound('user_data', `The server has no user data "${key}".`);
  }

  return { keys, get, set, remove };
}
