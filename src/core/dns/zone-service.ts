import type { DnsZoneRow } from '../../store/schema.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { ZoneChanges, Executor } from './changes.ts';
import type { DnsQuotas } from './dns-quotas.ts';
import { checkZoneInput, toRecord, toZone, ZONE_DEFAULTS, type DnsSettings, type Zone, type ZoneDetail, type ZoneInput } from './model.ts';
import { NameError, parentOf, parseTargetName, parseZoneName } from './names.ts';
import type { Store } from '../../store/database.ts';
import type { ServerRecords } from './server-records.ts';

const listSpec: ListSpec = {
  filters: { name: (query, value) => query.where('name', '=', value.toLowerCase().replace(/\.$/, '')) },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at', updated_at: 'updated_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export interface ZoneServiceDeps {
  store: Store;
  settings: DnsSettings;
  changes: ZoneChanges;
  limits: DnsQuotas;
  serverRecords: ServerRecords;
}

export type ZoneService = ReturnType<typeof createZoneService>;

/** DNS zones: who holds which name, their SOA and transfer settings. */
export function createZoneService({ store, settings, changes, limits, serverRecords }: ZoneServiceDeps) {
  const { db } = store;
  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('dns_zones').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  /** A zone of the actor's subtree; any other (or no) zone is the same 404. */
  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<DnsZoneRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('dns_zone', 'No DNS zone matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Zone>> {
    assertAllowed(actor, 'dns_zone:read');
    const result = await runList<DnsZoneRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map((row) => toZone(row, settings)) } as ListResult<Zone>;
  }

  async function detail(row: DnsZoneRow, executor: Executor = db): Promise<ZoneDetail> {
    const records = await executor.selectFrom('dns_records').selectAll().where('zone_id', '=', row.id).orderBy('name').orderBy('type').orderBy('id').execute();
    return { ...toZone(row, settings), records: records.map(toRecord) };
  }

  /** A zone with its records (SOA and NS included when rendered). */
  async function get(actor: Actor, id: string): Promise<ZoneDetail> {
    assertAllowed(actor, 'dns_zone:read');
    return detail(await findVisible(actor, id));
  }

  /**
   * Refuses a name inside, or holding, another organization's zone: zones of one organization
   * may nest, but nobody takes over names below someone else's zone (or claims a parent of it).
   */
  async function assertNameFree(trx: Executor, actor: Actor, name: string): Promise<void> {
    const ancestors: string[] = [];
    for (let parent = parentOf(name); parent; parent = parentOf(parent)) ancestors.push(parent);
    const foreign = await trx
      .selectFrom('dns_zones')
      .select('name')
      .where('organization_id', '!=', actor.organizationId)
      .where((eb) => eb.or([...(ancestors.length ? [eb('name', 'in', ancestors)] : []), eb('name', 'like', `%.${name}`)]))
      .executeTakeFirst();
    if (foreign) {
      throw ValidationFailed.field('name', foreign.name.endsWith(`.${name}`) ? `${name} holds ${foreign.name}, a zone of another organization.` : `${name} is inside ${foreign.name}, a zone of another organization.`);
    }
  }

  async function create(actor: Actor, input: ZoneInput): Promise<ZoneDetail> {
    assertAllowed(actor, 'dns_zone:write');
    const errors: FieldErrors = {};
    let name = '';
    try {
      name = parseZoneName(input.name ?? '');
    } catch (error) {
      if (!(error instanceof NameError)) throw error;
      errors.name = [error.message];
    }
    checkZoneInput(errors, input, name);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const now = nowIso();
    const row: DnsZoneRow = {
      id: newId(),
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name,
      default_ttl: input.default_ttl ?? ZONE_DEFAULTS.default_ttl,
      primary_ns: input.primary_ns ? parseTargetName(input.primary_ns, name, { host: true }) : settings.nameservers[0]!,
      email: input.email ?? `hostmaster@${name}`,
      refresh: input.refresh ?? ZONE_DEFAULTS.refresh,
      retry: input.retry ?? ZONE_DEFAULTS.retry,
      expire: input.expire ?? ZONE_DEFAULTS.expire,
      minimum: input.minimum ?? ZONE_DEFAULTS.minimum,
      serial: 0,
      secondaries: JSON.stringify(input.secondaries ?? []),
      server_records: input.server_records ? 1 : 0,
      revision: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      const zone = await db.transaction().execute(async (trx) => {
        await limits.forZone(trx, actor.organizationId);
        await assertNameFree(trx, actor, name);
        await trx.insertInto('dns_zones').values(row).execute();
        const created = await changes.record(trx, row, actor, { event: 'dns_zone.created', audit: 'dns_zone_created' });
        return serverRecords.syncZone(trx, created, actor);
      });
      changes.published(zone);
      return detail(zone);
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict(`A DNS zone named ${name} already exists.`, 'zone_exists');
      throw error;
    }
  }

  async function update(actor: Actor, id: string, input: ZoneInput, options: { expectedRevision?: number } = {}): Promise<ZoneDetail> {
    assertAllowed(actor, 'dns_zone:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors: FieldErrors = {};
    if (input.name !== undefined && parseZoneNameOrNull(input.name) !== current.name) errors.name = ["A zone's name cannot change: create another zone."];
    checkZoneInput(errors, input, current.name);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const zoneChanges = {
      ...pick(input, ['default_ttl', 'email', 'refresh', 'retry', 'expire', 'minimum'] as const),
      ...(input.primary_ns !== undefined ? { primary_ns: parseTargetName(input.primary_ns, current.name, { host: true }) } : {}),
      ...(input.secondaries !== undefined ? { secondaries: JSON.stringify(input.secondaries) } : {}),
      ...(input.server_records !== undefined ? { server_records: input.server_records ? 1 : 0 } : {}),
    };
    const zone = await db.transaction().execute(async (trx) => {
      const row = await changes.lock(trx, current.id);
      if (!row || row.revision !== current.revision) throw new PreconditionFailed('The zone was changed by another request; read it again and retry.');
      const updated = await changes.record(trx, row, actor, { event: 'dns_zone.updated', audit: 'dns_zone_updated', zone: zoneChanges, data: { fields: Object.keys(zoneChanges) } });
      return serverRecords.syncZone(trx, updated, actor);
    });
    changes.published(zone);
    return detail(zone);
  }

  async function remove(actor: Actor, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    assertAllowed(actor, 'dns_zone:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('dns_zones').where('id', '=', current.id).execute();
      await changes.recordEvent(trx, current, actor, 'dns_zone.deleted', { zone: current.name });
      await changes.recordAudit(trx, current, actor, 'dns_zone_deleted', { zone: current.name });
      await changes.notifyReplicas(trx);
    });
    changes.published({ ...current, secondaries: '[]' });
  }

  return { list, get, create, update, remove, findVisible, detail };
}

function parseZoneNameOrNull(value: string): string | null {
  try {
    return parseZoneName(value);
  } catch {
    return null;
  }
}

function pick<T extends object, K extends keyof T>(input: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => input[k] !== undefined).map((k) => [k, input[k]])) as Partial<Pick<T, K>>;
}
