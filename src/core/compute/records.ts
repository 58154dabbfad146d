import type { ServerFacts } from '../../backends/compute-host.ts';
import type { ImageRow, ServerRow, SnapshotRow, VolumeRow } from '../../store/schema.ts';
import { asNumber } from './context.ts';

/**
 * Compute resources as services hand them out: the stored row with its numbers as numbers and
 * its JSON parsed (bigint columns read as strings on some drivers).
 */

export type Image = ImageRow;
export interface Server extends Omit<ServerRow, 'tags' | 'facts'> {
  tags: string[];
  facts: ServerFacts | null;
  /** Data volumes attached, with where they are mounted. */
  volumes: { id: string; mount_path: string }[];
  /** The owning organization's name. */
  owner_name: string;
}
export type Volume = VolumeRow;
export type Snapshot = SnapshotRow;

export function toImage(row: ImageRow): Image {
  return { ...row, size_bytes: asNumber(row.size_bytes) };
}

export function toServer(row: ServerRow, volumes: { id: string; mount_path: string | null }[], ownerName: string): Server {
  return {
    owner_name: ownerName,
    ...row,
    vcpus: asNumber(row.vcpus),
    memory_bytes: asNumber(row.memory_bytes),
    revision: asNumber(row.revision),
    tags: JSON.parse(row.tags) as string[],
    facts: row.facts === null ? null : (JSON.parse(row.facts) as ServerFacts),
    volumes: volumes.map((v) => ({ id: v.id, mount_path: v.mount_path ?? '' })),
  };
}

export function toVolume(row: VolumeRow): Volume {
  return { ...row, size_bytes: asNumber(row.size_bytes), revision: asNumber(row.revision) };
}

export function toSnapshot(row: SnapshotRow): Snapshot {
  return { ...row, size_bytes: asNumber(row.size_bytes) };
}
