import type { Store } from '../store/database.ts';
import { withAdvisoryLock } from '../store/locks.ts';
import { newId, nowIso } from './clock.ts';
import type { TokenService } from './tokens/token-service.ts';
import { generatePassword, hashPassword } from './users/passwords.ts';

export interface BootstrapResult {
  organization: { id: string; slug: string };
  username: string;
  /** Present only when it was generated (it is shown once and never stored in clear). */
  generatedPassword?: string;
  token: string;
}

const BOOTSTRAP_LOCK_ID = 727_002;

/**
 * On first start, creates the root organization, the `admin` superuser and a one-time admin
 * API token. Returns null when the store already has users. Replicas starting together
 * on one PostgreSQL serialise on a lock, so exactly one of them bootstraps.
 */
export async function bootstrapIfEmpty(
  store: Store,
  tokens: TokenService,
  { adminPassword }: { adminPassword?: string },
): Promise<BootstrapResult | null> {
  // Most starts find an existing installation: skip the password hashing (tens of ms) then.
  if (await store.db.selectFrom('users').select('id').limit(1).executeTakeFirst()) return null;
  const password = adminPassword ?? generatePassword();
  const passwordHash = await hashPassword(password);
  // One transaction: a crash midway leaves an empty store that the next start bootstraps again,
  // never an admin without the token that was to be shown.
  return withAdvisoryLock(store, BOOTSTRAP_LOCK_ID, async (trx) => {
    const existing = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (existing) return null;
    const now = nowIso();
    const organizationId = newId();
    const userId = newId();
    await trx
      .insertInto('organizations')
      .values({ id: organizationId, name: 'Default', slug: 'default', parent_id: null, path: `/${organizationId}/`, created_at: now, updated_at: now })
      .execute();
    await trx
      .insertInto('users')
      .values({
        id: userId,
        organization_id: organizationId,
        username: 'admin',
        email: '',
        first_name: '',
        last_name: '',
        password_hash: passwordHash,
        is_active: 1,
        is_staff: 1,
        is_superuser: 1,
        created_at: now,
        updated_at: now,
        last_login: null,
      })
      .execute();
    // Superusers may do everything anyway; the binding keeps the admin an owner if that changes.
    await trx.insertInto('role_bindings').values({ id: newId(), user_id: userId, organization_id: organizationId, role: 'owner', created_at: now }).execute();
    const { secret } = await tokens.create({ userId, organizationId, kind: 'personal', name: 'bootstrap', scopes: ['*'], expiresAt: null }, trx);
    return {
      organization: { id: organizationId, slug: 'default' },
      username: 'admin',
      ...(adminPassword ? {} : { generatedPassword: password }),
      token: secret,
    };
  });
}
