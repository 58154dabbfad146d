import type { Kysely } from 'kysely';

// Collaborators: people invited to one app, who reach that app (and nothing else of its organization) once they accept.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_collaborators')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    // Set when the invitation is accepted: the user who then reaches the app.
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    // SHA-256 of the invitation token; null once accepted.
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('invited_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('app_collaborators_app_email', ['app_id', 'email'])
    .execute();
  await db.schema.createIndex('app_collaborators_user').on('app_collaborators').columns(['user_id', 'app_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_collaborators').execute();
}
