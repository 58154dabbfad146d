import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/schema.ts';

/**
 * Tables that copy their organization's path onto each row, so that a subtree is read with one
 * prefix match. When an organization moves, their rows move with it.
 */
const PATH_COPIES = ['tasks', 'events', 'images', 'servers', 'volumes', 'snapshots', 'commands', 'environments', 'dns_zones', 'apps'] as const;

/** Re-roots the rows of every path-copying table from `from` (an organization's old path) to `to`. */
export async function movePathCopies(trx: Transaction<Database>, from: string, to: string): Promise<void> {
  for (const table of PATH_COPIES) {
    await sql`update ${sql.table(table)} set organization_path = ${to} || substr(organization_path, ${from.length + 1}) where organization_path like ${`${from}%`}`.execute(trx);
  }
}

/** What an organization may still own that stops its deletion: things running or stored on a host. */
const BLOCKING = [
  ['servers', 'server'],
  ['volumes', 'volume'],
  ['snapshots', 'snapshot'],
  ['images', 'image'],
  ['dns_zones', 'DNS zone'],
  ['apps', 'app'],
] as const;

/** "2 server(s), 1 volume(s)": what the organization still owns that must go first; empty when nothing. */
export async function resourcesBlockingDeletion(trx: Transaction<Database>, organizationId: string): Promise<string[]> {
  const found: string[] = [];
  for (const [table, noun] of BLOCKING) {
    const { n } = await trx.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', '=', organizationId).executeTakeFirstOrThrow();
    if (Number(n) > 0) found.push(`${n} ${noun}(s)`);
  }
  return found;
}

/** Records that go with their organization: its private network (the bridge left with its last server) and its environments (their members with them). */
export async function deleteOwnedRecords(trx: Transaction<Database>, organizationId: string): Promise<void> {
  await trx.deleteFrom('environment_members').where('environment_id', 'in', (eb) => eb.selectFrom('environments').select('id').where('organization_id', '=', organizationId)).execute();
  await trx.deleteFrom('environments').where('organization_id', '=', organizationId).execute();
  await trx.deleteFrom('networks').where('organization_id', '=', organizationId).execute();
}
