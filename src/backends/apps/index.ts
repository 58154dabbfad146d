/**
 * The runc apps host: builds and app processes are OCI containers run by runc on this machine,
 * on the stack's read-only root filesystem (see `stack.ts`), with the app at `/app`, as the
 * unprivileged app user, with memory, CPU and pid limits. Builds get no network at all (a
 * fresh network namespace with only a loopback) and see nothing of the host but the
 * read-only runtime; processes get an address on their organization's private network, where
 * the router (on the host) reaches them.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AppHost } from '../app-host.ts';
import { run } from '../command.ts';
import { exists, listDir, makeStagingDir, treeSize, writeFileAtomic } from '../files.ts';
import { mountOverlay, unmountAllUnder } from '../mounts.ts';
import { assertId, containerName } from '../names.ts';
import { Runc } from '../runc/runtime.ts';
import type { RuncParts } from '../runc/index.ts';
import { appContainerConfig, ProcessManager, runToCompletion } from './containers.ts';
import { AppLayout } from './layout.ts';
import { inspectSource, unpackSource } from './source.ts';
import { StackStore } from './stack.ts';

/** The build each stack runs in `/app`; it prints what it does, as build output. */
const BUILD_SCRIPTS: Record<string, string> = {
  nodejs: [
    'set -e',
    'if [ ! -f package.json ]; then echo "-----> No package.json: the nodejs stack builds Node.js apps (the procfile stack runs others as they are)"; exit 1; fi',
    'echo "-----> Node.js $(node --version), npm $(npm --version)"',
    'if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then echo "-----> npm ci"; npm ci --no-audit --no-fund; fi',
    'if node -e "process.exit(require(\'./package.json\').scripts?.build ? 0 : 1)"; then echo "-----> npm run build"; npm run build; fi',
    'echo "-----> Build succeeded"',
  ].join('\n'),
  procfile: 'echo "-----> Procfile stack: nothing to build"',
};

/** npm inside a build: no network, so no audit, funding or update checks; its cache in /tmp. */
const BUILD_ENV = { npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_cache: '/tmp/.npm', CI: 'true' };

/**
 * A process's command runs under a small shell that is the container's init: it passes SIGTERM
 * on (an init without a handler would ignore it) and exits with the command's status.
 */
const PROCESS_WRAPPER = "trap 'kill -TERM $pid 2>/dev/null' TERM INT; /bin/sh -c \"$1\" & pid=$!; status=0; while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done; exit $status";

