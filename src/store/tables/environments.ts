import type { Selectable } from 'kysely';

/**
 * An environment: a project inside an organization, bound to one service connection (a
 * service its resources are made in). Servers and volumes may belong to one.
 */
export interface EnvironmentsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  /** Unique within its organization: services address an environment by it. */
  name: string;
  description: string;
  /** A service connection id (connections are configured, not stored). */
  service_connection_id: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** A user working in an environment, with an environment role. */
export interface EnvironmentMembersTable {
  id: string;
  environment_id: string;
  user_id: string;
  role: string;
  created_at: string;
}

export interface EnvironmentTables {
  environments: EnvironmentsTable;
  environment_members: EnvironmentMembersTable;
}

export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type EnvironmentMemberRow = Selectable<EnvironmentMembersTable>;
