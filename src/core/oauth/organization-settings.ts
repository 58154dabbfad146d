import type { Store } from '../../store/database.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { nowIso } from '../clock.ts';

/** An organization's OAuth switches. */
export interface OauthOrganizationSettings {
  organizationId: string;
  /** Whether the organization's API credentials may be exchanged for tokens (ComputeStacks' password grant). */
  passwordGrant: boolean;
  updatedAt: string | null;
}

export type OauthSettingsService = ReturnType<typeof createOauthSettingsService>;

/**
 * Per-organization OAuth settings, read and changed in the acting organization. Everything is
 * off until an administrator turns it on: the password grant is deprecated by RFC 9700.
 */
export function createOauthSettingsService({ store, audit }: { store: Pick<Store, 'db'>; audit: AuditService }) {
  const { db } = store;

  async function settingsOf(organizationId: string): Promise<OauthOrganizationSettings> {
    const row = await db.selectFrom('oauth_organization_settings').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
    return { organizationId, passwordGrant: row?.password_grant === 1, updatedAt: row?.updated_at ?? null };
  }

  async function get(actor: Actor): Promise<OauthOrganizationSettings> {
    assertAllowed(actor, 'organization:read');
    return settingsOf(actor.organizationId);
  }

  async function update(actor: Actor, changes: { passwordGrant?: boolean }): Promise<OauthOrganizationSettings> {
    assertAllowed(actor, 'organization:write');
    if (changes.passwordGrant === undefined) return settingsOf(actor.organizationId);
    const values = { password_grant: changes.passwordGrant ? 1 : 0, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('oauth_organization_settings')
        .values({ organization_id: actor.organizationId, ...values })
        .onConflict((oc) => oc.column('organization_id').doUpdateSet(values))
        .execute();
      await audit.recordFor(actor, { action: 'oauth_settings_changed', targetType: 'organization', targetId: actor.organizationId, detail: { password_grant: changes.passwordGrant } }, trx);
    });
    return settingsOf(actor.organizationId);
  }

  const passwordGrantEnabled = async (organizationId: string) => (await settingsOf(organizationId)).passwordGrant;

  return { get, update, passwordGrantEnabled };
}
