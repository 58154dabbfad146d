import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import type { ServerRegistrationTokenRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso, parseTimestamp } from '../clock.ts';
import { NotFound, Unauthenticated, ValidationFailed, type FieldErrors } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';
import { generateToken, hashToken, parseToken } from '../tokens/token-format.ts';

const NAME_MAX = 100;
const GROUPS_MAX = 100;

/** A registration token as its organization sees it: never its key. */
export interface RegistrationToken {
  id: string;
  name: string;
  allowedGroups: string[];
  expiresAt: string | null;
  /** Not expired. */
  enabled: boolean;
  lastUsedAt: string | null;
  createdBy: string | null;
  createdAt: string;
}

export interface RegistrationTokenInput {
  name?: string;
  allowedGroups?: string[];
  expiresAt?: string | null;
}

/** What a valid key enrols into: read by the agent's registration. */
export interface Enrolment {
  tokenId: string;
  organizationId: string;
  organizationPath: string;
  allowedGroups: string[];
}

const listSpec: ListSpec = {
  filters: { name: (query, value) => query.where('name', '=', value) },
  searchColumns: ['name'],
  orderings: { name: 'name', added_at: 'created_at' },
  defaultOrdering: '-added_at',
  idColumn: 'id',
};

function toToken(row: ServerRegistrationTokenRow): RegistrationToken {
  return {
    id: row.id,
    name: row.name,
    allowedGroups: JSON.parse(row.allowed_groups) as string[],
    expiresAt: row.expires_at,
    enabled: row.expires_at === null || row.expires_at > nowIso(),
    lastUsedAt: row.last_used_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export type RegistrationTokenService = ReturnType<typeof createRegistrationTokenService>;

/**
 * Server registration tokens (Alpacon's `alpacon server token`): a key, shown once and kept
 * only as its hash, that enrols machines as servers of its organization until it expires or is
 * deleted, optionally into some of its groups. `enrolmentFor` is what an agent's registration
 * checks a presented key with.
 */
export function createRegistrationTokenService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const visible = (actor: Actor) => db.selectFrom('server_registration_tokens').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function find(actor: Actor, id: string): Promise<ServerRegistrationTokenRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('registration_token', 'No registration token matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<RegistrationToken>> {
    assertAllowed(actor, 'server:read');
    const result = await runList<ServerRegistrationTokenRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toToken) } as ListResult<RegistrationToken>;
  }

  async function get(actor: Actor, id: string): Promise<RegistrationToken> {
    assertAllowed(actor, 'server:read');
    return toToken(await find(actor, id));
  }

  /** Creates a token in the acting organization; the key is in this answer only. */
  async function create(actor: Actor, input: RegistrationTokenInput): Promise<{ token: RegistrationToken; key: string }> {
    assertAllowed(actor, 'server:write');
    const errors: FieldErrors = {};
    const name = input.name?.trim() ?? '';
    if (!name) errors.name = ['This field may not be blank.'];
    else if (name.length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    const groups = [...new Set((input.allowedGroups ?? []).map((g) => g.toLowerCase()))];
    if (groups.length > GROUPS_MAX) errors.allowed_groups = [`Ensure this list has no more than ${GROUPS_MAX} groups.`];
    else {
      const bad = groups.filter((g) => !isUuid(g));
      if (bad.length) errors.allowed_groups = bad.map((g) => `"${g.slice(0, 40)}" is not a valid UUID.`);
      else if (groups.length) {
        // Only the acting organization's own groups (and its subtree's) may receive servers.
        const found = new Set((await db.selectFrom('groups').select('id').where('id', 'in', groups).where('organization_id', 'in', organizationIdsUnder(db, actor.organizationPath)).execute()).map((g) => g.id));
        const missing = groups.filter((g) => !found.has(g));
        if (missing.length) errors.allowed_groups = missing.map((g) => `No group matches "${g}".`);
      }
    }
    const expiresAt = input.expiresAt ? parseTimestamp(input.expiresAt) : null;
    if (input.expiresAt && !expiresAt) errors.expires_at = ['Enter a valid date and time.'];
    else if (expiresAt && expiresAt <= nowIso()) errors.expires_at = ['The expiry must be in the future.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (await db.selectFrom('server_registration_tokens').select('id').where('organization_id', '=', actor.organizationId).where('name', '=', name).executeTakeFirst()) {
      throw ValidationFailed.field('name', 'A registration token with this name already exists.');
    }
    const key = generateToken('registration');
    const row: ServerRegistrationTokenRow = {
      id: newId(),
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name,
      allowed_groups: JSON.stringify(groups),
      key_hash: hashToken(key),
      expires_at: expiresAt,
      created_by: actor.principal.userId,
      last_used_at: null,
      created_at: nowIso(),
    };
    await db.insertInto('server_registration_tokens').values(row).execute();
    return { token: toToken(row), key };
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'server:write');
    const row = await find(actor, id);
    await db.deleteFrom('server_registration_tokens').where('id', '=', row.id).execute();
  }

  /** The organization (and groups) a presented key enrols into; an unknown, deleted or expired key is refused alike. */
  async function enrolmentFor(key: string): Promise<Enrolment> {
    if (parseToken(key) !== 'registration') throw new Unauthenticated('Invalid registration token.', 'authentication_failed');
    const hash = hashToken(key);
    const row = await db.selectFrom('server_registration_tokens').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash), Buffer.from(hash)) || (row.expires_at !== null && row.expires_at <= nowIso())) {
      throw new Unauthenticated('Invalid registration token.', 'authentication_failed');
    }
    await db.updateTable('server_registration_tokens').set({ last_used_at: nowIso() }).where('id', '=', row.id).execute();
    return { tokenId: row.id, organizationId: row.organization_id, organizationPath: row.organization_path, allowedGroups: JSON.parse(row.allowed_groups) as string[] };
  }

  return { list, get, create, remove, enrolmentFor };
}
