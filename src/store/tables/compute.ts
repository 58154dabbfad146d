import type { Selectable } from 'kysely';

export type ImageStatus = 'pending' | 'ready' | 'error';
export type ImageSource = 'builtin' | 'upload' | 'snapshot';
/** `destroyed`: stopped and kept (volumes included) until it is recovered or purged. */
export type ServerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'error' | 'destroyed';
export type VolumeState = 'creating' | 'available' | 'in_use' | 'resizing' | 'deleting' | 'error';
export type VolumeType = 'root' | 'data';
export type SnapshotState = 'creating' | 'available' | 'error';

/** An organization's private network: one bridge, one /24 carved from the configured range. */
export interface NetworksTable {
  id: string;
  organization_id: string;
  bridge: string;
  /** `10.77.3.0/24`: unique, so two organizations never share addresses. */
  subnet: string;
  gateway: string;
  created_at: string;
}

/** A root filesystem servers boot from; `organization_id` null is a public built-in image. */
export interface ImagesTable {
  id: string;
  organization_id: string | null;
  organization_path: string | null;
  name: string;
  arch: string;
  size_bytes: number;
  status: ImageStatus;
  source: ImageSource;
  snapshot_id: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** What a container runs from an image: its command, the least it needs, its default variables. */
export interface ImageTemplatesTable {
  id: string;
  organization_id: string;
  organization_path: string;
  name: string;
  description: string;
  role: string;
  role_class: string;
  /** The image (root filesystem) the container runs on. */
  image_id: string;
  command: string;
  min_cpu_millis: number;
  min_memory_bytes: number;
  /** Where the image's filesystem comes from, as its publisher names it (a registry path and tag); kept as given. */
  registry_path: string;
  registry_tag: string;
  /** JSON array of `{name, value}`: the variables a container of it gets unless its order says otherwise. */
  variables: string;
  /** Offered for new orders (0/1). */
  active: number;
  can_scale: number;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface ServersTable {
  id: string;
  organization_id: string;
  organization_path: string;
  name: string;
  hostname: string;
  image_id: string;
  vcpus: number;
  memory_bytes: number;
  state: ServerState;
  state_detail: string;
  network_id: string;
  /** Unique within its network. */
  private_ip: string;
  root_volume_id: string;
  /** The environment the server belongs to, if any (same organization). */
  environment_id: string | null;
  /** JSON array of strings. */
  tags: string;
  /** JSON of the host's `ServerFacts`, once gathered. */
  facts: string | null;
  facts_updated_at: string | null;
  /** The machine running this server (reconciliation looks only at its own). */
  host: string;
  /** When a destroy was asked for; set while the server is (being) destroyed, null otherwise. */
  destroyed_at: string | null;
  /** Its block of host ids for its user namespace (see `backends/id-ranges.ts`); unique. */
  id_block: number;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface VolumesTable {
  id: string;
  organization_id: string;
  organization_path: string;
  name: string;
  size_bytes: number;
  volume_type: VolumeType;
  state: VolumeState;
  server_id: string | null;
  mount_path: string | null;
  /** The snapshot this volume was made from. */
  snapshot_id: string | null;
  /** The environment the volume belongs to, if any (a root volume: its server's). */
  environment_id: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface SnapshotsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  name: string;
  volume_id: string;
  /** The image under the snapshotted root volume; null for a data volume's snapshot. */
  base_image_id: string | null;
  size_bytes: number;
  state: SnapshotState;
  created_at: string;
  updated_at: string;
}

/** One key of a server's user data (what cloud-init style tools read at boot). */
export interface ServerUserDataTable {
  server_id: string;
  key: string;
  /** base64 of the value's bytes. */
  value: string;
  size_bytes: number;
  updated_at: string;
}

export interface ComputeTables {
  networks: NetworksTable;
  images: ImagesTable;
  image_templates: ImageTemplatesTable;
  servers: ServersTable;
  volumes: VolumesTable;
  snapshots: SnapshotsTable;
  server_user_data: ServerUserDataTable;
}

export type NetworkRow = Selectable<NetworksTable>;
export type ImageRow = Selectable<ImagesTable>;
export type ImageTemplateRow = Selectable<ImageTemplatesTable>;
export type ServerRow = Selectable<ServersTable>;
export type VolumeRow = Selectable<VolumesTable>;
export type SnapshotRow = Selectable<SnapshotsTable>;
