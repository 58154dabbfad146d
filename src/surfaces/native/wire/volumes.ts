import { Type } from 'typebox';
import { Bytes, CreatedTask, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/storage/volumes/ and /api/storage/snapshots/: what clients send and receive, in the native API's names. */

const NullableUuid = Type.Union([Uuid, Type.Null()]);

/** Another resource, by id. */
export const Reference = Type.String({ maxLength: 200 });

export const VolumeBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  size: Bytes('Size'),
  type: Type.String({ description: 'root (a server\'s own, deleted with it) or data.' }),
  state: Type.String({ description: 'creating, available, in_use, resizing, deleting or error.' }),
  server: NullableUuid,
  mount_path: Type.Union([Type.String(), Type.Null()]),
  snapshot: NullableUuid,
  organization: Uuid,
  environment: NullableUuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const SnapshotBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  volume: Uuid,
  base_image: NullableUuid,
  size: Bytes('Space used'),
  state: Type.String({ description: 'creating, available or error.' }),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const VolumeCreated = Type.Intersect([VolumeBody, Type.Object(CreatedTask)]);
export const VolumesPost = Type.Object({
  name: Type.String({ maxLength: 200 }),
  size: Type.Optional(Type.Integer({ description: 'Bytes; from a snapshot, defaults to its volume\'s size.' })),
  snapshot: Type.Optional(Reference),
  environment: Type.Optional(Reference),
  server: Type.Optional(Type.String({ maxLength: 200, description: 'A stopped server to attach the new volume to at once.' })),
  mount_path: Type.Optional(Type.String({ maxLength: 300, description: 'Where, with `server`; `/mnt/<volume id>` by default.' })),
});
export const VolumePatch = Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })) });
export const ResizePost = Type.Object({ size: Type.Integer({ description: 'The new size in bytes, larger than the current one.' }) });
export const AttachPost = Type.Object({ server: Reference, mount_path: Type.Optional(Type.String({ maxLength: 300 })) });

export const SnapshotCreated = Type.Intersect([SnapshotBody, Type.Object(CreatedTask)]);
export const SnapshotsPost = Type.Object({ name: Type.String({ maxLength: 200 }), volume: Reference });
