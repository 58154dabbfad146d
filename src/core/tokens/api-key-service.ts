import type { Store } from '../../store/database.ts';
import type { ApiTokenRow } from '../../store/schema.ts';
import { assertNotAclBound, assertScope, type Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { NotFound } from '../errors.ts';
import type { TokenService } from './token-service.ts';

/** A user's API key as its owner sees it after it was generated: never the secret. */
export interface ApiKey {
  id: string;
  displayPrefix: string;
  lastFour: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const toApiKey = (row: Pick<ApiTokenRow, 'id' | 'display_prefix' | 'last_four' | 'created_at' | 'last_used_at'>): ApiKey => ({
  id: row.id,
  displayPrefix: row.display_prefix,
  lastFour: row.last_four,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/**
 * Each user's one API key (CloudMC's `MC-Api-Key`): an API token of kind `api_key` with all the
 * user's permissions, stored as a hash like every token. Regenerating it revokes the previous
 * key at once; the new key is shown only in the answer that made it.
 */
export function createApiKeyService({ store, tokens, audit }: { store: Pick<Store, 'db'>; tokens: TokenService; audit: AuditService }) {
  const { db } = store;
  const liveKeys = (userId: string) => db.selectFrom('api_tokens').where('user_id', '=', userId).where('kind', '=', 'api_key').where('revoked_at', 'is', null);

  async function get(actor: Actor): Promise<ApiKey> {
    assertScope(actor, 'token:read');
    const row = await liveKeys(actor.principal.userId).select(['id', 'display_prefix', 'last_four', 'created_at', 'last_used_at']).executeTakeFirst();
    if (!row) throw new NotFound('api_key', 'You have no API key yet; generate one.');
    return toApiKey(row);
  }

  async function regenerate(actor: Actor): Promise<{ apiKey: ApiKey; secret: string }> {
    assertScope(actor, 'token:write');
    assertNotAclBound(actor, 'make an API key');
    const { userId, organizationId } = actor.principal;
    await tokens.revokeFound(liveKeys(userId).select('id'));
    const { row, secret } = await tokens.create({ userId, organizationId, kind: 'api_key', name: 'API key', scopes: ['*'], expiresAt: null });
    await audit.recordFor(actor, { action: 'api_key_regenerated', targetType: 'token', targetId: row.id });
    return { apiKey: toApiKey(row), secret };
  }

  return { get, regenerate };
}
