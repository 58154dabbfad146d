import type { DeploymentStatus, TaskStatus } from '../../store/schema.ts';

/** ComputeStacks' order statuses. */
export const ORDER_STATUSES = ['open', 'pending', 'processing', 'cancelled', 'failed', 'completed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Where one container service of an order stands: its deployment and the task running it (null when gone). */
export interface ContainerProgress {
  deployment: { status: DeploymentStatus; error: string | null } | null;
  task: { status: TaskStatus; attempts: number; error: string | null } | null;
}

export interface OrderOutcome {
  status: OrderStatus;
  /** Which container failed (its position in the order) and why. */
  failures: { position: number; reason: string }[];
}

const DEPLOYMENT_FAILED: ReadonlySet<DeploymentStatus> = new Set(['build-error', 'crashed-error', 'timeout-error', 'aborted']);

function failureOf(container: ContainerProgress): string | null {
  const { deployment, task } = container;
  if (!deployment) return 'Its container service was deleted before it was provisioned.';
  if (DEPLOYMENT_FAILED.has(deployment.status)) return deployment.error ?? `Its deployment ended with ${deployment.status}.`;
  if (task && (task.status === 'failed' || task.status === 'cancelled')) return task.error ?? `Its deployment task was ${task.status}.`;
  return null;
}

/**
 * An order's status, derived from its containers' deployments every time it is read (so it
 * follows them without being written to): `cancelled` once cancelled; `failed` when a container
 * failed (each failure says which and why); `completed` when every container runs; `processing`
 * while any is being provisioned; `pending` when a deployment waits to retry after a temporary
 * failure (the host was unavailable); `open` while nothing has started.
 */
export function orderStatus(cancelled: boolean, containers: readonly ContainerProgress[]): OrderOutcome {
  if (cancelled) return { status: 'cancelled', failures: [] };
  const failures = containers.flatMap((c, position) => {
    const reason = failureOf(c);
    return reason === null ? [] : [{ position, reason }];
  });
  if (failures.length) return { status: 'failed', failures };
  if (containers.every((c) => c.deployment!.status === 'success')) return { status: 'completed', failures };
  if (containers.some((c) => c.deployment!.status !== 'queued' || c.task?.status === 'running' || c.task?.status === 'cancelling')) return { status: 'processing', failures };
  if (containers.some((c) => c.task?.status === 'pending' && c.task.attempts > 0)) return { status: 'pending', failures };
  return { status: 'open', failures };
}
