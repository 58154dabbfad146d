import type { Store } from '../../store/database.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { AppDeploymentRow } from '../../store/schema.ts';

/** What happens to an app's deployments, as a follower sees it. */
export type DeploymentChange =
  | { kind: 'new'; deployment: AppDeploymentRow }
  | { kind: 'output'; deploymentId: string; content: string }
  | { kind: 'status'; deployment: AppDeploymentRow };

const POLL_MS = 500;
const BATCH = 500;
/** A deployment made this shortly before the follower came is shown from its start: a client creates one, then follows. */
export const RECENT_MS = 60_000;

/**
 * An app's deployments as they happen: each deployment made from now on (or in the last
 * `RECENT_MS`, or still running) as `new`, then its build output, then each status it takes,
 * in that order; batches of changes, an empty one every `idleMs` of silence.
 */
export async function* deploymentChanges(deps: { store: Store; notifier: Notifier }, appId: string, finished: ReadonlySet<string>, options: { signal: AbortSignal; idleMs: number }): AsyncGenerator<DeploymentChange[]> {
  const { db } = deps.store;
  const since = new Date(Date.now() - RECENT_MS).toISOString();
  /** Followed deployments: the status last told, and the output read so far. */
  const followed = new Map<string, { status: string; seq: number }>();
  /** Deployments whose end has been told. */
  const done = new Set<string>();
  let idleSince = Date.now();
  while (!options.signal.aborted) {
    const wake = nextWakeUp(deps.notifier, ['command_output'], POLL_MS, options.signal);
    const changes: DeploymentChange[] = [];
    const rows = await db.selectFrom('app_deployments').selectAll().where('app_id', '=', appId)
      // Those followed already stay until their end has been told, however old.
      .where((eb) => eb.or([eb('created_at', '>=', since), eb('finished_at', 'is', null), ...(followed.size ? [eb('id', 'in', [...followed.keys()])] : [])]))
      .orderBy('created_at').execute();
    for (const deployment of rows) {
      if (done.has(deployment.id)) continue;
      let seen = followed.get(deployment.id);
      if (!seen) {
        seen = { status: '', seq: -1 };
        followed.set(deployment.id, seen);
        changes.push({ kind: 'new', deployment });
      }
      const chunks = await db.selectFrom('app_output_chunks').select(['seq', 'content']).where('owner_id', '=', deployment.id).where('seq', '>', seen.seq).orderBy('seq').limit(BATCH).execute();
      if (chunks.length) seen.seq = Number(chunks.at(-1)!.seq);
      for (const chunk of chunks) changes.push({ kind: 'output', deploymentId: deployment.id, content: chunk.content });
      // A status is told once the output written before it has been: a finished build's last lines come before its end.
      if (chunks.length < BATCH && deployment.status !== seen.status) {
        seen.status = deployment.status;
        changes.push({ kind: 'status', deployment });
      }
      if (finished.has(seen.status) && chunks.length < BATCH) {
        followed.delete(deployment.id);
        done.add(deployment.id);
      }
    }
    if (changes.length || Date.now() - idleSince >= options.idleMs) {
      idleSince = Date.now();
      yield changes;
    }
    await wake;
  }
}
