import { assertAllowed, type Actor } from '../actor.ts';
import { NotFound, ValidationFailed } from '../errors.ts';
import { MIB, GIB } from './inputs.ts';

/**
 * Plans: named sizes a server is made with (CloudMC's compute offerings). A server's vCPUs and
 * memory are its own; a plan is a shorthand for a pair, with an id that never changes.
 */
export interface Plan {
  id: string;
  name: string;
  vcpus: number;
  memoryBytes: number;
}

const plan = (n: number, name: string, vcpus: number, memoryBytes: number): Plan => ({ id: `00000000-0000-4000-8000-0000000a${String(n).padStart(4, '0')}`, name, vcpus, memoryBytes });

export const PLANS: readonly Plan[] = [
  plan(1, '1vCPU.128MB', 1, 128 * MIB),
  plan(2, '1vCPU.256MB', 1, 256 * MIB),
  plan(3, '1vCPU.512MB', 1, 512 * MIB),
  plan(4, '2vCPU.1GB', 2, GIB),
  plan(5, '2vCPU.2GB', 2, 2 * GIB),
  plan(6, '4vCPU.4GB', 4, 4 * GIB),
  plan(7, '8vCPU.8GB', 8, 8 * GIB),
];

export function listPlans(actor: Actor): Plan[] {
  assertAllowed(actor, 'server:read');
  return [...PLANS];
}

export function getPlan(actor: Actor, id: string): Plan {
  assertAllowed(actor, 'server:read');
  const found = PLANS.find((p) => p.id === id);
  if (!found) throw new NotFound('plan', 'No plan matches the given query.');
  return found;
}

/** The plan a create or resize names, or a field error on `field`. */
export function resolvePlan(id: string, field: string): Plan {
  const found = PLANS.find((p) => p.id === id);
  if (!found) throw ValidationFailed.field(field, `Invalid pk "${id}" - object does not exist.`);
  return found;
}

/** Volume sizes by name (CloudMC's disk offerings): a shorthand for a size, with an id that never changes. */
export interface VolumePlan {
  id: string;
  name: string;
  sizeBytes: number;
}

const volumePlan = (n: number, gib: number): VolumePlan => ({ id: `00000000-0000-4000-8000-0000000b${String(n).padStart(4, '0')}`, name: `${gib}GB`, sizeBytes: gib * GIB });

export const VOLUME_PLANS: readonly VolumePlan[] = [volumePlan(1, 1), volumePlan(2, 5), volumePlan(3, 10), volumePlan(4, 20), volumePlan(5, 50), volumePlan(6, 100)];

export function listVolumePlans(actor: Actor): VolumePlan[] {
  assertAllowed(actor, 'volume:read');
  return [...VOLUME_PLANS];
}

/** The volume plan a create names, or a field error on `field`. */
export function resolveVolumePlan(id: string, field: string): VolumePlan {
  const found = VOLUME_PLANS.find((p) => p.id === id);
  if (!found) throw ValidationFailed.field(field, `Invalid pk "${id}" - object does not exist.`);
  return found;
}

/** The plan a server's size matches, when it matches one. */
export function planOf(size: { vcpus: number; memory_bytes: number }): Plan | null {
  return PLANS.find((p) => p.vcpus === size.vcpus && p.memoryBytes === size.memory_bytes) ?? null;
}
