import type { HeldVolume, Image, Server, Snapshot, Volume } from '../../core/compute/records.ts';
import type { Task } from '../../core/tasks/task-service.ts';
import { commercialTypeOf } from './products.ts';

/** Core's records in Scaleway's shapes. Pure: the routes look up what they need and pass it in. */

/** Scaleway's timestamps: microseconds and an explicit offset (`2014-05-22T12:57:22.514000+00:00`). */
export function scalewayTime(iso: string): string;
export function scalewayTime(iso: string | null): string | null;
export function scalewayTime(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/(\.\d{3})Z$/, '$1000+00:00').replace(/:(\d{2})Z$/, ':$1.000000+00:00');
}

/** Scaleway's server states: a failed server shows as stopped (its state_detail says why). */
export function scalewayState(state: string): string {
  return state === 'error' ? 'stopped' : state;
}

/** Scaleway's architecture names (`x86_64`, `arm64`) for the runtime's (`amd64`, `arm64`). */
export function scalewayArch(arch: string): string {
  return arch === 'amd64' ? 'x86_64' : arch;
}

/** Every volume is a local SSD on Scaleway's terms. */
export const VOLUME_TYPE = 'l_ssd';

const dates = (row: { created_at: string; updated_at: string }) => ({ creation_date: scalewayTime(row.created_at), modification_date: scalewayTime(row.updated_at) });

export function renderVolume(volume: Volume, server: { id: string; name: string } | null) {
  return {
    id: volume.id,
    name: volume.name,
    size: volume.size_bytes,
    volume_type: VOLUME_TYPE,
    organization: volume.organization_id,
    server,
    export_uri: null,
    state: volume.state === 'in_use' ? 'available' : volume.state,
    ...dates(volume),
  };
}

function heldVolume(volume: HeldVolume, server: Server) {
  return {
    id: volume.id,
    name: volume.name,
    size: volume.size_bytes,
    volume_type: VOLUME_TYPE,
    organization: server.organization_id,
    server: { id: server.id, name: server.name },
    export_uri: null,
    ...dates(volume),
  };
}

/** Position "0" is the root volume; data volumes keep the position their mount path names. */
export function volumeMap(server: Server): Record<string, ReturnType<typeof heldVolume>> {
  const map: Record<string, ReturnType<typeof heldVolume>> = { '0': heldVolume(server.root_volume, server) };
  const unplaced = [];
  for (const volume of server.volumes) {
    const position = positionOf(volume.mount_path);
    if (position && !map[position]) map[position] = heldVolume(volume, server);
    else unplaced.push(volume);
  }
  // Volumes attached elsewhere (through the native API) take the next free positions.
  let next = 1;
  for (const volume of unplaced) {
    while (map[String(next)]) next++;
    map[String(next)] = heldVolume(volume, server);
  }
  return map;
}

/** Where the data volume at a position of the `volumes` map is mounted in the server. */
export const mountPathOf = (position: string) => `/mnt/volume${position}`;
const positionOf = (mountPath: string) => /^\/mnt\/volume([1-9]\d?)$/.exec(mountPath)?.[1];

export function renderImage(image: Image, rootVolume: { id: string; name: string } | null) {
  return {
    id: image.id,
    name: image.name,
    arch: scalewayArch(image.arch),
    organization: image.organization_id,
    public: image.organization_id === null,
    state: image.status === 'ready' ? 'available' : image.status === 'pending' ? 'creating' : 'error',
    root_volume: rootVolume && { id: rootVolume.id, name: rootVolume.name, size: image.size_bytes, volume_type: VOLUME_TYPE },
    extra_volumes: {},
    default_bootscript: null,
    from_server: null,
    ...dates(image),
  };
}

export function renderSnapshot(snapshot: Snapshot, baseVolume: { id: string; name: string } | null) {
  return {
    id: snapshot.id,
    name: snapshot.name,
    organization: snapshot.organization_id,
    size: snapshot.size_bytes,
    state: snapshot.state === 'creating' ? 'snapshotting' : snapshot.state,
    volume_type: VOLUME_TYPE,
    base_volume: baseVolume,
    ...dates(snapshot),
  };
}

export function renderServer(server: Server, image: { id: string; name: string; arch: string } | null) {
  return {
    id: server.id,
    name: server.name,
    arch: image?.arch ?? 'x86_64',
    commercial_type: commercialTypeOf(server),
    image: image && { id: image.id, name: image.name, arch: image.arch },
    volumes: volumeMap(server),
    public_ip: null,
    private_ip: server.private_ip,
    dynamic_ip_required: false,
    enable_ipv6: false,
    ipv6: null,
    bootscript: null,
    state: scalewayState(server.state),
    state_detail: server.state === 'error' ? `error: ${server.state_detail}` : server.state_detail,
    hostname: server.hostname,
    tags: server.tags,
    organization: server.organization_id,
    security_group: null,
    location: null,
    ...dates(server),
  };
}

const TASK_STATUS: Record<Task['status'], string> = {
  pending: 'pending',
  running: 'started',
  cancelling: 'started',
  succeeded: 'success',
  failed: 'failure',
  cancelled: 'failure',
};

/** `server.poweron` -> `server_batch_poweron`, as Scaleway names a server action's task. */
function describeTask(type: string): string {
  const [resource, operation] = type.split('.');
  return resource === 'server' ? `server_batch_${operation}` : type.replace(/\./g, '_');
}

/** `link` makes an absolute URL of a path of this surface (`conventions.linkTo`). */
export function renderTask(task: Task, link: (path: string) => string) {
  const subject = task.resources[0];
  const isServerAction = task.type.startsWith('server.');
  const image = task.resources.find((r) => r.type === 'image');
  const collection = subject ? `/${subject.type}s` : '/tasks';
  return {
    id: task.id,
    description: describeTask(task.type),
    status: TASK_STATUS[task.status],
    progress: task.status === 'succeeded' ? 100 : task.progress,
    started_at: scalewayTime(task.startedAt ?? task.createdAt),
    terminated_at: scalewayTime(task.finishedAt),
    href_from: link(subject && isServerAction ? `${collection}/${subject.id}/action` : collection),
    // A backup's result is the image it made.
    href_result: link(image && task.type === 'server.backup' ? `/images/${image.id}` : subject ? `${collection}/${subject.id}` : `/tasks/${task.id}`),
    ...(task.error ? { message: task.error.message } : {}),
  };
}
