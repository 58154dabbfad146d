import type { NetworkSpec } from '../../backends/compute-host.ts';
import { bridgeName } from '../../backends/names.ts';
import type { NetworkRow } from '../../store/schema.ts';
import { newId, nowIso } from '../clock.ts';
import { Conflict } from '../errors.ts';
import { firstFreeAddress, firstFreeSubnet, type AddressRange } from './addresses.ts';
import type { Executor } from './context.ts';

export function toNetworkSpec(row: NetworkRow): NetworkSpec {
  return { id: row.id, bridge: row.bridge, subnet: row.subnet, gateway: row.gateway };
}

/**
 * The organization's network, made on its first server. Run inside the creating transaction:
 * two organizations racing for one free /24 hit the unique constraint, and the loser's
 * transaction runs again (`retryOnUniqueViolation`).
 */
export async function ensureNetwork(trx: Executor, organizationId: string, range: AddressRange): Promise<NetworkRow> {
  const existing = await trx.selectFrom('networks').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
  if (existing) return existing;
  const taken = new Set((await trx.selectFrom('networks').select('subnet').execute()).map((r) => r.subnet));
  const free = firstFreeSubnet(range, taken);
  if (!free) throw new Conflict('Every private network of the configured range is in use; widen NIMBUS_NETWORK_RANGE.', 'network_range_full');
  const id = newId();
  const row: NetworkRow = { id, organization_id: organizationId, bridge: bridgeName(id), subnet: free.subnet, gateway: free.gateway, created_at: nowIso() };
  await trx.insertInto('networks').values(row).execute();
  return row;
}

/** The lowest block of host ids no server holds; the unique index on `id_block` settles races. */
export async function allocateIdBlock(trx: Executor): Promise<number> {
  const taken = new Set((await trx.selectFrom('servers').select('id_block').execute()).map((r) => Number(r.id_block)));
  let block = 0;
  while (taken.has(block)) block++;
  return block;
}

/** A free address in `network` for a server or an app container; the unique (network, address) constraints settle races. */
export async function allocateAddress(trx: Executor, network: NetworkRow): Promise<string> {
  const servers = await trx.selectFrom('servers').select('private_ip as address').where('network_id', '=', network.id).execute();
  const containers = await trx.selectFrom('app_containers').select('address').where('network_id', '=', network.id).execute();
  const taken = new Set([...servers, ...containers].map((r) => r.address));
  const address = firstFreeAddress(network.subnet, taken);
  if (!address) throw new Conflict('The organization\'s private network has no free address left.', 'network_full');
  return address;
}
