import type { Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { AuditEventRow, Database } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { newId, nowIso } from '../clock.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';
import { userSummaries, type UserSummary } from '../summaries.ts';

/** Where a request came from: enough to record an event when nobody is authenticated yet. */
export interface RequestContext {
  requestId: string;
  clientAddress: string;
}

export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'logout',
  'token_created',
  'token_revoked',
  'token_renewed',
  'token_exchanged',
  'token_acl_created',
  'token_acl_deleted',
  'password_changed',
  'role_changed',
  'credential_created',
  'credential_revoked',
  'api_key_regenerated',
  'oauth_settings_changed',
  'dns_zone_created',
  'dns_zone_updated',
  'dns_zone_deleted',
  'dns_records_changed',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  action: AuditAction;
  organizationId: string | null;
  /** Who did it: a user, or null with the name that was tried (a failed login). */
  userId: string | null;
  username: string;
  targetType: string;
  targetId: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  organizationId: string | null;
  actorUserId: string | null;
  actorUsername: string;
  action: string;
  targetType: string;
  targetId: string | null;
  requestId: string;
  clientAddress: string;
  detail: Record<string, unknown>;
  createdAt: string;
  /** The acting user as they are now; null for events without one (a failed login) or once the user is deleted. */
  user: UserSummary | null;
}

const listSpec: ListSpec = {
  filters: {
    action: (query, value) => query.where('action', '=', value),
    user: uuidFilter('actor_user_id', 'user'),
    target_id: (query, value) => query.where('target_id', '=', value),
  },
  searchColumns: ['actor_username', 'action'],
  orderings: { created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

function toEvent(row: AuditEventRow, user: UserSummary | null): AuditEvent {
  return {
    id: row.id,
    organizationId: row.organization_id,
    actorUserId: row.actor_user_id,
    actorUsername: row.actor_username,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    requestId: row.request_id,
    clientAddress: row.client_address,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    createdAt: row.created_at,
    user,
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

/** The audit trail of authentication and authorization events (append-only). */
export function createAuditService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;

  /** `executor` is the transaction the audited change runs in, when there is one. */
  async function record(context: RequestContext, entry: AuditEntry, executor: Kysely<Database> = db): Promise<void> {
    await executor
      .insertInto('audit_events')
      .values({
        id: newId(),
        organization_id: entry.organizationId,
        actor_user_id: entry.userId,
        actor_username: entry.username.slice(0, 150),
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        request_id: context.requestId,
        client_address: context.clientAddress,
        detail: JSON.stringify(entry.detail ?? {}),
        created_at: nowIso(),
      })
      .execute();
  }

  /** An event recorded by an authenticated actor, in its acting organization. */
  function recordFor(actor: Actor, entry: Omit<AuditEntry, 'organizationId' | 'userId' | 'username'>, executor?: Kysely<Database>): Promise<void> {
    return record(actor, { ...entry, organizationId: actor.organizationId, userId: actor.principal.userId, username: actor.principal.username }, executor);
  }

  /**
   * Events of the acting organization's subtree. Events without an organization (failed
   * logins for unknown names) are shown to superusers only.
   */
  async function list(actor: Actor, request: ListRequest): Promise<ListResult<AuditEvent>> {
    assertAllowed(actor, 'audit:read');
    const inSubtree = organizationIdsUnder(db, actor.organizationPath);
    const query = db
      .selectFrom('audit_events')
      .selectAll()
      .where((eb) =>
        actor.principal.isSuperuser
          ? eb.or([eb('organization_id', 'in', inSubtree), eb('organization_id', 'is', null)])
          : eb('organization_id', 'in', inSubtree),
      );
    const result = await runList<AuditEventRow>(db, query, listSpec, request);
    const users = await userSummaries(db, actor.organizationPath, result.items.map((r) => r.actor_user_id));
    return { ...result, items: result.items.map((r) => toEvent(r, (r.actor_user_id && users.get(r.actor_user_id)) || null)) } as ListResult<AuditEvent>;
  }

  return { record, recordFor, list };
}

