import type { Generated, Selectable } from 'kysely';

/** A user's role in an organization; it applies to the organization's whole subtree. */
export interface RoleBindingsTable {
  id: string;
  user_id: string;
  organization_id: string;
  role: string;
  created_at: string;
}

export interface GroupsTable {
  id: string;
  organization_id: string;
  name: string;
  display_name: string;
  description: string;
  /** Bumped by every membership change: the update takes the group's row lock, serialising owner checks. */
  revision: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface GroupMembershipsTable {
  id: string;
  group_id: string;
  user_id: string;
  /** owner, manager or member. */
  role: string;
  created_at: string;
  updated_at: string;
}

/** JWT signing keys, shared by every replica; `kid` is the id. */
export interface SigningKeysTable {
  id: string;
  algorithm: string;
  /** The HMAC key, sealed with the secret key kept outside the database (it must be usable, so it cannot be hashed). */
  secret: string;
  created_at: string;
  /** After this instant the key signs nothing new. */
  retire_at: string;
  /** After this instant tokens it signed are no longer accepted (retire_at + the longest bearer life). */
  expires_at: string;
}

/** Generated username/password pairs for HTTP Basic, distinct from the login password. */
export interface ApiCredentialsTable {
  id: string;
  user_id: string;
  organization_id: string;
  username: string;
  /** SHA-256 of the generated password, hex: it is high-entropy, so no slow hash is needed. */
  secret_hash: string;
  /** JSON list of `resource:action` scopes: those of the credential that generated the pair. */
  scopes: string;
  created_at: string;
  revoked_at: string | null;
}

/** One row per organization and limited resource; a missing row means unlimited. */
export interface OrganizationQuotasTable {
  organization_id: string;
  resource: string;
  maximum: number;
}

/** Authentication and authorization events, append-only. */
export interface AuditEventsTable {
  id: string;
  /** Null when no organization is known (a failed login for an unknown user). */
  organization_id: string | null;
  actor_user_id: string | null;
  actor_username: string;
  action: string;
  target_type: string;
  target_id: string | null;
  request_id: string;
  client_address: string;
  /** JSON object with event-specific facts (never a secret). */
  detail: string;
  created_at: string;
}

/** Request counters per key and fixed window, shared by every replica. */
export interface RateLimitCountersTable {
  key: string;
  /** Window start, Unix seconds. */
  window_start: number;
  count: number;
  /** Unix seconds after which the row may be deleted. */
  expires_at: number;
}

export interface IdentityTables {
  role_bindings: RoleBindingsTable;
  groups: GroupsTable;
  group_memberships: GroupMembershipsTable;
  signing_keys: SigningKeysTable;
  api_credentials: ApiCredentialsTable;
  organization_quotas: OrganizationQuotasTable;
  audit_events: AuditEventsTable;
  rate_limit_counters: RateLimitCountersTable;
}

export type RoleBindingRow = Selectable<RoleBindingsTable>;
export type GroupRow = Selectable<GroupsTable>;
export type GroupMembershipRow = Selectable<GroupMembershipsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type ApiCredentialRow = Selectable<ApiCredentialsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
