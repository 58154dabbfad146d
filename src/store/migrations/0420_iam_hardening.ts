import type { Kysely } from 'kysely';

// An API credential carries the scopes of the credential that created it, so that a narrowly
// scoped token cannot mint a pair worth more than itself (existing pairs keep everything).
// Organizations may let their confidential OAuth clients skip PKCE (required by default).
// The consent page's sign-ins are throttled with every other login (rate_limit_counters).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_credentials').addColumn('scopes', 'text', (c) => c.notNull().defaultTo('["*"]')).execute();
  await db.schema.alterTable('oauth_organization_settings').addColumn('pkce_optional_for_confidential', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.dropTable('oauth_sign_in_failures').execute();
}
