import type { Kysely } from 'kysely';
import type { ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { CommandRow, Database } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { TokenAclService } from '../token-acl/token-acl-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { assertComputeAvailable } from '../compute/context.ts';
import type { ServerService } from '../compute/server-service.ts';
import { InvalidState, NotFound, ValidationFailed } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import { choiceFilter, runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { endsAccess, type LongRequest, type LongRequests } from '../long-requests.ts';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { parseCommandRequest, type CommandRequest, type CommandTimeouts } from './command-input.ts';
import { COMMAND_STATUSES, commandEvent, FINISHED_STATUSES, taskEndedWithout, toChunk, toCommand, type Command, type CommandChunk } from './command-model.ts';
import { goneServer, goneUser, serverSummaries, userSummaries } from '../summaries.ts';
import { finishCommand } from './command-outcome.ts';
import { createCommandRunner, RUN_COMMAND_TASK } from './command-runner.ts';
import { DEFAULT_OUTPUT_BATCHING, type OutputRecorderSettings } from './output-recorder.ts';

/** Command limits from the configuration: timeouts, and how much output is stored. */
export interface CommandSettings {
  timeouts: CommandTimeouts;
  /** The most output characters stored per command; past it the oldest are cut. */
  outputLimitChars: number;
}

/** Live output followers look again this often even without a wake-up. */
const FOLLOW_POLL_MS = 1_000;
const FOLLOW_BATCH = 500;

const listSpec: ListSpec = {
  filters: {
    server: uuidFilter('server_id', 'server'),
    status: choiceFilter('status', 'status', COMMAND_STATUSES, { multiple: true }),
  },
  searchColumns: ['line'],
  // `added_at` is Alpacon's name for the creation time.
  orderings: { added_at: 'created_at', created_at: 'created_at', status: 'status' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

const chunkListSpec: ListSpec = {
  filters: {},
  searchColumns: [],
  orderings: { seq: 'seq', added_at: 'seq' },
  defaultOrdering: 'seq',
  idColumn: 'seq',
};

/** One step of a live output stream: the chunks stored since the last step, and the command once it finished. */
export interface OutputBatch {
  chunks: CommandChunk[];
  /** Set on the last batch. */
  finished: Command | null;
}

export type CommandService = ReturnType<typeof createCommandService>;

/**
 * Remote commands: a shell line run on a running server by a `command.run` task, its output
 * stored in order as it comes and streamed live, its exit code and time kept.
 */
export function createCommandService(deps: {
  store: Store;
  events: EventService;
  notifier: Notifier;
  tasks: TaskService;
  taskHandlers: TaskHandlerRegistry;
  host: ComputeHost;
  /** Finds the server a new command runs on. */
  servers: Pick<ServerService, 'findVisible'>;
  /** Token ACLs: a command outside them is refused before it reaches the server. */
  acl: Pick<TokenAclService, 'assertCommand'>;
  settings: CommandSettings;
  longRequests: LongRequests;
  /** How output is batched (tests make it smaller); the limit comes from `settings`. */
  recorder?: Omit<OutputRecorderSettings, 'limitChars'>;
}) {
  const { store, events, notifier, tasks, host, servers, longRequests } = deps;
  const { db } = store;
  const closing = new AbortController();
  const { settings } = deps;
  deps.taskHandlers.register(RUN_COMMAND_TASK, createCommandRunner({ ...deps, recorder: { ...(deps.recorder ?? DEFAULT_OUTPUT_BATCHING), limitChars: settings.outputLimitChars } }));
  /** Commands as `actor` may see them (environment values only with `command:write`), with their server and requester. */
  async function shownTo(actor: Actor, rows: CommandRow[], from: Kysely<Database> = db): Promise<Command[]> {
    const revealEnv = actor.permissions.has('command:write');
    const [servers, users] = await Promise.all([serverSummaries(from, rows.map((r) => r.server_id)), userSummaries(from, actor.organizationPath, rows.map((r) => r.requested_by))]);
    return rows.map((row) => toCommand(row, {
      revealEnv,
      server: servers.get(row.server_id) ?? goneServer(row.server_id),
      requester: row.requested_by === null ? null : (users.get(row.requested_by) ?? goneUser(row.requested_by)),
    }));
  }

  const visible = (actor: Actor) => db.selectFrom('commands').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string): Promise<CommandRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('command', 'No command matches the given query.');
    return row;
  }

  /**
   * A command whose task ended without it (cancelled while still pending, or given up on) would
   * stay queued or running for ever: it is ended as failed when it is read.
   */
  async function settleAbandoned(rows: CommandRow[]): Promise<CommandRow[]> {
    const open = rows.filter((r) => !FINISHED_STATUSES.has(r.status));
    if (open.length === 0) return rows;
    const taskRows = await db.selectFrom('tasks').select(['id', 'status']).where('id', 'in', open.map((r) => r.task_id)).execute();
    const taskStatus = new Map(taskRows.map((t) => [t.id, t.status]));
    const settled = new Map<string, CommandRow>();
    for (const row of open) {
      const status = taskStatus.get(row.task_id);
      if (!taskEndedWithout(status)) continue;
      const result = status === 'cancelled' && row.status === 'queued' ? 'The command was cancelled before it started.' : `The command's task was ${status ?? 'purged'} before the command finished.`;
      const finished = await finishCommand(deps, row.id, { success: false, exitCode: null, result, elapsedTime: null });
      if (finished) settled.set(row.id, finished);
    }
    return rows.map((r) => settled.get(r.id) ?? r);
  }

  /**
   * Queues a command on a running server of the actor's subtree. The command and the task that
   * runs it are written in one transaction; a bad request writes nothing.
   */
  async function create(actor: Actor, request: CommandRequest, options: { transferCheck?: boolean } = {}): Promise<Command> {
    assertAllowed(actor, 'command:write');
    const parsed = parseCommandRequest(request, settings.timeouts);
    if ('errors' in parsed) throw new ValidationFailed(parsed.errors);
    const { spec } = parsed;
    const server = await servers.findVisible(actor, spec.serverId);
    // A file transfer's own check line is no caller's command: its file ACL was checked instead.
    if (!options.transferCheck) await deps.acl.assertCommand(actor, { serverId: server.id, line: spec.line, username: spec.username, groupname: spec.groupname });
    if (server.state !== 'running') throw new InvalidState(server.state, ['running'], `The server is ${server.state}; a command runs only on a running server.`, 'server');
    if (spec.runAfter.length) {
      const found = new Set((await visible(actor).clearSelect().select('id').where('id', 'in', spec.runAfter).execute()).map((r) => r.id));
      const missing = spec.runAfter.filter((id) => !found.has(id));
      if (missing.length) throw new ValidationFailed({ run_after: missing.map((id) => `No command matches "${id}".`) });
    }
    await assertComputeAvailable(host);

    return db.transaction().execute(async (trx) => {
      const id = newId();
      const task = await tasks.enqueue(trx, actor, { type: RUN_COMMAND_TASK, input: { command: id } });
      const row: CommandRow = {
        id,
        organization_id: actor.organizationId,
        organization_path: actor.organizationPath,
        server_id: server.id,
        shell: spec.shell,
        line: spec.line,
        env: JSON.stringify(spec.env),
        username: spec.username,
        groupname: spec.groupname,
        run_after: JSON.stringify(spec.runAfter),
        status: 'queued',
        success: null,
        exit_code: null,
        result: null,
        elapsed_time: null,
        timeout_seconds: spec.timeoutSeconds,
        output_cut: 0,
        task_id: task.id,
        requested_by: actor.principal.userId,
        created_at: nowIso(),
        started_at: null,
        finished_at: null,
      };
      await trx.insertInto('commands').values(row).execute();
      await events.record(trx, commandEvent(row, 'created', { line: spec.line }, actor.requestId));
      return (await shownTo(actor, [row], trx))[0]!;
    });
  }

  async function get(actor: Actor, id: string): Promise<Command> {
    assertAllowed(actor, 'command:read');
    const [row] = await settleAbandoned([await findVisible(actor, id)]);
    return (await shownTo(actor, [row!]))[0]!;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Command>> {
    assertAllowed(actor, 'command:read');
    const result = await runList<CommandRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await shownTo(actor, await settleAbandoned(result.items)) } as ListResult<Command>;
  }

  /** A command's output chunks, by `seq`. */
  async function chunks(actor: Actor, id: string, request: ListRequest): Promise<ListResult<CommandChunk>> {
    assertAllowed(actor, 'command:read');
    const command = await findVisible(actor, id);
    const query = db.selectFrom('command_chunks').select(['seq', 'content', 'created_at']).where('command_id', '=', command.id);
    const result = await runList<{ seq: number; content: string; created_at: string }>(db, query, chunkListSpec, request);
    return { ...result, items: result.items.map(toChunk) } as ListResult<CommandChunk>;
  }

  /**
   * The output live: the chunks after `afterSeq` (-1 for all), then each new one as it is
   * stored, and last the finished command. Checks access before the caller opens its stream; the
   * stream holds a long-request slot until `signal` aborts or it ends, and ends once its caller
   * may no longer read commands.
   */
  async function follow(actor: Actor, id: string, options: { afterSeq: number; signal: AbortSignal; idleMs: number }): Promise<AsyncGenerator<OutputBatch>> {
    assertAllowed(actor, 'command:read');
    const command = await findVisible(actor, id);
    const request = longRequests.open(actor, 'command:read');
    options.signal.addEventListener('abort', request.release, { once: true });
    return followFrom(request, command.id, options);
  }

  async function* followFrom(request: LongRequest, id: string, options: { afterSeq: number; signal: AbortSignal; idleMs: number }): AsyncGenerator<OutputBatch> {
    try {
      yield* outputOf(request, id, options);
    } catch (error) {
      if (!endsAccess(error)) throw error;
    } finally {
      request.release();
    }
  }

  async function* outputOf(request: LongRequest, id: string, options: { afterSeq: number; signal: AbortSignal; idleMs: number }): AsyncGenerator<OutputBatch> {
    const signal = AbortSignal.any([options.signal, closing.signal]);
    let position = options.afterSeq;
    let idleSince = Date.now();
    while (!signal.aborted) {
      const actor = await request.actor();
      const wake = nextWakeUp(notifier, ['command_output'], FOLLOW_POLL_MS, signal);
      // Read before the chunks: output is all stored before the command is marked finished,
      // so a command seen finished here has no chunk the next read could miss.
      const found = await db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
      const command = found && (await settleAbandoned([found]))[0];
      const rows = await db.selectFrom('command_chunks').select(['seq', 'content', 'created_at']).where('command_id', '=', id).where('seq', '>', position).orderBy('seq').limit(FOLLOW_BATCH).execute();
      const complete = !command || (FINISHED_STATUSES.has(command.status) && rows.length < FOLLOW_BATCH);
      if (rows.length) position = Number(rows.at(-1)!.seq);
      if (rows.length || complete) {
        idleSince = Date.now();
        yield { chunks: rows.map(toChunk), finished: complete && command ? (await shownTo(actor, [command]))[0]! : null };
        if (complete) return;
        if (rows.length === FOLLOW_BATCH) continue;
      } else if (Date.now() - idleSince >= options.idleMs) {
        idleSince = Date.now();
        yield { chunks: [], finished: null };
      }
      await wake;
    }
  }

  /** Ends every live stream (shutdown). */
  function close(): void {
    closing.abort();
  }

  return { create, get, list, chunks, follow, close };
}
