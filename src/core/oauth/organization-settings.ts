import type { Store } from '../../store/database.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { nowIso } from '../clock.ts';

/** An organization's OAuth switches. */
export interface OauthOrganizationSettings {
  organizationId: string;
  /** Whether the organization's API credentials may be exchanged for tokens (ComputeStacks' password grant). */
  passwordGrant: boolean;
  /**
   * Whether the organization's confidential clients may leave out PKCE. Off by default: RFC 9700
   * asks PKCE of every client, as the defence against injected authorization codes.
   */
  pkceOptionalForConfidential: boolean;
  updatedAt: string | null;
}

export type OauthSettingsChanges = Partial<Pick<OauthOrganizationSettings, 'passwordGrant' | 'pkceOptionalForConfidential'>>;

export type OauthSettingsService = ReturnType<typeof createOauthSettingsService>;

/**
 * Per-organization OAuth settings, read and changed in the acting organization. Everything is
 * off until an administrator turns it on: the password grant is deprecated by RFC 9700.
 */
export function createOauthSettingsService({ store, audit }: { store: Pick<Store, 'db'>; audit: AuditService }) {
  const { db } = store;

  async function settingsOf(organizationId: string): Promise<OauthOrganizationSettings> {
    const row = await db.selectFrom('oauth_organization_settings').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
    return { organizationId, passwordGrant: row?.password_grant === 1, pkceOptionalForConfidential: row?.pkce_optional_for_confidential === 1, updatedAt: row?.updated_at ?? null };
  }

  async function get(actor: Actor): Promise<OauthOrganizationSettings> {
    assertAllowed(actor, 'organization:read');
    return settingsOf(actor.organizationId);
  }

  async function update(actor: Actor, changes: OauthSettingsChanges): Promise<OauthOrganizationSettings> {
    assertAllowed(actor, 'organization:write');
    const current = await settingsOf(actor.organizationId);
    const next = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };
    if (next.passwordGrant === current.passwordGrant && next.pkceOptionalForConfidential === current.pkceOptionalForConfidential) return current;
    const values = { password_grant: next.passwordGrant ? 1 : 0, pkce_optional_for_confidential: next.pkceOptionalForConfidential ? 1 : 0, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('oauth_organization_settings')
        .values({ organization_id: actor.organizationId, ...values })
        .onConflict((oc) => oc.column('organization_id').doUpdateSet(values))
        .execute();
      const detail = { password_grant: next.passwordGrant, pkce_optional_for_confidential: next.pkceOptionalForConfidential };
      await audit.recordFor(actor, { action: 'oauth_settings_changed', targetType: 'organization', targetId: actor.organizationId, detail }, trx);
    });
    return settingsOf(actor.organizationId);
  }

  const passwordGrantEnabled = async (organizationId: string) => (await settingsOf(organizationId)).passwordGrant;
  const pkceOptionalForConfidential = async (organizationId: string) => (await settingsOf(organizationId)).pkceOptionalForConfidential;

  return { get, update, passwordGrantEnabled, pkceOptionalForConfidential };
}
