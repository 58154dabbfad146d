import type { AppHost } from '../../backends/app-host.ts';
import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { AppRunRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { createOutputRecorder, DEFAULT_OUTPUT_BATCHING } from '../commands/output-recorder.ts';
import { InvalidState, NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { LongRequests } from '../long-requests.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { Task, TaskService } from '../tasks/task-service.ts';
import type { AppService } from './app-service.ts';
import { appEvent } from './context.ts';
import { heldBy, streamOutput } from './output.ts';
import { DEFAULT_SIZE, SIZES } from './plans.ts';
import { checkVariable } from './variable-service.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export const RUN_COMMAND_MAX = 4096;
/** A run is killed past this: a forgotten shell must not hold a task slot for ever. */
const RUN_TIMEOUT_MS = 60 * 60 * 1000;
/** How long a caller waits for an attached run's exit code (its output has ended: it is exiting). */
const EXIT_WAIT_MS = 30_000;
const RUN_OUTPUT = { ...DEFAULT_OUTPUT_BATCHING, limitChars: 1024 * 1024 };
const FINISHED = new Set(['succeeded', 'failed']);
const runListing: ListSpec = { filters: {}, searchColumns: [], orderings: { created_at: 'created_at' }, defaultOrdering: '-created_at', idColumn: 'id' };

export interface RunInput {
  command?: string;
  size?: string;
  /** Variables of this run alone, over the release's (as the app's variables are checked). */
  env?: Record<string, string>;
  /** The run starts once someone attaches to it (`attach`), with their input and output. */
  attached?: boolean;
}

/** A waiting run's input and output, once attached: bytes in, text out. */
export interface RunTerminal {
  input: Readable;
  output(text: string): void;
  /** Aborted when the caller goes away: the run is killed. */
  signal: AbortSignal;
}

/** Most variables one run may be given. */
const RUN_ENV_MAX = 100;
const envContext = (runId: string) => `app-run-env:${runId}`;

/** A run's own variables, as field errors under `env` ("NAME: message"). */
function checkRunEnv(env: Record<string, unknown>): string[] {
  const entries = Object.entries(env);
  if (entries.length > RUN_ENV_MAX) return [`Ensure there are no more than ${RUN_ENV_MAX} variables.`];
  return entries.flatMap(([name, value]) => Object.values(checkVariable({ name, value: value as string })).flat().map((message) => `${name}: ${message}`));
}

export type RunService = ReturnType<typeof createRunService>;

/**
 * One-off runs: a command in a container of its own with the app's current release (its slug
 * and environment), no address and no route, its output stored and streamed, its exit code
 * recorded. A run runs once: one interrupted by a stop of Nimbus ends `failed`, never again.
 *
 * An attached run is not started by its task (which only says it is ready to be attached to):
 * it waits in this process, keyed by its id (a random UUID), for one attachment by someone who
 * may write to the app, and runs with that caller's input and output; unattached after
 * `runtime.attachWaitMs`, it fails.
 */
export function createRunService(deps: { store: Store; events: EventService; tasks: TaskService; notifier: Notifier; host: AppHost; apps: AppService; taskHandlers: TaskHandlerRegistry; closing: AbortSignal; longRequests: LongRequests; secrets: SecretBox; runtime: { attachWaitMs: number } }) {
  const { store, events, tasks, notifier, host, apps } = deps;
  const { db } = store;
  /** Attached runs waiting in this process for their attachment, by run id. */
  const waiting = new Map<string, { appId: string; timer: NodeJS.Timeout }>();

  async function create(actor: Actor, appRef: string, input: RunInput): Promise<{ run: AppRunRow; task: Task }> {
    const app = await apps.reach(actor, appRef, 'write');
    const errors: FieldErrors = {};
    if (typeof input.command !== 'string' || input.command.trim() === '') errors.command = ['This field is required.'];
    else if (input.command.length > RUN_COMMAND_MAX) errors.command = [`Ensure this field has no more than ${RUN_COMMAND_MAX} characters.`];
    else if (input.command.includes('\u0000')) errors.command = ['The command cannot hold a NUL character.'];
    const size = input.size ?? DEFAULT_SIZE;
    if (!SIZES[size]) errors.size = [`"${size}" is not a valid choice. Choose from: ${Object.keys(SIZES).join(', ')}.`];
    const env = input.env ?? {};
    if (typeof env !== 'object' || env === null || Array.isArray(env)) errors.env = ['Give an object of variable names and values.'];
    else if (checkRunEnv(env).length) errors.env = checkRunEnv(env);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (app.status === 'deleting') throw new InvalidState(app.status, ['running'], 'The app is being deleted.');
    if (!app.current_release_id) throw new InvalidState(app.status, ['running'], 'The app has no release yet: deploy it first.');
    const id = newId();
    return db.transaction().execute(async (trx) => {
      const task = await tasks.enqueue(trx, actor, { type: 'app.run', input: { app_id: app.id, run_id: id, ...(input.attached ? { attached: true } : {}) } });
      const sealedEnv = Object.keys(env).length ? deps.secrets.seal(Buffer.from(JSON.stringify(env)), envContext(id)) : null;
      const row: AppRunRow = { id, app_id: app.id, release_id: app.current_release_id!, command: input.command!, size, env_sealed: sealedEnv, status: 'queued', exit_code: null, task_id: task.id, requested_by: actor.principal.userId, created_at: nowIso(), finished_at: null };
      await trx.insertInto('app_runs').values(row).execute();
      await events.record(trx, appEvent(app, 'run', actor, { run: id, command: row.command }));
      return { run: row, task };
    }).then((created) => {
      if (input.attached) awaitAttachment(created.run);
      return created;
    });
  }

  function awaitAttachment(run: AppRunRow) {
    const timer = setTimeout(() => {
      if (!waiting.delete(run.id)) return;
      void finish(run.id, 'failed', null).catch(() => undefined);
    }, deps.runtime.attachWaitMs);
    timer.unref();
    waiting.set(run.id, { appId: run.app_id, timer });
  }

  /**
   * Claims a waiting run for its one attachment: the caller must be able to write to the app
   * (any other app, or a run that is not waiting here, is not found), checked before anything
   * is started. Returns what starts the run with the caller's terminal, to its exit code.
   */
  async function attach(actor: Actor, appRef: string, id: string): Promise<(terminal: RunTerminal) => Promise<number | null>> {
    const app = await apps.reach(actor, appRef, 'write');
    const entry = waiting.get(id);
    if (!entry || entry.appId !== app.id) throw new NotFound('run', 'No run waits for an attachment here.');
    waiting.delete(id);
    clearTimeout(entry.timer);
    return async (terminal) => {
      await db.updateTable('app_runs').set({ status: 'running' }).where('id', '=', id).execute();
      return execute(id, { signal: AbortSignal.any([deps.closing, terminal.signal]), stdin: terminal.input, onOutput: terminal.output });
    };
  }

  /** The exit code of a run once it has finished (`null`: it failed to run); waits a while for it. */
  async function waitExit(actor: Actor, appRef: string, id: string): Promise<{ finished: boolean; exitCode: number | null }> {
    const run = await findRun(actor, appRef, id);
    const deadline = Date.now() + EXIT_WAIT_MS;
    for (;;) {
      const current = await db.selectFrom('app_runs').select(['status', 'exit_code']).where('id', '=', run.id).executeTakeFirst();
      if (!current || FINISHED.has(current.status)) return { finished: true, exitCode: current?.exit_code ?? null };
      if (Date.now() >= deadline || deps.closing.aborted) return { finished: false, exitCode: null };
      await sleep(100);
    }
  }

  async function finish(runId: string, status: 'succeeded' | 'failed', exitCode: number | null) {
    const row = await db.selectFrom('app_runs').select('app_id').where('id', '=', runId).executeTakeFirst();
    const app = row && (await db.selectFrom('apps').selectAll().where('id', '=', row.app_id).executeTakeFirst());
    await db.updateTable('app_runs').set({ status, exit_code: exitCode, finished_at: nowIso() }).where('id', '=', runId).execute();
    if (app) await events.record(db, appEvent(app, 'run_finished', null, { run: runId, status, exit_code: exitCode }));
    return { status, exit_code: exitCode };
  }

  /** Runs a run's command (it is `running`), records its output and how it ended; its exit code. */
  async function execute(runId: string, options: { signal: AbortSignal; stdin?: Readable; onOutput?: (text: string) => void }): Promise<number | null> {
    const run = await db.selectFrom('app_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    const app = await db.selectFrom('apps').selectAll().where('id', '=', run.app_id).executeTakeFirstOrThrow();
    const release = await db.selectFrom('app_releases').selectAll().where('id', '=', run.release_id).executeTakeFirstOrThrow();
    const recorder = createOutputRecorder(db, notifier, { appId: app.id, ownerId: runId }, RUN_OUTPUT);
    const own = run.env_sealed === null ? {} : (JSON.parse(deps.secrets.open(run.env_sealed, envContext(run.id)).toString()) as Record<string, string>);
    const env = { ...(JSON.parse(release.env) as Record<string, string>), ...own, APP: app.name, CONTAINER: 'one-off', CONTAINER_VERSION: `v${release.version}` };
    let exitCode: number | null = null;
    try {
      const onOutput = (text: string) => {
        options.onOutput?.(text);
        return recorder.write(text);
      };
      ({ exitCode } = await host.run({ id: runId, slugId: release.slug_id, command: run.command, env, limits: SIZES[run.size]!, onOutput, stdin: options.stdin, signal: AbortSignal.any([options.signal, AbortSignal.timeout(RUN_TIMEOUT_MS)]) }));
    } finally {
      await recorder.close().catch(() => undefined);
      await finish(runId, exitCode === 0 ? 'succeeded' : 'failed', exitCode);
    }
    return exitCode;
  }

  async function findRun(actor: Actor, appRef: string, id: string): Promise<AppRunRow> {
    const app = await apps.reach(actor, appRef, 'read');
    const row = isUuid(id) ? await db.selectFrom('app_runs').selectAll().where('app_id', '=', app.id).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('run', 'No run matches the given query.');
    return row;
  }

  async function list(actor: Actor, appRef: string, request: ListRequest): Promise<ListResult<AppRunRow>> {
    const app = await apps.reach(actor, appRef, 'read');
    return runList<AppRunRow>(db, db.selectFrom('app_runs').selectAll().where('app_id', '=', app.id), runListing, request);
  }

  /** The run's output: what is stored, then live, until it has finished. */
  async function followOutput(actor: Actor, appRef: string, id: string, options: { afterSeq: number; signal: AbortSignal; idleMs: number }) {
    const run = await findRun(actor, appRef, id);
    const finished = async () => {
      const current = await db.selectFrom('app_runs').select('status').where('id', '=', run.id).executeTakeFirst();
      return !current ? 'failed' : FINISHED.has(current.status) ? current.status : null;
    };
    const held = deps.longRequests.open(actor, (current) => apps.reach(current, run.app_id, 'read'));
    return heldBy(held, options.signal, streamOutput(deps, run.id, finished, { ...options, signal: AbortSignal.any([options.signal, deps.closing]) }));
  }

  deps.taskHandlers.register('app.run', {
    mayCancel: true,
    async run(ctx) {
      const runId = String(ctx.input.run_id);
      const run = await db.selectFrom('app_runs').selectAll().where('id', '=', runId).executeTakeFirst();
      const app = run && (await db.selectFrom('apps').selectAll().where('id', '=', run.app_id).executeTakeFirst());
      if (!run || !app || app.status === 'deleting') return { gone: true };
      if (FINISHED.has(run.status)) return { status: run.status, exit_code: run.exit_code };
      // Started before and interrupted (Nimbus stopped): a command is never run twice.
      if (run.status === 'running') return finish(runId, 'failed', null);
      // Ready to be attached to: the run itself starts with its attachment, in the process that made it.
      if (ctx.input.attached === true) return { attachable: true };
      await db.updateTable('app_runs').set({ status: 'running' }).where('id', '=', runId).execute();
      const exitCode = await execute(runId, { signal: ctx.signal });
      return { status: exitCode === 0 ? 'succeeded' : 'failed', exit_code: exitCode };
    },
  });

  return { create, list, get: findRun, followOutput, attach, waitExit };
}