export function createRuncAppHost(parts: RuncParts): AppHost {
  const layout = new AppLayout(parts.layout.root);
  const runc = new Runc(parts.runc.binary, layout.runcState);
  const stacks = new StackStore(layout);
  const processes = new ProcessManager(layout, runc, parts.network, () => stacks.ensure());
  const guarded = <A extends unknown[], R>(operation: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    await parts.ensureAvailable();
    return operation(...args);
  };

  /** A foreground container over `appDir` (a build's source, or a one-off run's overlay of a slug). */
  async function runIn(id: string, appDir: string, request: { command: string; env: Record<string, string>; limits: { memoryBytes: number; cpu: number }; onOutput: (text: string) => void | Promise<void>; signal?: AbortSignal; stdin?: Readable }): Promise<number> {
    const stack = await stacks.ensure();
    const bundle = path.join(layout.runs, id);
    await mkdir(bundle, { recursive: true });
    const config = appContainerConfig({ stack, appDir, command: request.command, env: request.env, limits: request.limits, netnsPath: null, cgroupsPath: `/nimbus-run-${id}` });
    await writeFileAtomic(path.join(bundle, 'config.json'), JSON.stringify(config));
    return runToCompletion(runc, bundle, id, request.onOutput, request.signal, request.stdin);
  }

  return {
    ensureAvailable: parts.ensureAvailable,
    inspectSource: guarded(async (archive, limits) => {
      const { procfile, startScript } = await inspectSource(archive, limits);
      return { procfile, startScript };
    }),
    build: guarded(async (request, limits) => {
      assertId(request.id, 'build');
      const script = BUILD_SCRIPTS[request.stack];
      if (!script) throw new Error(`unknown stack ${request.stack}`);
      const appDir = path.join(layout.buildDir(request.id), 'app');
      await rm(layout.buildDir(request.id), { recursive: true, force: true });
      await unpackSource(request.archivePath, appDir, limits);
      const exitCode = await runIn(request.id, appDir, { ...request, command: script, env: { ...request.env, ...BUILD_ENV } });
      return { exitCode };
    }),
    promote: guarded(async (buildId, slugId) => {
      assertId(buildId, 'build');
      assertId(slugId, 'slug');
      const slug = layout.slugDir(slugId);
      if (!(await exists(slug))) {
        await mkdir(layout.slugs, { recursive: true });
        await rename(path.join(layout.buildDir(buildId), 'app'), slug);
      }
      await rm(layout.buildDir(buildId), { recursive: true, force: true });
      return { sizeBytes: await treeSize(slug) };
    }),
    removeBuild: guarded(async (buildId) => {
      assertId(buildId, 'build');
      await rm(layout.buildDir(buildId), { recursive: true, force: true });
    }),
    slugFromImage: guarded(async (imageId, slugId) => {
      assertId(slugId, 'slug');
      const slug = layout.slugDir(slugId);
      if (!(await exists(slug))) {
        const rootfs = await parts.images.rootfs(imageId);
        await mkdir(layout.staging, { recursive: true });
        const staging = await makeStagingDir(layout.staging, 'slug');
        try {
          // A copy, not a reference: the image may be deleted while apps still run on it.
          await run('cp', ['-a', '--reflink=auto', `${rootfs}/.`, path.join(staging, 'rootfs')]);
          await mkdir(layout.slugs, { recursive: true });
          await rename(path.join(staging, 'rootfs'), slug);
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
      }
      return { sizeBytes: await treeSize(slug) };
    }),
    removeSlug: guarded(async (slugId) => {
      assertId(slugId, 'slug');
      await rm(layout.slugDir(slugId), { recursive: true, force: true });
    }),
    processes: {
      start: guarded((spec) => processes.start({ ...spec, command: `exec /bin/sh -c '${PROCESS_WRAPPER.replaceAll("'", "'\\''")}' process '${spec.command.replaceAll("'", "'\\''")}'` })),
      stop: guarded((id, options) => processes.stop(id, options)),
      running: guarded((id) => processes.running(id)),
      readOutput: (id, offset) => processes.readOutput(id, offset),
    },
    run: guarded(async (request) => {
      assertId(request.id, 'run');
      assertId(request.slugId, 'slug');
      // The run's own writable layer over the slug, gone with it.
      const scratch = path.join(layout.runs, `${request.id}-app`);
      await mkdir(path.join(scratch, 'upper'), { recursive: true });
      await mkdir(path.join(scratch, 'work'), { recursive: true });
      try {
        await mountOverlay(path.join(scratch, 'app'), { lowers: [layout.slugDir(request.slugId)], upper: path.join(scratch, 'upper'), work: path.join(scratch, 'work') });
        return { exitCode: await runIn(request.id, path.join(scratch, 'app'), request) };
      } finally {
        await unmountAllUnder(scratch);
        await rm(scratch, { recursive: true, force: true });
      }
    }),
    sweep: guarded(async (known) => {
      const released: string[] = [];
      // A host that never ran an app has nothing to look at (and start-up spawns no runc for it).
      if (!(await exists(layout.root))) return released;
      for (const container of await runc.list().catch(() => [])) {
        const id = container.id.slice(containerName('').length);
        if (!known.processes.has(id)) released.push(...(await processes.release(id)));
      }
      for (const id of await listDir(layout.processes)) {
        if (known.processes.has(id)) continue;
        released.push(...(await processes.release(id)));
        await rm(path.join(layout.processes, id), { recursive: true, force: true });
        released.push(`process bundle ${id}`);
      }
      for (const id of await listDir(layout.slugs)) {
        if (known.slugs.has(id)) continue;
        await rm(layout.slugDir(id), { recursive: true, force: true });
        released.push(`slug ${id}`);
      }
      // Builds and runs in progress belong to tasks, which start them again from the archive.
      for (const dir of [layout.builds, layout.runs, layout.staging]) {
        for (const name of await listDir(dir)) {
          await unmountAllUnder(path.join(dir, name));
          await rm(path.join(dir, name), { recursive: true, force: true });
          released.push(`${path.basename(dir)} ${name}`);
        }
      }
      return released;
    }),
  };
}
