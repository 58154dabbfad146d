import type { Kysely, Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { Database, DnsZoneRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import type { AuditAction, AuditService } from '../audit/audit-service.ts';
import { nowIso } from '../clock.ts';
import type { EventService } from '../events/event-service.ts';
import { resourceEvent } from '../events/resource-event.ts';
import type { DnsCatalog } from './catalog.ts';
import type { DnsSettings } from './model.ts';
import { nextSerial } from './serial.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

/** Tells the zone's secondaries that it changed (DNS NOTIFY); a hint: they also poll its serial. */
export interface ZonePublisher {
  zoneChanged(zone: { name: string; serial: number; secondaries: string[] }): void;
}

export interface ZoneChange {
  /** `dns_zone.updated`, `dns_record.created`... */
  event: string;
  audit: AuditAction;
  /** The record changed, when it is one (the event's resource); otherwise the zone. */
  resource?: { type: string; id: string };
  data?: Record<string, unknown>;
  /** Zone columns changed with it. */
  zone?: Partial<Pick<DnsZoneRow, 'default_ttl' | 'primary_ns' | 'email' | 'refresh' | 'retry' | 'expire' | 'minimum' | 'secondaries' | 'server_records'>>;
}

export interface ChangeDeps {
  store: Store;
  events: EventService;
  audit: AuditService;
  notifier: Notifier;
  /** Sends DNS NOTIFY; without it (a process serving no DNS), secondaries only poll the SOA. */
  publisher?: ZonePublisher;
  settings: DnsSettings;
  catalog: Pick<DnsCatalog, 'invalidate'>;
}

/**
 * Every change to a zone goes through here, inside its transaction: the serial moves on (once
 * per change, however many records it touches), the change is recorded as an event and in the
 * audit trail, and every replica's DNS cache is told once the transaction commits.
 */
export function zoneChanges({ events, audit, notifier, publisher, settings, catalog }: ChangeDeps) {
  /**
   * Takes the zone's row lock (PostgreSQL; SQLite has one writer) and reads it: changes to one
   * zone take turns, so each sees the records the last one left and gets its own serial.
   * Undefined when the zone is gone.
   */
  async function lock(trx: Transaction<Database>, zoneId: string): Promise<DnsZoneRow | undefined> {
    await trx.updateTable('dns_zones').set((eb) => ({ serial: eb.ref('serial') })).where('id', '=', zoneId).execute();
    return trx.selectFrom('dns_zones').selectAll().where('id', '=', zoneId).executeTakeFirst();
  }

  /** Records a change to a zone read by `lock` in the same transaction. */
  async function record(trx: Transaction<Database>, zone: DnsZoneRow, actor: Actor | null, change: ZoneChange): Promise<DnsZoneRow> {
    const updated: DnsZoneRow = { ...zone, ...change.zone, serial: nextSerial(Number(zone.serial)), revision: zone.revision + 1, updated_at: nowIso() };
    const { id: _id, organization_id: _o, organization_path: _p, name: _n, created_at: _c, ...columns } = updated;
    await trx.updateTable('dns_zones').set(columns).where('id', '=', zone.id).execute();
    const data = { zone: zone.name, serial: updated.serial, ...change.data };
    await recordEvent(trx, zone, actor, change.event, data, change.resource);
    await recordAudit(trx, zone, actor, change.audit, data);
    await notifyReplicas(trx);
    return updated;
  }

  async function recordEvent(trx: Transaction<Database>, zone: DnsZoneRow, actor: Actor | null, type: string, data: Record<string, unknown>, resource = { type: 'dns_zone', id: zone.id }): Promise<void> {
    const [resourceType, verb] = type.split('.') as [string, string];
    await events.record(trx, resourceEvent({ ...zone, id: resource.id }, resourceType, verb, actor, data));
  }

  /** The audit entry of a change: its actor's, or Nimbus's own when no one asked (a server's record following it). */
  async function recordAudit(trx: Transaction<Database>, zone: DnsZoneRow, actor: Actor | null, action: AuditAction, detail: Record<string, unknown>): Promise<void> {
    const target = { action, targetType: 'dns_zone', targetId: zone.id, detail };
    if (actor) await audit.recordFor(actor, target, trx);
    else await audit.record({ requestId: '', clientAddress: '' }, { ...target, organizationId: zone.organization_id, userId: null, username: 'nimbus' }, trx);
  }

  /** Wakes every replica's DNS cache once `trx` commits. */
  async function notifyReplicas(trx: Transaction<Database>): Promise<void> {
    await notifier.notify(trx, 'dns');
  }

  /**
   * After a change committed: this process answers from it at once (other replicas hear of it
   * through the wake-up), and the zone's secondaries and the deployment's are notified.
   */
  function published(zone: DnsZoneRow): void {
    catalog.invalidate();
    const secondaries = [...new Set([...(JSON.parse(zone.secondaries) as string[]), ...settings.secondaries])];
    if (secondaries.length) publisher?.zoneChanged({ name: zone.name, serial: Number(zone.serial), secondaries });
  }

  return { lock, record, recordEvent, recordAudit, notifyReplicas, published };
}

export type ZoneChanges = ReturnType<typeof zoneChanges>;
