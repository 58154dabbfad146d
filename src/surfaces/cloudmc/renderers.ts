import { createHash } from 'node:crypto';
import type { Actor } from '../../core/actor.ts';
import type { ComputeServices } from '../../core/compute/compute-services.ts';
import { GIB, MIB } from '../../core/compute/inputs.ts';
import { planOf, type Plan, type VolumePlan } from '../../core/compute/plans.ts';
import type { Image, Server, Snapshot, Volume } from '../../core/compute/records.ts';

/** Compute entities in CloudMC's words. */

const INSTANCE_STATES: Record<string, string> = { stopped: 'Stopped', starting: 'Starting', running: 'Running', stopping: 'Stopping', error: 'Error' };
const VOLUME_STATES: Record<string, string> = { creating: 'Creating', available: 'Ready', in_use: 'Attached', resizing: 'Resizing', deleting: 'Destroying', error: 'Error' };
const SNAPSHOT_STATES: Record<string, string> = { creating: 'Creating', available: 'BackedUp', error: 'Error' };
const nameIn = (names: Record<string, string>) => (state: string) => names[state] ?? state;

/** CloudMC's names for core's states. */
export const instanceState = nameIn(INSTANCE_STATES);
export const volumeState = nameIn(VOLUME_STATES);
export const snapshotState = nameIn(SNAPSHOT_STATES);

/** A zone is the machine an instance runs on: a stable id made from its name. */
function zoneId(host: string): string {
  const hex = createHash('sha256').update(`zone:${host}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const megabytes = (bytes: number) => Math.round(bytes / MIB);
/** Sizes are whole gigabytes in CloudMC (clients read integers); a smaller volume counts as one. */
export const gigabytes = (bytes: number) => Math.ceil(bytes / GIB);

/** Instances, with their templates' names (read once per answer). */
export function instanceRenderer(images: ComputeServices['images']) {
  async function templateNames(actor: Actor, list: Server[]): Promise<Map<string, string>> {
    const ids = [...new Set(list.map((s) => s.image_id))];
    const found = await Promise.all(ids.map((id) => images.get(actor, id).then((i) => [id, i.name] as const, () => [id, ''] as const)));
    return new Map(found);
  }

  async function renderInstances(actor: Actor, list: Server[]) {
    const templates = await templateNames(actor, list);
    return list.map((s) => {
      const plan = planOf(s);
      const template = templates.get(s.image_id) ?? '';
      return {
        id: s.id,
        name: s.name,
        state: instanceState(s.state),
        hostname: s.hostname,
        cpuCount: s.vcpus,
        memoryInMB: megabytes(s.memory_bytes),
        computeOfferingId: plan?.id ?? null,
        computeOfferingName: plan?.name ?? null,
        templateId: s.image_id,
        templateName: template,
        imageId: s.image_id,
        imageName: template,
        ipAddress: s.private_ip,
        networkId: s.network_id,
        zoneId: zoneId(s.host),
        zoneName: s.host,
        rootVolumeId: s.root_volume_id,
        volumeIds: s.volumes.map((v) => v.id),
        creationDate: s.created_at,
      };
    });
  }

  return { renderInstances, renderInstance: async (actor: Actor, server: Server) => (await renderInstances(actor, [server]))[0]! };
}

export const renderVolume = (v: Volume) => ({
  id: v.id,
  name: v.name,
  type: v.volume_type === 'root' ? 'os' : 'data',
  sizeInGb: gigabytes(v.size_bytes),
  size: v.size_bytes,
  state: volumeState(v.state),
  instanceId: v.server_id,
  creationDate: v.created_at,
});

export const renderSnapshot = (s: Snapshot) => ({ id: s.id, name: s.name, volumeId: s.volume_id, state: snapshotState(s.state), sizeInGb: gigabytes(s.size_bytes), creationDate: s.created_at });

export const renderTemplate = (i: Image) => ({ id: i.id, name: i.name, description: i.name, size: i.size_bytes, availablePublicly: i.organization_id === null, ready: i.status === 'ready', creationDate: i.created_at });

export const renderComputeOffering = (p: Plan) => ({ id: p.id, name: p.name, cpuCount: p.vcpus, memoryInMB: megabytes(p.memoryBytes), custom: false });

export const renderDiskOffering = (p: VolumePlan) => ({ id: p.id, name: p.name, gbSize: gigabytes(p.sizeBytes), customSize: false, customIops: false });
