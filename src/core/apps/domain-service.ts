import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { AppDomainRow, AppRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { AppService } from './app-service.ts';
import { appEvent, type AppSettings } from './context.ts';
import { checkCertificate, checkDomainName, normalDomainName, type CheckedCertificate } from './domain-rules.ts';

/** A custom domain as services return it: its key stays sealed in the store. */
export type Domain = Omit<AppDomainRow, 'tls_key_sealed'>;

export interface DomainInput {
  name?: string;
  /** PEM certificate (chain) and key, given together; null on both removes them. */
  tls_cert?: string | null;
  tls_key?: string | null;
}

/** An app may have this many custom domains. */
export const DOMAINS_PER_APP = 50;

export type DomainService = ReturnType<typeof createDomainService>;

/** The context a domain's key is sealed with: a sealed key moved to another row does not open. */
export const domainKeyContext = (domainId: string) => `app_domain:${domainId}`;

const toDomain = ({ tls_key_sealed: _sealed, ...domain }: AppDomainRow): Domain => domain;

/**
 * Custom domains of apps: each name routes to one app on the whole installation; with a
 * certificate, the router serves it over HTTPS, choosing the certificate by SNI.
 */
export function createDomainService(deps: { store: Store; events: EventService; apps: AppService; secrets: SecretBox; settings: AppSettings }) {
  const { store, events, apps, secrets, settings } = deps;
  const { db } = store;

  /** A certificate of the input when it gives one (both fields), null when it removes it, undefined when it says nothing. */
  function certificateOf(errors: FieldErrors, input: DomainInput, name: string): CheckedCertificate | null | undefined {
    if (input.tls_cert === undefined && input.tls_key === undefined) return undefined;
    if (input.tls_cert === null && input.tls_key === null) return null;
    return checkCertificate(errors, { cert: input.tls_cert, key: input.tls_key }, name);
  }

  const tlsColumns = (id: string, certificate: CheckedCertificate | null) => ({
    tls_cert: certificate?.cert ?? null,
    tls_key_sealed: certificate ? secrets.seal(Buffer.from(certificate.key), domainKeyContext(id)) : null,
    tls_expires_at: certificate?.expiresAt ?? null,
  });

  async function findDomain(app: AppRow, idOrName: string): Promise<AppDomainRow> {
    const row = await db.selectFrom('app_domains').selectAll().where('app_id', '=', app.id)
      .where(isUuid(idOrName) ? 'id' : 'name', '=', isUuid(idOrName) ? idOrName : normalDomainName(idOrName)).executeTakeFirst();
    if (!row) throw new NotFound('domain', 'No domain matches the given query.');
    return row;
  }

  async function list(actor: Actor, appRef: string): Promise<Domain[]> {
    const app = await apps.reach(actor, appRef, 'read');
    return (await db.selectFrom('app_domains').selectAll().where('app_id', '=', app.id).orderBy('name').execute()).map(toDomain);
  }

  async function get(actor: Actor, appRef: string, idOrName: string): Promise<Domain> {
    return toDomain(await findDomain(await apps.reach(actor, appRef, 'read'), idOrName));
  }

  async function create(actor: Actor, appRef: string, input: DomainInput): Promise<Domain> {
    const app = await apps.reach(actor, appRef, 'write');
    const errors: FieldErrors = {};
    checkDomainName(errors, 'name', input.name, settings.domain);
    const name = errors.name ? '' : normalDomainName(input.name!);
    const certificate = errors.name ? undefined : certificateOf(errors, input, name);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const now = nowIso();
    const id = newId();
    const row: AppDomainRow = { id, app_id: app.id, name, ...tlsColumns(id, certificate ?? null), created_at: now, updated_at: now };
    try {
      await db.transaction().execute(async (trx) => {
        const count = await trx.selectFrom('app_domains').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', app.id).executeTakeFirstOrThrow();
        if (Number(count.n) >= DOMAINS_PER_APP) throw ValidationFailed.field('name', `An app has at most ${DOMAINS_PER_APP} domains.`);
        await trx.insertInto('app_domains').values(row).execute();
        await events.record(trx, appEvent(app, 'new_domain', actor, { domain: name, ssl: row.tls_cert !== null }));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field('name', 'is already taken');
      throw error;
    }
    return toDomain(row);
  }

  /** Sets, replaces or (with nulls) removes the domain's certificate and key. */
  async function update(actor: Actor, appRef: string, idOrName: string, input: Pick<DomainInput, 'tls_cert' | 'tls_key'>): Promise<Domain> {
    const app = await apps.reach(actor, appRef, 'write');
    const current = await findDomain(app, idOrName);
    const errors: FieldErrors = {};
    const certificate = certificateOf(errors, input, current.name);
    if (certificate === undefined && !Object.keys(errors).length) errors.tls_cert = ['Give tls_cert and tls_key, or null for both to remove them.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const next: AppDomainRow = { ...current, ...tlsColumns(current.id, certificate!), updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('app_domains').set({ tls_cert: next.tls_cert, tls_key_sealed: next.tls_key_sealed, tls_expires_at: next.tls_expires_at, updated_at: next.updated_at }).where('id', '=', current.id).execute();
      await events.record(trx, appEvent(app, 'edit_domain', actor, { domain: current.name, ssl: next.tls_cert !== null }));
    });
    return toDomain(next);
  }

  async function remove(actor: Actor, appRef: string, idOrName: string): Promise<void> {
    const app = await apps.reach(actor, appRef, 'write');
    const current = await findDomain(app, idOrName);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('app_domains').where('id', '=', current.id).execute();
      await events.record(trx, appEvent(app, 'delete_domain', actor, { domain: current.name }));
    });
  }

  return { list, get, create, update, remove };
}
