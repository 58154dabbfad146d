import type { Kysely } from 'kysely';
import type { ServerFacts } from '../backends/compute-host.ts';
import type { Database } from '../store/schema.ts';

/**
 * The short forms of users and servers that other resources embed (a command's server and
 * requester, a membership's user, an audit event's actor), loaded in one query per kind for a
 * whole page. Callers pass ids they already may see: the summaries add no access of their own,
 * and a user's email shows only to readers whose subtree holds that user's organization (a
 * superuser acting in a tenant's organization leaves their name there, not their address).
 */

export interface UserSummary {
  id: string;
  /** The username: what people type and what Alpacon shows. */
  name: string;
  email: string;
}

export interface ServerSummary {
  id: string;
  name: string;
  /** The operating system's name once its facts are known. */
  os: string | null;
  isConnected: boolean;
}

export async function userSummaries(db: Kysely<Database>, readerPath: string, ids: Iterable<string | null>): Promise<Map<string, UserSummary>> {
  const wanted = [...new Set([...ids].filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .innerJoin('organizations', 'organizations.id', 'users.organization_id')
    .select(['users.id', 'users.username', 'users.email', 'organizations.path'])
    .where('users.id', 'in', wanted)
    .execute();
  return new Map(rows.map((r) => [r.id, { id: r.id, name: r.username, email: r.path.startsWith(readerPath) ? r.email : '' }]));
}

export async function serverSummaries(db: Kysely<Database>, ids: Iterable<string>): Promise<Map<string, ServerSummary>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('servers').select(['id', 'name', 'state', 'facts']).where('id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, os: r.facts === null ? null : (JSON.parse(r.facts) as ServerFacts).os.name || null, isConnected: r.state === 'running' }]));
}

/** A summary for an id whose row is gone (a deleted user or server): the id alone. */
export const goneUser = (id: string): UserSummary => ({ id, name: '', email: '' });
export const goneServer = (id: string): ServerSummary => ({ id, name: '', os: null, isConnected: false });
