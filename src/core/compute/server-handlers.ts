import { randomInt } from 'node:crypto';
import type { TaskContext, TaskHandlerRegistry } from '../tasks/handlers.ts';
import { withSealedSecrets } from '../tasks/task-secrets.ts';
import { asNumber, asDomainError, ComputeRefused, computeEvent, onHost, tenantMessage, type ComputeDeps, type Executor } from './context.ts';
import type { HostRecords } from './host-records.ts';
import { nowIso } from '../clock.ts';

const serverOf = (input: Record<string, unknown>) => [{ type: 'server', id: String(input.server_id) }];

/**
 * The tasks that make the host follow a server's record. Each is safe to run again after a
 * crash: host calls are idempotent and keyed by ids, database writes go through `ctx.step`.
 * A failure leaves the server in `error` with the reason in `state_detail`.
 */
export function registerServerHandlers(registry: TaskHandlerRegistry, deps: ComputeDeps, records: HostRecords): void {
  const { store, events, host, settings } = deps;
  const { db } = store;
  const stopOptions = { timeoutMs: settings.stopTimeoutMs };

  /**
   * Runs a server task on a server that still exists; on failure records `error` (unless the
   * work leaves the server as it was: `failureIsError: false`) and fails the task.
   */
  function serverTask(work: (ctx: TaskContext, serverId: string) => Promise<unknown>, { failureIsError = true } = {}) {
    return {
      resourcesOf: serverOf,
      async run(ctx: TaskContext) {
        const serverId = String(ctx.input.server_id);
        if (!(await records.findServer(db, serverId))) return { gone: true };
        try {
          return (await work(ctx, serverId)) ?? {};
        } catch (error) {
          const failure = asDomainError(error);
          if (failureIsError) await records.setServerState(db, serverId, 'error', tenantMessage(failure));
          throw failure;
        }
      },
    };
  }

  async function startServer(ctx: TaskContext, serverId: string, stepName: string, { justCreated = false } = {}): Promise<void> {
    const server = (await records.findServer(db, serverId))!;
    const spec = await records.specOf(server);
    // Creating again is a no-op for an existing bundle; it covers a start racing a fresh create.
    if (!justCreated) await onHost(() => host.servers.create(spec));
    await onHost(() => host.servers.start(spec));
    // Facts are a convenience (a server whose facts cannot be read is still running), recorded
    // in the same write as its state.
    const facts = await onHost(() => host.servers.facts(serverId)).catch(() => undefined);
    await ctx.step(stepName, async (trx) => {
      await records.setServerState(trx, serverId, 'running');
      if (facts) await records.saveFacts(trx, serverId, facts);
    });
  }

  registry.register(
    'server.create',
    serverTask(async (ctx, serverId) => {
      const server = (await records.findServer(db, serverId))!;
      await records.ensureImageReady(server.image_id);
      const root = await db.selectFrom('volumes').select('size_bytes').where('id', '=', server.root_volume_id).executeTakeFirstOrThrow();
      await onHost(() => host.volumes.create(server.root_volume_id, asNumber(root.size_bytes)));
      await ctx.step('root_volume', (trx) => trx.updateTable('volumes').set({ state: 'in_use', updated_at: nowIso() }).where('id', '=', server.root_volume_id).execute().then(() => null));
      // Data volumes the server was created with are made before its bundle names them.
      const pending = await db.selectFrom('volumes').select(['id', 'size_bytes']).where('server_id', '=', serverId).where('volume_type', '=', 'data').where('state', '=', 'creating').execute();
      for (const volume of pending) {
        await onHost(() => host.volumes.create(volume.id, asNumber(volume.size_bytes)));
        await ctx.step(`volume ${volume.id}`, (trx) => trx.updateTable('volumes').set({ state: 'in_use', updated_at: nowIso() }).where('id', '=', volume.id).execute().then(() => null));
      }
      // Starting records the bundle as creating does, so a server started at once is not created first.
      if (ctx.input.start === true) return startServer(ctx, serverId, 'running', { justCreated: true });
      await onHost(async () => host.servers.create(await records.specOf(server)));
      await ctx.step('stopped', (trx) => records.setServerState(trx, serverId, 'stopped'));
    }),
  );

  registry.register('server.poweron', serverTask((ctx, serverId) => startServer(ctx, serverId, 'running')));

  registry.register(
    'server.poweroff',
    serverTask(async (ctx, serverId) => {
      await onHost(() => host.servers.stop(serverId, stopOptions));
      await ctx.step('stopped', (trx) => records.setServerState(trx, serverId, 'stopped'));
    }),
  );

  registry.register(
    'server.reboot',
    serverTask(async (ctx, serverId) => {
      await onHost(() => host.servers.stop(serverId, stopOptions));
      await ctx.step('starting', (trx) => records.setServerState(trx, serverId, 'starting'));
      await startServer(ctx, serverId, 'running');
    }),
  );

  // A stopped server's new size reaches the host's record of it; the next start applies it.
  registry.register(
    'server.resize',
    serverTask(async (_ctx, serverId) => {
      const server = (await records.findServer(db, serverId))!;
      await onHost(async () => host.servers.create(await records.specOf(server)));
    }),
  );

  registry.register(
    'server.update_information',
    serverTask(async (_ctx, serverId) => {
      await records.refreshFacts(serverId);
    }),
  );

  /**
   * Stops and removes the server, deletes its root volume, and leaves its data volumes detached
   * (or deletes them too, when asked with `delete_volumes`).
   */
  async function purgeServer(ctx: TaskContext, serverId: string): Promise<void> {
    const server = (await records.findServer(db, serverId))!;
    const deleteVolumes = ctx.input.delete_volumes === true;
    let published: (() => void) | undefined;
    await onHost(() => host.servers.stop(serverId, stopOptions));
    await onHost(() => host.servers.remove(serverId));
    await onHost(() => host.volumes.remove(server.root_volume_id));
    const attachedTo = (executor: Executor) => executor.selectFrom('volumes').selectAll().where('server_id', '=', serverId).where('volume_type', '=', 'data').execute();
    if (deleteVolumes) for (const volume of await attachedTo(db)) await onHost(() => host.volumes.remove(volume.id));
    await ctx.step('deleted', async (trx) => {
      const now = nowIso();
      const attached = await attachedTo(trx);
      const ids = attached.map((v) => v.id);
      if (ids.length && deleteVolumes) await trx.deleteFrom('volumes').where('id', 'in', ids).execute();
      else if (ids.length) await trx.updateTable('volumes').set({ server_id: null, mount_path: null, state: 'available', updated_at: now }).where('id', 'in', ids).execute();
      for (const volume of attached) await events.record(trx, computeEvent(volume, 'volume', deleteVolumes ? 'deleted' : 'detached', null, deleteVolumes ? { name: volume.name } : { server: serverId }));
      await trx.deleteFrom('volumes').where('id', '=', server.root_volume_id).execute();
      await trx.deleteFrom('servers').where('id', '=', serverId).execute();
      await events.record(trx, computeEvent(server, 'server', 'deleted', null, { name: server.name }));
      published = await deps.addresses?.serversChanged(trx, server.organization_id, null);
      return null;
    });
    published?.();
  }

  registry.register('server.terminate', serverTask(purgeServer));
  registry.register('server.purge', serverTask(purgeServer));

  // Soft delete: stopped and kept, its volumes with it, until recovered, purged or expired.
  registry.register(
    'server.destroy',
    serverTask(async (ctx, serverId) => {
      await onHost(() => host.servers.stop(serverId, stopOptions));
      await ctx.step('destroyed', (trx) => records.setServerState(trx, serverId, 'destroyed'));
    }),
  );

  // Back to stopped, as it was; the pending expiry is cancelled. Its bundle was kept, so it starts as before.
  registry.register(
    'server.recover',
    serverTask(async (ctx, serverId) => {
      await ctx.step('stopped', async (trx) => {
        const server = await records.findServer(trx, serverId);
        if (server?.state !== 'destroyed') return null;
        await records.setServerState(trx, serverId, 'stopped', 'Recovered.');
        await deps.tasks.cancelPending(trx, { type: 'server.expire', resource: { type: 'server', id: serverId } });
        return null;
      });
    }),
  );

  // Due when a destroyed server's retention has passed: purges it, if that destruction still holds.
  registry.register(
    'server.expire',
    serverTask(async (ctx, serverId) => {
      const due = await ctx.step('due', async (trx) => {
        const server = await records.findServer(trx, serverId);
        if (server?.state !== 'destroyed' || server.destroyed_at !== ctx.input.destroyed_at) return false;
        await records.setServerState(trx, serverId, 'stopping', 'Being purged: its retention period has passed.');
        return true;
      });
      if (!due) return { purged: false };
      await purgeServer(ctx, serverId);
      return { purged: true };
    }),
  );

  // A new random root password, set inside the running server through the exec path commands use;
  // handed back sealed in the task's result. A failure leaves the server running as it was.
  registry.register(
    'server.reset_password',
    serverTask(
      async (ctx, serverId) => {
        const password = randomPassword();
        let output = '';
        const done = await onHost(() =>
          host.servers.exec(serverId, {
            line: SET_ROOT_PASSWORD,
            env: { [PASSWORD_VARIABLE]: password },
            onOutput: (chunk) => void (output = (output + chunk).slice(-OUTPUT_KEPT)),
            signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(PASSWORD_TIMEOUT_MS)]),
          }),
        );
        if (done.exitCode !== 0) throw new ComputeRefused(`The server could not set its root password (exit code ${done.exitCode}): ${output.trim() || 'no output'}`);
        return withSealedSecrets(deps.secrets, ctx.taskId, {}, { password });
      },
      { failureIsError: false },
    ),
  );
}

const PASSWORD_VARIABLE = 'NIMBUS_ROOT_PASSWORD';
/**
 * The password travels in the environment, never in a command line (which any process of the
 * server may read): `chpasswd` where the image has it, else busybox's `passwd` reading stdin.
 */
const SET_ROOT_PASSWORD = [
  'if command -v chpasswd >/dev/null 2>&1;',
  `then printf 'root:%s\\n' "$${PASSWORD_VARIABLE}" | chpasswd;`,
  `else printf '%s\\n%s\\n' "$${PASSWORD_VARIABLE}" "$${PASSWORD_VARIABLE}" | passwd root >/dev/null;`,
  'fi',
].join(' ');
const PASSWORD_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 500;
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 20;

/** 20 characters from 56 unambiguous ones: about 116 bits. */
function randomPassword(): string {
  return Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
}
