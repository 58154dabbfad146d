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
  /** The release the app runs (null before its first successful deployment). */
  current_release_id: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
  /** New web processes must answer `GET <path>` with 2xx or 3xx; null: a TCP connection suffices. */
  health_check_path: string | null;
}

export interface AppTables {
  apps: AppsTable;
  app_releases: AppReleasesTable;
  app_deployments: AppDeploymentsTable;
  app_output_chunks: AppOutputChunksTable;
  app_variables: AppVariablesTable;
  app_formation: AppFormationTable;
  app_containers: AppContainersTable;
  app_log_chunks: AppLogChunksTable;
  app_runs: AppRunsTable;
  app_domains: AppDomainsTable;
  app_collaborators: AppCollaboratorsTable;
}

export type AppRow = Selectable<AppsTable>;

export interface AppReleasesTable {
  id: string;
  app_id: string;
  /** 1, 2, 3... per app. */
  version: number;
  deployment_id: string | null;
  slug_id: string;
  /** JSON object: process type -> command. */
  procfile: string;
  /** JSON object: the app's variables when the release was made. */
  env: string;
  description: string;
  created_at: string;
  /** The image whose root filesystem the slug is (a release made from an image); null for a built source. */
  image_id: string | null;
}

export type DeploymentStatus = 'queued' | 'building' | 'pushing' | 'starting' | 'success' | 'build-error' | 'crashed-error' | 'timeout-error' | 'aborted';

export interface AppDeploymentsTable {
  id: string;
  app_id: string;
  status: DeploymentStatus;
  stack: string;
  archive_bytes: number;
  release_id: string | null;
  error: string | null;
  task_id: string;
  requested_by: string | null;
  /** The git reference the source was made from, when the client named one. */
  git_ref: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface AppOutputChunksTable {
  /** The deployment (build output) or the one-off run. */
  owner_id: string;
  app_id: string;
  seq: number;
  content: string;
  created_at: string;
}

export interface AppVariablesTable {
  id: string;
  app_id: string;
  name: string;
  value: string;
  created_at: string;
  updated_at: string;
}

export interface AppFormationTable {
  app_id: string;
  process_type: string;
  amount: number;
  /** A plan name (`S`, `M`...). */
  size: string;
  /** While the app is powered off (amount 0), the amount powering it on brings back; null otherwise. */
  paused_amount: number | null;
}

export type AppContainerState = 'starting' | 'up' | 'stopping' | 'crashed';

export interface AppContainersTable {
  id: string;
  app_id: string;
  release_id: string;
  process_type: string;
  /** 1, 2, 3... within its type: `web-1`. */
  process_index: number;
  size: string;
  memory_bytes: number;
  network_id: string;
  address: string;
  port: number;
  state: AppContainerState;
  restarts: number;
  /** When a crashed container is started again (backoff). */
  restart_at: string | null;
  host: string;
  created_at: string;
}

/** Consecutive lines of an app's logs, stored together (a row per line cost more than proxying a request). */
export interface AppLogChunksTable {
  app_id: string;
  /** Lines are numbered per app, increasing: the position `?after=` and SSE ids resume from. */
  first_seq: number;
  last_seq: number;
  /** JSON: `[created_at, source, line]` of each line, in order. */
  lines: string;
}

/** `queued` -> `running` -> `succeeded` (exit code 0) | `failed` (another exit code, or it could not run). */
export type AppRunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface AppRunsTable {
  id: string;
  app_id: string;
  /** The release whose slug and environment it ran with. */
  release_id: string;
  command: string;
  size: string;
  /** The run's own variables (JSON object), sealed with the installation's key; null when it has none. */
  env_sealed: string | null;
  status: AppRunStatus;
  exit_code: number | null;
  task_id: string;
  requested_by: string | null;
  created_at: string;
  finished_at: string | null;
}

/** A custom domain of an app, unique on the installation. */
export interface AppDomainsTable {
  id: string;
  app_id: string;
  /** Lowercase, without a trailing dot. */
  name: string;
  /** PEM: the certificate, then its chain; null serves the domain over plain HTTP only. */
  tls_cert: string | null;
  /** The certificate's private key, sealed with the secret box; never returned. */
  tls_key_sealed: string | null;
  tls_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export type AppDomainRow = Selectable<AppDomainsTable>;

/** `pending` until the invited person accepts, then `accepted`. */
export type CollaboratorStatus = 'pending' | 'accepted';

/** A person invited to one app; once accepted, that user reaches the app whatever their organization. */
export interface AppCollaboratorsTable {
  id: string;
  app_id: string;
  /** Lowercase; the accepting user's email must be this one. */
  email: string;
  user_id: string | null;
  status: CollaboratorStatus;
  /** SHA-256 (hex) of the invitation token; null once accepted. */
  token_hash: string | null;
  invited_by: string | null;
  created_at: string;
  updated_at: string;
}

export type AppCollaboratorRow = Selectable<AppCollaboratorsTable>;
export type AppReleaseRow = Selectable<AppReleasesTable>;
export type AppRunRow = Selectable<AppRunsTable>;
export type AppDeploymentRow = Selectable<AppDeploymentsTable>;
export type AppVariableRow = Selectable<AppVariablesTable>;
export type AppFormationRow = Selectable<AppFormationTable>;
export type AppContainerRow = Selectable<AppContainersTable>;
