import type { ServerFacts } from '../../backends/compute-host.ts';
import type { ImageRow, ServerRow, SnapshotRow, VolumeRow } from '../../store/schema.ts';
import { asNumber } from './context.ts';

/**
 * Compute resources as services hand them out: the stored row with its numbers as numbers and
 * its JSON parsed (bigint columns read as strings on some drivers).
 */

export type Image = ImageRow;
/** What a server shows of a volume it holds. */
export interface HeldVolume {
  id: string;
  name: string;
  size_bytes: number;
  created_at: string;
  updated_at: string;
}
export interface Server extends Omit<ServerRow, 'tags' | 'facts'> {
  tags: string[];
  facts: ServerFacts | null;
  root_volume: HeldVolume;
  /** Data volumes attached, with where they are mounted. */
  volumes: (HeldVolume & { mount_path: string })[];
  /** The owning organization's name. */
  owner_name: string;
}
export type Volume = VolumeRow;
export type Snapshot = SnapshotRow;

export function toImage(row: ImageRow): Image {
  return { ...row, size_bytes: asNumber(row.size_bytes) };
}

export type HeldVolumeRow = Pick<VolumeRow, 'id' | 'name' | 'size_bytes' | 'created_at' | 'updated_at' | 'mount_path'>;

const toHeldVolume = (v: HeldVolumeRow): HeldVolume => ({ id: v.id, name: v.name, size_bytes: asNumber(v.size_bytes), created_at: v.created_at, updated_at: v.updated_at });

/** `volumes` are the server's data volumes (in mount order) and `rootVolume` its root volume. */
export function toServer(row: ServerRow, rootVolume: HeldVolumeRow, volumes: HeldVolumeRow[], ownerName: string): Server {
  return {
    owner_name: ownerName,
    ...row,
    vcpus: asNumber(row.vcpus),
    memory_bytes: asNumber(row.memory_bytes),
    revision: asNumber(row.revision),
    tags: JSON.parse(row.tags) as string[],
    facts: row.facts === null ? null : (JSON.parse(row.facts) as ServerFacts),
    root_volume: toHeldVolume(rootVolume),
    volumes: volumes.map((v) => ({ ...toHeldVolume(v), mount_path: v.mount_path ?? '' })),
  };
}

export function toVolume(row: VolumeRow): Volume {
  return { ...row, size_bytes: asNumber(row.size_bytes), revision: asNumber(row.revision) };
}

export function toSnapshot(row: SnapshotRow): Snapshot {
  return { ...row, size_bytes: asNumber(row.size_bytes) };
}
