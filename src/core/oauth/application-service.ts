import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import type { OauthApplicationRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { generateToken, hashToken, parseToken } from '../tokens/token-format.ts';
import { OauthError } from './oauth-errors.ts';
import { redirectUriProblem } from './redirect-uris.ts';
import { isOauthScope, SCOPE_NAMES, type OauthScope } from './scopes.ts';

export type ClientType = 'confidential' | 'public';

export interface OauthApplication {
  id: string;
  organizationId: string;
  name: string;
  clientId: string;
  clientType: ClientType;
  redirectUris: string[];
  scopes: OauthScope[];
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface OauthApplicationInput {
  name?: string;
  clientType?: string;
  redirectUris?: string[];
  scopes?: string[];
}

const NAME_MAX = 100;
const REDIRECT_URIS_MAX = 20;
const REDIRECT_URI_MAX_LENGTH = 2000;
const CLIENT_ID_LENGTH = 32;
const CLIENT_ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

const listSpec: ListSpec = {
  filters: {
    client_id: (query, value) => query.where('oauth_applications.client_id', '=', value),
    client_type: (query, value) => query.where('oauth_applications.client_type', '=', value),
  },
  searchColumns: ['oauth_applications.name', 'oauth_applications.client_id'],
  orderings: { name: 'oauth_applications.name', created_at: 'oauth_applications.created_at', updated_at: 'oauth_applications.updated_at' },
  defaultOrdering: 'name',
  idColumn: 'oauth_applications.id',
};

export function toApplication(row: OauthApplicationRow): OauthApplication {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    clientId: row.client_id,
    clientType: row.client_type as ClientType,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    scopes: JSON.parse(row.scopes) as OauthScope[],
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function generateClientId(): string {
  let id = '';
  for (let i = 0; i < CLIENT_ID_LENGTH; i++) id += CLIENT_ID_ALPHABET[randomInt(CLIENT_ID_ALPHABET.length)];
  return id;
}

export type OauthApplicationService = ReturnType<typeof createOauthApplicationService>;

/** OAuth client registrations, owned by organizations and managed like any other resource. */
export function createOauthApplicationService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;

  const visible = (actor: Actor) =>
    db
      .selectFrom('oauth_applications')
      .innerJoin('organizations', 'organizations.id', 'oauth_applications.organization_id')
      .selectAll('oauth_applications')
      .where('organizations.path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string): Promise<OauthApplicationRow> {
    const row = isUuid(id) ? await visible(actor).where('oauth_applications.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('oauth_application', 'No OAuth application matches the given query.');
    return row;
  }

  function validate(input: OauthApplicationInput, { partial }: { partial: boolean }): FieldErrors {
    const errors: FieldErrors = {};
    const required = (field: keyof OauthApplicationInput) => {
      if (input[field] === undefined && !partial) errors[field] = ['This field is required.'];
    };
    required('name');
    required('redirectUris');
    required('scopes');
    if (input.name !== undefined) {
      if (input.name.trim() === '') errors.name = ['This field may not be blank.'];
      else if (input.name.length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    }
    if (input.clientType !== undefined && input.clientType !== 'confidential' && input.clientType !== 'public') {
      errors.clientType = [`"${input.clientType}" is not a valid choice (confidential or public).`];
    }
    if (input.redirectUris !== undefined) {
      const problems = input.redirectUris.map((uri) => (uri.length > REDIRECT_URI_MAX_LENGTH ? `A redirect URI is longer than ${REDIRECT_URI_MAX_LENGTH} characters.` : redirectUriProblem(uri)));
      if (input.redirectUris.length === 0) errors.redirectUris = ['Register at least one redirect URI.'];
      else if (input.redirectUris.length > REDIRECT_URIS_MAX) errors.redirectUris = [`Register at most ${REDIRECT_URIS_MAX} redirect URIs.`];
      else if (problems.some(Boolean)) errors.redirectUris = problems.filter((p): p is string => p !== null);
    }
    if (input.scopes !== undefined) {
      const unknown = input.scopes.filter((s) => !isOauthScope(s));
      if (input.scopes.length === 0) errors.scopes = ['Allow at least one scope.'];
      else if (unknown.length) errors.scopes = unknown.map((s) => `"${s}" is not a valid scope; valid scopes: ${SCOPE_NAMES.join(', ')}.`);
    }
    return errors;
  }

  const canonicalScopes = (scopes: string[]) => SCOPE_NAMES.filter((s) => scopes.includes(s));
  const uniqueUris = (uris: string[]) => [...new Set(uris)];

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<OauthApplication>> {
    assertAllowed(actor, 'oauth_application:read');
    const result = await runList<OauthApplicationRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toApplication) } as ListResult<OauthApplication>;
  }

  async function get(actor: Actor, id: string): Promise<OauthApplication> {
    assertAllowed(actor, 'oauth_application:read');
    return toApplication(await findVisible(actor, id));
  }

  /** Registers an application in the acting organization; a confidential one gets its secret, shown this once. */
  async function create(actor: Actor, input: OauthApplicationInput): Promise<{ application: OauthApplication; clientSecret: string | null }> {
    assertAllowed(actor, 'oauth_application:write');
    const errors = validate(input, { partial: false });
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const clientType = (input.clientType ?? 'confidential') as ClientType;
    const clientSecret = clientType === 'confidential' ? generateToken('oauth_client_secret') : null;
    const now = nowIso();
    const row: OauthApplicationRow = {
      id: newId(),
      organization_id: actor.organizationId,
      name: input.name!.trim(),
      client_id: generateClientId(),
      client_type: clientType,
      client_secret_hash: clientSecret ? hashToken(clientSecret) : null,
      redirect_uris: JSON.stringify(uniqueUris(input.redirectUris!)),
      scopes: JSON.stringify(canonicalScopes(input.scopes!)),
      created_by: actor.principal.userId,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    await db.insertInto('oauth_applications').values(row).execute();
    return { application: toApplication(row), clientSecret };
  }

  /** Name, redirect URIs and scopes change; the client type is fixed at registration. */
  async function update(actor: Actor, id: string, input: OauthApplicationInput, options: { partial: boolean; expectedRevision?: number }): Promise<OauthApplication> {
    assertAllowed(actor, 'oauth_application:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors = validate(input, options);
    if (input.clientType !== undefined && input.clientType !== current.client_type && !errors.clientType) {
      errors.clientType = ['The client type cannot change; register a new application instead.'];
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const changes = {
      name: input.name?.trim() ?? current.name,
      redirect_uris: input.redirectUris ? JSON.stringify(uniqueUris(input.redirectUris)) : current.redirect_uris,
      scopes: input.scopes ? JSON.stringify(canonicalScopes(input.scopes)) : current.scopes,
      revision: current.revision + 1,
      updated_at: nowIso(),
    };
    const result = await db.updateTable('oauth_applications').set(changes).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The application was changed by another request; read it again and retry.');
    return toApplication({ ...current, ...changes });
  }

  /** A new secret for a confidential client; the old one stops working at once. */
  async function rotateSecret(actor: Actor, id: string): Promise<{ application: OauthApplication; clientSecret: string }> {
    assertAllowed(actor, 'oauth_application:write');
    const current = await findVisible(actor, id);
    if (current.client_type !== 'confidential') throw new ValidationFailed({}, ['A public client has no secret.']);
    const clientSecret = generateToken('oauth_client_secret');
    const changes = { client_secret_hash: hashToken(clientSecret), revision: current.revision + 1, updated_at: nowIso() };
    await db.updateTable('oauth_applications').set(changes).where('id', '=', current.id).execute();
    return { application: toApplication({ ...current, ...changes }), clientSecret };
  }

  /** Deleting an application ends every grant and token issued to it (foreign keys cascade). */
  async function remove(actor: Actor, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    assertAllowed(actor, 'oauth_application:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    await db.deleteFrom('oauth_applications').where('id', '=', current.id).execute();
  }

  async function findByClientId(clientId: string): Promise<OauthApplication | null> {
    const row = await db.selectFrom('oauth_applications').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row ? toApplication(row) : null;
  }

  /**
   * The client making a back-channel request. A confidential client must present its secret; a
   * public one only names itself. Any failure is `invalid_client` with no hint which part failed.
   */
  async function authenticateClient(clientId: string | undefined, clientSecret: string | undefined): Promise<OauthApplication> {
    const refuse = () => new OauthError('invalid_client', 'Client authentication failed.');
    if (!clientId) throw new OauthError('invalid_client', 'Client authentication is required (HTTP Basic, or client_id and client_secret in the body).');
    const row = await db.selectFrom('oauth_applications').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    if (!row) throw refuse();
    if (row.client_type === 'public') {
      if (clientSecret) throw refuse();
      return toApplication(row);
    }
    if (!clientSecret || parseToken(clientSecret) !== 'oauth_client_secret' || !row.client_secret_hash) throw refuse();
    if (!timingSafeEqual(Buffer.from(hashToken(clientSecret)), Buffer.from(row.client_secret_hash))) throw refuse();
    return toApplication(row);
  }

  return { list, get, create, update, rotateSecret, remove, findByClientId, authenticateClient };
}
