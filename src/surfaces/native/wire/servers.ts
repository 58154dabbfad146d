import { Type } from 'typebox';
import { SERVER_ACTIONS, ACTION_ALIASES } from '../../../core/compute/states.ts';
import { Bytes, CreatedTask, Nullable, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/servers/servers/: what clients send and receive, in the native API's names. */

export const ServerBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  hostname: Type.String(),
  image: Uuid,
  plan: Type.Object({ vcpus: Type.Integer(), memory: Bytes('Memory limit') }),
  state: Type.String({ description: 'stopped, starting, running, stopping or error.' }),
  state_detail: Type.String({ description: 'Why the server is in its state (the error, when it failed).' }),
  private_ip: Type.String(),
  root_volume: Uuid,
  volumes: Type.Array(Type.Object({ id: Uuid, mount_path: Type.String() }), { description: 'Attached data volumes.' }),
  tags: Type.Array(Type.String()),
  organization: Uuid,
  environment: Nullable(Uuid),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  facts_updated_at: Nullable(Timestamp),
  // Alpacon's fields, for its CLI.
  remote_ip: Type.String({ description: 'Alpacon: the address to reach the server at (its private address).' }),
  is_connected: Type.Boolean({ description: 'Alpacon: whether the server is running.' }),
  commissioned: Type.Boolean(),
  status: Type.Object({
    code: Type.String({ examples: ['connected'] }),
    text: Type.String(),
    color: Type.String(),
    icon: Type.String(),
    messages: Type.Array(Type.String(), { description: 'Why, when the server is in error.' }),
    meta: Type.Object({ delay_now: Type.Number(), delay_1h: Type.Number(), delay_1d: Type.Number(), delay_1w: Type.Number() }),
  }, { description: 'Alpacon: the state, as its clients show it.' }),
  os_name: Type.String(),
  os_version: Type.String(),
  cpu_physical_cores: Type.Integer(),
  cpu_logical_cores: Type.Integer(),
  cpu_type: Type.String(),
  physical_memory: Type.Integer(),
  boot_time: Type.Optional(Timestamp),
  owner: Type.Object({ id: Uuid, name: Type.String(), email: Type.String() }, { description: 'Alpacon: the owning organization (its email is empty).' }),
  groups: Type.Array(Type.String()),
});

export const ServerCreated = Type.Intersect([ServerBody, Type.Object(CreatedTask)]);

export const ServerPost = Type.Object({
  name: Type.String({ maxLength: 200 }),
  hostname: Type.Optional(Type.String({ maxLength: 200, description: 'Defaults to a form of the name.' })),
  image: Type.Optional(Type.String({ maxLength: 200, description: 'An image id; by default the built-in `busybox` image, which is always there.' })),
  vcpus: Type.Optional(Type.Integer({ description: '1 to 16 (default 1).' })),
  memory: Type.Optional(Type.Integer({ description: 'Memory limit in bytes (default 256 MiB, at least 16 MiB).' })),
  root_volume_size: Type.Optional(Type.Integer({ description: 'Root volume size in bytes (default 1 GiB).' })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
  start: Type.Optional(Type.Boolean({ description: 'Start the server once it is created.' })),
  plan: Type.Optional(Type.String({ maxLength: 200, description: 'A plan id (GET /api/servers/plans/) instead of vcpus and memory.' })),
  environment: Type.Optional(Type.String({ maxLength: 200, description: 'An environment of the acting organization the server belongs to.' })),
});

export const ServerPatch = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  hostname: Type.Optional(Type.String({ maxLength: 200, description: 'Shown from the next start.' })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
});

export const ResizePost = Type.Object({
  plan: Type.Optional(Type.String({ maxLength: 200, description: 'A plan id (GET /api/servers/plans/).' })),
  vcpus: Type.Optional(Type.Integer({ description: '1 to 16.' })),
  memory: Type.Optional(Type.Integer({ description: 'Memory limit in bytes.' })),
});

export const ActionPost = Type.Object({
  action: Type.String({ maxLength: 50, description: `${[...SERVER_ACTIONS, ...Object.keys(ACTION_ALIASES)].join(', ')}.` }),
  force: Type.Optional(Type.Boolean({ description: 'Alpacon sends it; a poweroff is always forced after the stop timeout.' })),
});

export const ActionsBody = Type.Object({ state: Type.String(), actions: Type.Array(Type.String()) });
