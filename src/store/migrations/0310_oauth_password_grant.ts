import type { Kysely } from 'kysely';

// ComputeStacks' password grant: an organization switch (off by default), and the API credential
// a grant was issued from, so that replacing or revoking the credential ends the grant.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oauth_organization_settings')
    .addColumn('organization_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('password_grant', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('oauth_grants').addColumn('api_credential_id', 'text').execute();
  await db.schema.createIndex('oauth_grants_api_credential_id').on('oauth_grants').column('api_credential_id').execute();
}
