import type { Kysely, Transaction } from 'kysely';
import path from 'node:path';
import { ComputeRejected, ComputeUnavailable as HostUnavailable, type ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { Database } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { ComputeUnavailable, Conflict, DomainError } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import type { TaskService } from '../tasks/task-service.ts';
import type { AddressRange } from './addresses.ts';

/** What this process's compute needs to know about itself. */
export interface ComputeSettings {
  /** This machine's id: servers record where they run, and reconciliation looks only at its own. */
  hostId: string;
  networkRange: AddressRange;
  /** How long a server gets to stop after SIGTERM before it is killed. */
  stopTimeoutMs: number;
  /** Where uploaded image archives wait for their import task. */
  uploadDir: string;
}

/** Where an upload is written before its import task reads it; the task removes it. */
export function uploadPath(settings: Pick<ComputeSettings, 'uploadDir'>, imageId: string): string {
  return path.join(settings.uploadDir, `${imageId}.archive`);
}

/**
 * Told when an organization's servers come or go, in the transaction that changes them (DNS
 * keeps records of their addresses); returns what to do once that transaction commits.
 */
export interface ServerAddressFollower {
  serversChanged(trx: Transaction<Database>, organizationId: string, actor: Actor | null): Promise<() => void>;
}

/** What every compute service shares. */
export interface ComputeDeps {
  store: Store;
  events: EventService;
  tasks: TaskService;
  quotas: QuotaService;
  host: ComputeHost;
  settings: ComputeSettings;
  addresses?: ServerAddressFollower;
}

export type Executor = Kysely<Database> | Transaction<Database>;

/** The host refused work for a reason the user can act on (a bad archive...): the task fails with its message. */
export class ComputeRefused extends Conflict {
  constructor(message: string) {
    super(message, 'compute_rejected');
  }
}

/** Runs host work, turning the host's errors into domain errors a task or a request can report. */
export async function onHost<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asDomainError(error);
  }
}

/**
 * The host's refusals become domain errors, their messages written for the tenant. Anything
 * else stays what it is: its message may hold host paths or a tenant file's content, so the
 * worker logs it for the operator and tells the tenant only that the task failed.
 */
export function asDomainError(error: unknown): Error {
  if (error instanceof DomainError) return error;
  if (error instanceof HostUnavailable) return new ComputeUnavailable(error.message);
  if (error instanceof ComputeRejected) return new ComputeRefused(error.message);
  return error instanceof Error ? error : new Error(String(error));
}

/** What a resource's `error` field says about a failure: a domain error's message, never a host's. */
export function tenantMessage(error: Error): string {
  return error instanceof DomainError ? error.message : 'The host could not complete the work; the operator\'s log has the details.';
}

/** Refuses with one clear error, before anything is written, when servers cannot run here. */
export async function assertComputeAvailable(host: ComputeHost): Promise<void> {
  await onHost(() => host.ensureAvailable());
}

const UNIQUE_RETRIES = 8;

/**
 * Runs a transaction again when it lost a race on a unique constraint (two requests picking
 * the same subnet or address): the next run sees the winner's row and picks another.
 */
export async function retryOnUniqueViolation<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= UNIQUE_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

/** The event recording a change to a compute resource, in the transaction that makes it. */
export { resourceEvent as computeEvent } from '../events/resource-event.ts';

/** The number a bigint column or an aggregate reads as, on either database. */
export const asNumber = (value: unknown): number => Number(value ?? 0);
