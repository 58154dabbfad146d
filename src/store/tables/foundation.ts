import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface OrganizationsTable {
  id: string;
  name: string;
  slug: string;
  parent_id: string | null;
  /** Materialized path of ancestor ids, `/root/child/self/`: subtree queries are one prefix match. */
  path: string;
  revision: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  organization_id: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  password_hash: string | null;
  is_active: number;
  is_staff: number;
  is_superuser: number;
  revision: Generated<number>;
  created_at: string;
  updated_at: string;
  last_login: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  organization_id: string;
  kind: string;
  name: string;
  /** SHA-256 of the whole token, hex: the secret itself is never stored. */
  token_hash: string;
  /** First characters of the token (its kind prefix included) and its last four, for display. */
  display_prefix: string;
  last_four: string;
  /** JSON array of `resource:action` scopes; `["*"]` is everything the user has. */
  scopes: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
  /** The API credential that was used to create this token (it dies with it). */
  issued_from_credential_id: string | null;
  /** Set for a token whose expiry slides: each use moves `expires_at` this many seconds ahead. */
  idle_timeout_seconds: number | null;
  /** 0/1: set at a personal token's first ACL rule; from then its commands, servers and paths are deny-by-default. */
  acl_bound: Generated<number>;
}

/** The foundation's tables. */
export interface FoundationTables {
  organizations: OrganizationsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type NewOrganizationRow = Insertable<OrganizationsTable>;
export type OrganizationRowUpdate = Updateable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
