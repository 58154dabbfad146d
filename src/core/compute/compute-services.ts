import type { Logger } from 'pino';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import { createBackupService } from './backup-service.ts';
import { computeQuotas } from './compute-quotas.ts';
import type { ComputeDeps } from './context.ts';
import { hostRecords } from './host-records.ts';
import { createImageService } from './image-service.ts';
import { reconcileCompute } from './reconcile.ts';
import { registerServerHandlers } from './server-handlers.ts';
import { createServerService } from './server-service.ts';
import { createSnapshotService } from './snapshot-service.ts';
import { createUserDataService } from './user-data-service.ts';
import { registerStorageHandlers } from './storage-handlers.ts';
import { createVolumeService } from './volume-service.ts';

export type ComputeServices = ReturnType<typeof createComputeServices>;

/** Images, servers, volumes and snapshots over one compute host, with their task handlers registered. */
export function createComputeServices(deps: ComputeDeps & { taskHandlers: TaskHandlerRegistry }) {
  const limits = computeQuotas(deps.quotas);
  const records = hostRecords(deps);
  registerServerHandlers(deps.taskHandlers, deps, records);
  registerStorageHandlers(deps.taskHandlers, deps, records, limits);
  const images = createImageService({ ...deps, limits });
  const servers = createServerService({ ...deps, images, limits });
  const volumes = createVolumeService({ ...deps, servers, limits });
  const snapshots = createSnapshotService({ ...deps, volumes, limits });
  return {
    host: deps.host,
    images,
    servers,
    volumes,
    snapshots,
    backups: createBackupService({ ...deps, servers, snapshots, images }),
    userData: createUserDataService({ ...deps, servers }),
    /** Makes an image usable on the host (the built-in one on first use); a Conflict says why it cannot be. */
    ensureImageReady: records.ensureImageReady,
    /** At start-up (with the task worker): corrects server states and releases what nothing owns. */
    reconcile: (logger: Logger) => reconcileCompute(deps, records, logger),
  };
}
