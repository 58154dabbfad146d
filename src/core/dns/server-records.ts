import type { Transaction } from 'kysely';
import type { Database, DnsZoneRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { newId, nowIso } from '../clock.ts';
import type { ZoneChanges } from './changes.ts';

/**
 * `<server>.<zone>` A records for the private addresses of the servers of a zone's organization,
 * in the zones that ask for them (`server_records`). Nimbus keeps them: they follow the servers
 * and users cannot change them. A name where a user put a CNAME keeps the user's record.
 */
export function serverRecords({ changes }: { changes: ZoneChanges }) {
  /** Makes the zone's server records match the servers; `record`: count it as a change of its own. */
  async function syncZone(trx: Transaction<Database>, zone: DnsZoneRow, actor: Actor | null, { record = false } = {}): Promise<DnsZoneRow> {
    const servers = zone.server_records
      ? await trx.selectFrom('servers').select(['id', 'hostname', 'private_ip']).where('organization_id', '=', zone.organization_id).orderBy('hostname').execute()
      : [];
    const existing = await trx.selectFrom('dns_records').select(['id', 'name', 'type', 'data', 'server_id']).where('zone_id', '=', zone.id).execute();
    const cnames = new Set(existing.filter((r) => r.server_id === null && r.type === 'CNAME').map((r) => r.name));
    const wanted = servers
      .map((s) => ({ server_id: s.id, name: `${s.hostname}.${zone.name}`, data: JSON.stringify({ ip: s.private_ip }) }))
      .filter((w) => !cnames.has(w.name));
    const kept = existing.filter((r) => r.server_id !== null);
    const key = (r: { server_id: string | null; name: string; data: string }) => `${r.server_id} ${r.name} ${r.data}`;
    const wantedKeys = new Set(wanted.map(key));
    const keptKeys = new Set(kept.map(key));
    const removed = kept.filter((r) => !wantedKeys.has(key(r)));
    const added = wanted.filter((w) => !keptKeys.has(key(w)));
    if (!removed.length && !added.length) return zone;
    if (removed.length) await trx.deleteFrom('dns_records').where('id', 'in', removed.map((r) => r.id)).execute();
    const now = nowIso();
    for (const w of added) await trx.insertInto('dns_records').values({ id: newId(), zone_id: zone.id, name: w.name, type: 'A', ttl: null, data: w.data, server_id: w.server_id, revision: 1, created_at: now, updated_at: now }).execute();
    if (!record) return zone;
    return changes.record(trx, zone, actor, {
      event: 'dns_zone.server_records_changed',
      audit: 'dns_records_changed',
      data: { added: added.map((a) => a.name), removed: removed.map((r) => r.name) },
    });
  }

  /**
   * An organization's servers changed (one was created or deleted): its zones that keep server
   * records follow, in the same transaction. Returns what to do once it commits (tell the
   * secondaries and this process's cache).
   */
  async function serversChanged(trx: Transaction<Database>, organizationId: string, actor: Actor | null): Promise<() => void> {
    const zones = await trx.selectFrom('dns_zones').selectAll().where('organization_id', '=', organizationId).where('server_records', '=', 1).execute();
    const changed: DnsZoneRow[] = [];
    for (const zone of zones) {
      const after = await syncZone(trx, zone, actor, { record: true });
      if (after !== zone) changed.push(after);
    }
    return () => {
      for (const zone of changed) changes.published(zone);
    };
  }

  return { syncZone, serversChanged };
}

export type ServerRecords = ReturnType<typeof serverRecords>;
