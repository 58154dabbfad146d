import type { Selectable } from 'kysely';

/** Scalingo's app statuses, and `deleting` while the delete task tears the app down. */
export type AppStatus = 'new' | 'building' | 'running' | 'stopped' | 'crashed' | 'restarting' | 'scaling' | 'booting' | 'deleting';

export interface AppsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  /** 6 to 48 lowercase letters, digits and hyphens; unique, since it is a host name. */
  name: string;
  status: AppStatus;
  /** The stack builds run on: `nodejs` or `procfile`. */
  stack: string;
  /** 0/1: the router redirects plain HTTP to HTTPS. */
  force_https: number;
  last_deployed_at: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface AppTables {
  apps: AppsTable;
}

export type AppRow = Selectable<AppsTable>;
