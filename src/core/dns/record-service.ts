import type { Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database, DnsRecordRow, DnsZoneRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { choiceFilter, runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { ZoneChange, ZoneChanges } from './changes.ts';
import type { DnsQuotas } from './dns-quotas.ts';
import { checkTtl, storedData, toRecord, type DnsRecord, type ZoneDetail } from './model.ts';
import { absoluteName, fqdn, NameError, parseOwnerName, relativeName } from './names.ts';
import { dataFields, isRecordType, parseRecordData, RECORD_TYPES, type RecordFields } from './record-types.ts';
import { conflictsIn, type ZoneRecord } from './rules.ts';
import type { ServerRecords } from './server-records.ts';
import type { ZoneService } from './zone-service.ts';
import { parseZoneFile, writeZoneFile } from './zone-file.ts';

/** A record as a client sends it: name (relative, `@`, or absolute with the final dot), type, TTL and the type's fields. */
export interface RecordInput extends RecordFields {
  name?: unknown;
  type?: unknown;
  ttl?: unknown;
}

/** At most this many records in one replace or import. */
export const MAX_RECORDS_PER_CHANGE = 5000;

const listSpec: ListSpec = {
  filters: { type: choiceFilter('type', 'type', RECORD_TYPES) },
  searchColumns: ['name'],
  orderings: { name: 'name', type: 'type', created_at: 'created_at' },
  defaultOrdering: 'name,type',
  idColumn: 'id',
};

// An SRV record's owner names the service and its protocol (RFC 2782).
const SRV_OWNER = /^_[a-z0-9-]+\._[a-z0-9-]+(\.|$)/;

/** Validates one record for `zone`; field errors are keyed by `prefix` + field. */
export function parseRecordInput(zone: string, input: RecordInput, errors: FieldErrors, prefix = ''): ZoneRecord {
  const local: FieldErrors = {};
  let name = zone;
  if (typeof input.name !== 'string') local.name = ['This field is required.'];
  else {
    try {
      name = parseOwnerName(input.name, zone);
    } catch (error) {
      if (!(error instanceof NameError)) throw error;
      local.name = [error.message];
    }
  }
  const type = typeof input.type === 'string' ? input.type.toUpperCase() : input.type;
  if (!isRecordType(type)) {
    local.type = [input.type === undefined ? 'This field is required.' : `"${String(input.type)}" is not a valid choice. Choose from: ${RECORD_TYPES.join(', ')}.`];
    Object.assign(errors, prefixed(local, prefix));
    return { name, ttl: null, data: { type: 'TXT', value: '' } };
  }
  const ttl = input.ttl === undefined || input.ttl === null ? null : (input.ttl as number);
  if (ttl !== null && typeof ttl !== 'number') local.ttl = ['A valid integer is required.'];
  else checkTtl(local, 'ttl', ttl);
  const data = parseRecordData(type, input, zone, local);
  if (type === 'SRV' && !local.name && !SRV_OWNER.test(relativeName(name, zone))) local.name = ['An SRV record is named _service._protocol, such as _sip._tcp or _ldap._tcp.office.'];
  Object.assign(errors, prefixed(local, prefix));
  return { name, ttl, data };
}

function prefixed(errors: FieldErrors, prefix: string): FieldErrors {
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** The fields a record shows for a client: its input, as it would send it back. */
export function recordInputOf(record: DnsRecord, zone: string): RecordInput {
  const fields = dataFields(record.data);
  if (typeof fields.hostname === 'string') fields.hostname = fields.hostname === '' ? '.' : fqdn(fields.hostname);
  return { name: relativeName(record.name, zone), type: record.type, ttl: record.ttl, ...fields };
}

export type RecordService = ReturnType<typeof createRecordService>;

/** The zone a record is shown with (its name is shown relative to it). */
export interface ZoneRef {
  id: string;
  name: string;
}

export interface InZone {
  zone: ZoneRef;
  record: DnsRecord;
}

const refOf = (zone: DnsZoneRow): ZoneRef => ({ id: zone.id, name: zone.name });

export interface RecordServiceDeps {
  store: Store;
  zones: ZoneService;
  changes: ZoneChanges;
  limits: DnsQuotas;
  serverRecords: ServerRecords;
}

/** A zone's records: one at a time, all at once (replace), or as a zone file. */
export function createRecordService({ store, zones, changes, limits, serverRecords }: RecordServiceDeps) {
  const { db } = store;

  async function findRecord(zone: DnsZoneRow, id: string): Promise<DnsRecordRow> {
    const row = isUuid(id) ? await db.selectFrom('dns_records').selectAll().where('zone_id', '=', zone.id).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('dns_record', 'No DNS record matches the given query.');
    return row;
  }

  async function list(actor: Actor, zoneId: string, request: ListRequest): Promise<{ zone: ZoneRef; result: ListResult<DnsRecord> }> {
    assertAllowed(actor, 'dns_record:read');
    const zone = await zones.findVisible(actor, zoneId);
    const query = db.selectFrom('dns_records').selectAll().where('zone_id', '=', zone.id);
    const named = request.filters.name === undefined ? query : query.where('name', '=', absoluteName(request.filters.name, zone.name));
    const result = await runList<DnsRecordRow>(db, named, listSpec, request);
    return { zone: refOf(zone), result: { ...result, items: result.items.map(toRecord) } as ListResult<DnsRecord> };
  }

  async function get(actor: Actor, zoneId: string, id: string): Promise<InZone> {
    assertAllowed(actor, 'dns_record:read');
    const zone = await zones.findVisible(actor, zoneId);
    return { zone: refOf(zone), record: toRecord(await findRecord(zone, id)) };
  }

  /**
   * Runs one change to a zone's records: takes the zone's turn, lets `work` write, checks the
   * zone's records together (refusing the whole change when they break a rule), checks the
   * quota, and records the change. Records `work` did not write are assumed valid; problems
   * are reported on the written ones (`field` names the input each one came from).
   */
  async function changeRecords<T>(actor: Actor, zoneId: string, work: (trx: Transaction<Database>, zone: DnsZoneRow) => Promise<{ result: T; written: string[]; adding: number; change: ZoneChange; field?: (index: number) => string }>): Promise<T> {
    assertAllowed(actor, 'dns_record:write');
    const visible = await zones.findVisible(actor, zoneId);
    const { result, zone } = await db.transaction().execute(async (trx) => {
      const locked = await changes.lock(trx, visible.id);
      if (!locked) throw new NotFound('dns_zone', 'No DNS zone matches the given query.');
      const { result, written, adding, change, field } = await work(trx, locked);
      await limits.forRecordsWritten(trx, locked.organization_id, adding);
      const rows = (await trx.selectFrom('dns_records').selectAll().where('zone_id', '=', locked.id).execute()).map(toRecord);
      const order = [...rows.filter((r) => !written.includes(r.id)), ...written.map((id) => rows.find((r) => r.id === id)!)];
      const problems = conflictsIn(locked.name, order, order.length - written.length);
      if (problems.size) {
        const errors: FieldErrors = {};
        for (const [index, messages] of problems) {
          const key = field ? field(index - (order.length - written.length)) : 'non_field_errors';
          errors[key] = [...(errors[key] ?? []), ...messages];
        }
        const { non_field_errors: nonField, ...fields } = errors;
        throw new ValidationFailed(fields, nonField ?? []);
      }
      const recorded = await changes.record(trx, locked, actor, change);
      // A server created where a user's CNAME is gets no record; it gets one once the CNAME goes.
      return { result, zone: await serverRecords.syncZone(trx, recorded, actor) };
    });
    changes.published(zone);
    return result;
  }

  function writeRow(trx: Transaction<Database>, zone: DnsZoneRow, record: ZoneRecord, id = newId()): Promise<unknown> {
    const now = nowIso();
    return trx.insertInto('dns_records').values({ id, zone_id: zone.id, name: record.name, type: record.data.type, ttl: record.ttl, data: storedData(record.data), server_id: null, revision: 1, created_at: now, updated_at: now }).execute();
  }

  const recordChange = (verb: string, id: string, record: ZoneRecord): ZoneChange => ({
    event: `dns_record.${verb}`,
    audit: 'dns_records_changed',
    resource: { type: 'dns_record', id },
    data: { record: id, name: record.name, type: record.data.type, change: verb },
  });

  function parseOne(zone: string, input: RecordInput): ZoneRecord {
    const errors: FieldErrors = {};
    const record = parseRecordInput(zone, input, errors);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return record;
  }

  async function create(actor: Actor, zoneId: string, input: RecordInput): Promise<InZone> {
    assertAllowed(actor, 'dns_record:write');
    const zone = await zones.findVisible(actor, zoneId);
    const record = parseOne(zone.name, input);
    const id = newId();
    await changeRecords(actor, zone.id, async (trx, locked) => {
      await writeRow(trx, locked, record, id);
      return { result: null, written: [id], adding: 1, change: recordChange('created', id, record), field: () => 'non_field_errors' };
    });
    return { zone: refOf(zone), record: toRecord(await findRecord(zone, id)) };
  }

  function assertUserRecord(row: DnsRecordRow): void {
    if (row.server_id) throw new Conflict(`This record is kept by Nimbus for server ${row.server_id}: it follows the server, and changes only with it.`, 'managed_record');
  }

  /** PATCH changes the given fields (the type's fields merge when the type stays); PUT replaces the record. */
  async function update(actor: Actor, zoneId: string, id: string, input: RecordInput, options: { partial: boolean; expectedRevision?: number }): Promise<InZone> {
    assertAllowed(actor, 'dns_record:write');
    const zone = await zones.findVisible(actor, zoneId);
    const current = await findRecord(zone, id);
    assertUserRecord(current);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const before = recordInputOf(toRecord(current), zone.name);
    const sameType = input.type === undefined || String(input.type).toUpperCase() === current.type;
    const merged = options.partial ? { ...(sameType ? before : { name: before.name, ttl: before.ttl }), ...definedOnly(input) } : input;
    const record = parseOne(zone.name, merged);
    await changeRecords(actor, zone.id, async (trx) => {
      const now = nowIso();
      const changed = await trx
        .updateTable('dns_records')
        .set({ name: record.name, type: record.data.type, ttl: record.ttl, data: storedData(record.data), revision: current.revision + 1, updated_at: now })
        .where('id', '=', current.id)
        .where('revision', '=', current.revision)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new PreconditionFailed('The record was changed by another request; read it again and retry.');
      return { result: null, written: [current.id], adding: 0, change: recordChange('updated', current.id, record), field: () => 'non_field_errors' };
    });
    return { zone: refOf(zone), record: toRecord(await findRecord(zone, id)) };
  }

  async function remove(actor: Actor, zoneId: string, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    assertAllowed(actor, 'dns_record:write');
    const zone = await zones.findVisible(actor, zoneId);
    const current = await findRecord(zone, id);
    assertUserRecord(current);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const record = toRecord(current);
    await changeRecords(actor, zone.id, async (trx) => {
      await trx.deleteFrom('dns_records').where('id', '=', current.id).execute();
      return { result: null, written: [], adding: 0, change: recordChange('deleted', current.id, record) };
    });
  }

  /** Replaces the zone's own records (not the servers' ones) with `records`, as one change and one serial. */
  async function replaceParsed(actor: Actor, zone: DnsZoneRow, records: ZoneRecord[], change: ZoneChange, zoneFields: ZoneChange['zone'] = undefined): Promise<ZoneDetail> {
    await changeRecords(actor, zone.id, async (trx, locked) => {
      const { n } = await trx.selectFrom('dns_records').select((eb) => eb.fn.countAll<number>().as('n')).where('zone_id', '=', locked.id).where('server_id', 'is', null).executeTakeFirstOrThrow();
      await trx.deleteFrom('dns_records').where('zone_id', '=', locked.id).where('server_id', 'is', null).execute();
      const ids = records.map(() => newId());
      for (const [i, record] of records.entries()) await writeRow(trx, locked, record, ids[i]);
      return { result: null, written: ids, adding: records.length - Number(n), change: { ...change, zone: zoneFields, data: { ...change.data, records: records.length } }, field: (i) => `records[${i}]` };
    });
    return zones.detail(await zones.findVisible(actor, zone.id));
  }

  async function replace(actor: Actor, zoneId: string, inputs: RecordInput[]): Promise<ZoneDetail> {
    assertAllowed(actor, 'dns_record:write');
    const zone = await zones.findVisible(actor, zoneId);
    if (inputs.length > MAX_RECORDS_PER_CHANGE) throw ValidationFailed.field('records', `Ensure this list has at most ${MAX_RECORDS_PER_CHANGE} records.`);
    const errors: FieldErrors = {};
    const records = inputs.map((input, i) => parseRecordInput(zone.name, input, errors, `records[${i}].`));
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return replaceParsed(actor, zone, records, { event: 'dns_zone.records_replaced', audit: 'dns_records_changed' });
  }

  /**
   * Replaces the zone's records with a zone file's (RFC 1035). Its SOA timers and contact, and
   * its `$TTL`, become the zone's; its apex NS records are left to the deployment.
   */
  async function importZoneFile(actor: Actor, zoneId: string, source: string): Promise<ZoneDetail> {
    assertAllowed(actor, 'dns_record:write');
    const zone = await zones.findVisible(actor, zoneId);
    const parsed = parseZoneFile(source, zone.name);
    const problems = [...parsed.errors];
    const records: ZoneRecord[] = [];
    for (const entry of parsed.records) {
      if (entry.type === 'NS' && entry.name === `${zone.name}.`) continue;
      const errors: FieldErrors = {};
      records.push(parseRecordInput(zone.name, { name: entry.name, type: entry.type, ttl: entry.ttl, ...entry.fields }, errors));
      for (const [field, messages] of Object.entries(errors)) problems.push(`line ${entry.line}: ${field}: ${messages.join(' ')}`);
    }
    if (records.length > MAX_RECORDS_PER_CHANGE) problems.push(`A zone file may hold at most ${MAX_RECORDS_PER_CHANGE} records.`);
    if (problems.length) throw ValidationFailed.field('zone_file', problems.join('\n'));
    const soa = parsed.soa;
    const zoneFields = {
      ...(parsed.defaultTtl !== null ? { default_ttl: parsed.defaultTtl } : {}),
      ...(soa ? { email: soa.email, refresh: soa.refresh, retry: soa.retry, expire: soa.expire, minimum: soa.minimum } : {}),
    };
    return replaceParsed(actor, zone, records, { event: 'dns_zone.imported', audit: 'dns_records_changed' }, zoneFields);
  }

  /** The zone as an RFC 1035 zone file: SOA, the deployment's NS records, then every record. */
  async function exportZoneFile(actor: Actor, zoneId: string): Promise<{ name: string; content: string }> {
    assertAllowed(actor, 'dns_record:read');
    const zone = await zones.detail(await zones.findVisible(actor, zoneId));
    const content = writeZoneFile({
      name: zone.name,
      defaultTtl: zone.default_ttl,
      soa: { primaryNs: zone.primary_ns, email: zone.email, serial: zone.serial, refresh: zone.refresh, retry: zone.retry, expire: zone.expire, minimum: zone.minimum },
      nameservers: zone.nameservers,
      records: zone.records,
    });
    return { name: zone.name, content };
  }

  return { list, get, create, update, remove, replace, importZoneFile, exportZoneFile };
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

