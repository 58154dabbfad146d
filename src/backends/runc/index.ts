/**
 * The runc compute host: servers are OCI containers run by runc on this machine.
 *
 * Layout under `root` (see `HostLayout`):
 * - `images/<id>/rootfs`: an image's root filesystem, the read-only lower layer servers share;
 * - `volumes/<id>.img`: a volume, a sparse ext4 file; `snapshots/<id>.img`: a sparse copy of one;
 * - `servers/<id>/`: the runc bundle (config.json, the overlay at rootfs/, console.log);
 * - `mounts/<volumeId>`: where a running server's volumes are loop-mounted on the host;
 * - `networks/<id>.json`: a record per bridge made; `runc/`: runc's state (`--root`);
 * - `staging/`: things being built, renamed into place when complete;
 * - `spares/`: formatted volumes and image copies made ahead for new servers (`SparePool`).
 *
 * A server's root volume holds its writable layer (`upper/`, `work/`) over the image; starting
 * loop-mounts it, mounts the overlay, loop-mounts data volumes (bind-mounted at their paths),
 * wires a netns + veth onto the organization's bridge and runs the container detached, so it
 * outlives this process. Every method is idempotent and undoes its own work when it fails;
 * `sweep` releases what no known id owns, looking only at this root's things.
 */
import { rm } from 'node:fs/promises';
import { ComputeUnavailable, type ComputeHost } from '../compute-host.ts';
import { DEFAULT_SERVER_ID_RANGE, type ServerIdRange } from '../id-ranges.ts';
import { ImageStore, type ImageLimits } from '../images/store.ts';
import { HostLayout } from '../layout.ts';
import { Firewall } from '../network/firewall.ts';
import { NetworkWiring } from '../network/wiring.ts';
import { ForegroundWork } from '../spares.ts';
import { VolumeStore } from '../volumes/store.ts';
import { hostProblems, unavailable } from './availability.ts';
import { Runc } from './runtime.ts';
import { ServerManager } from './servers.ts';
import { sweepHost } from './sweep.ts';

export interface RuncHostSettings {
  /** The compute root (`<dataDir>/compute` by default). */
  root: string;
  /** The runc binary; `runc` on PATH by default. */
  runcPath?: string;
  /** What one imported image may unpack to (`DEFAULT_IMAGE_LIMITS` when unset). */
  imageLimits?: ImageLimits;
  /** Servers reach the internet through NAT (off by default: they reach only their own network). */
  nat?: boolean;
  /** The host ids servers' user namespaces map onto (`DEFAULT_SERVER_ID_RANGE` when unset). */
  serverIds?: ServerIdRange;
  /**
   * Spare root volumes (per size) and image copies (per image) made ahead in the background, so
   * a server's creation takes one instead of formatting and copying (0, the default: none).
   */
  spares?: number;
}

/** What the servers' host and the apps' host share: one runc binary, one network wiring (bridge turns are per process). */
export interface RuncParts {
  layout: HostLayout;
  /** Compute's images (apps make slugs of them). */
  images: ImageStore;
  runc: Runc;
  network: NetworkWiring;
  ensureAvailable(): Promise<void>;
}

export function createRuncHost(settings: RuncHostSettings): ComputeHost {
  return createRuncHosts(settings).compute;
}

/** The servers' host and the parts the apps' host is built on (`createRuncAppHost`). */
export function createRuncHosts(settings: RuncHostSettings): { compute: ComputeHost; parts: RuncParts } {
  if (!settings.root.startsWith('/') || /[,:]/.test(settings.root)) {
    // overlayfs options are comma- and colon-separated, so the root's paths must hold neither.
    throw new ComputeUnavailable(`The compute directory ${JSON.stringify(settings.root)} must be an absolute path without ',' or ':': set NIMBUS_COMPUTE_DIR.`);
  }
  const layout = new HostLayout(settings.root.replace(/\/+$/, '') || '/');
  const runc = new Runc(settings.runcPath ?? 'runc', layout.runcState);
  const idRange = settings.serverIds ?? DEFAULT_SERVER_ID_RANGE;
  // Spares are made while no server is starting: they are there to make starts quicker.
  const starts = new ForegroundWork();
  const images = new ImageStore(layout, idRange, settings.imageLimits, { spares: settings.spares, foreground: starts });
  const volumes = new VolumeStore(layout, { spares: settings.spares, foreground: starts });
  const network = new NetworkWiring(layout, new Firewall(layout.root, { nat: settings.nat ?? false }));
  const servers = new ServerManager(layout, runc, images, volumes, network, idRange);

  let available: Promise<void> | undefined;
  const ensureAvailable = (): Promise<void> => {
    // Success is cached; a failure is checked again next time (someone may have fixed it).
    available ??= hostProblems(runc.binary).then((problems) => {
      if (problems.length > 0) throw unavailable(problems);
    });
    return available.catch((error: unknown) => {
      available = undefined;
      throw error;
    });
  };
  /** Every host operation first makes sure the host can do it, so the error says how to fix it. */
  const guarded = <A extends unknown[], R>(operation: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    await ensureAvailable();
    return operation(...args);
  };

  const compute: ComputeHost = {
    ensureAvailable,
    images: {
      ensureBuiltin: guarded((imageId) => images.ensureBuiltin(imageId)),
      importArchive: guarded((imageId, archivePath, options) => images.importArchive(imageId, archivePath, options)),
      fromSnapshot: guarded((imageId, snapshotId, baseImageId) => images.fromSnapshot(imageId, snapshotId, baseImageId)),
      remove: guarded((imageId) => images.remove(imageId)),
    },
    volumes: {
      create: guarded((volumeId, sizeBytes, fromSnapshotId) => volumes.create(volumeId, sizeBytes, fromSnapshotId)),
      resize: guarded((volumeId, sizeBytes) => volumes.resize(volumeId, sizeBytes)),
      remove: guarded((volumeId) => volumes.remove(volumeId)),
      snapshot: guarded((volumeId, snapshotId) => volumes.snapshot(volumeId, snapshotId)),
      removeSnapshot: guarded((snapshotId) => volumes.removeSnapshot(snapshotId)),
    },
    servers: {
      create: guarded((spec) => servers.create(spec)),
      start: guarded((spec) => starts.run(() => servers.start(spec))),
      stop: guarded((serverId, options) => servers.stop(serverId, options)),
      state: guarded((serverId) => servers.state(serverId)),
      remove: guarded((serverId) => servers.remove(serverId)),
      exec: guarded((serverId, request) => servers.exec(serverId, request)),
      writeFile: guarded((serverId, request) => servers.writeFile(serverId, request)),
      readFile: guarded((serverId, request) => servers.readFile(serverId, request)),
      readTree: guarded((serverId, request) => servers.readTree(serverId, request)),
      terminal: guarded((serverId, request) => servers.terminal(serverId, request)),
      facts: guarded((serverId) => servers.facts(serverId)),
    },
    sweep: guarded((known) => sweepHost({ layout, runc, servers, network }, known)),
    async close() {
      await Promise.all([images.close(), volumes.close()]);
      await rm(layout.spares, { recursive: true, force: true });
    },
  };
  return { compute, parts: { layout, images, runc, network, ensureAvailable } };
}
