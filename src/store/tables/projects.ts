import type { Selectable } from 'kysely';

/** A project: an organization's named grouping of its apps, servers, volumes and images. */
export interface ProjectsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  name: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** The kinds of resource a project groups. */
export type ProjectMemberType = 'app' | 'server' | 'volume' | 'image';

/** A resource in a project; a resource is in one project at most. */
export interface ProjectMembersTable {
  resource_type: ProjectMemberType;
  resource_id: string;
  project_id: string;
  created_at: string;
}

export interface ProjectTables {
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
}

export type ProjectRow = Selectable<ProjectsTable>;
export type ProjectMemberRow = Selectable<ProjectMembersTable>;
