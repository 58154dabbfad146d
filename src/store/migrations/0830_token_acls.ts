import type { Kysely } from 'kysely';

// Token ACLs (Alpacon's /api/security/*-acl/): which commands, servers and paths a personal token may use.
// A token is bound by its ACL from its first rule on (and stays so when its rules are removed):
// tokens made before, or never given a rule, keep the reach of their scopes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('acl_bound', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .createTable('token_acls')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull().references('api_tokens.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('command', 'text')
    .addColumn('server_id', 'text', (c) => c.references('servers.id').onDelete('cascade'))
    .addColumn('path', 'text')
    .addColumn('action', 'text')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('groupname', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('token_acls_by_token').on('token_acls').columns(['token_id', 'kind', 'created_at', 'id']).execute();
  // One server rule per token and server (other kinds' rows have no server: NULLs never clash).
  await db.schema.createIndex('token_acls_one_server').on('token_acls').columns(['token_id', 'server_id']).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('token_acls').execute();
  await db.schema.alterTable('api_tokens').dropColumn('acl_bound').execute();
}
