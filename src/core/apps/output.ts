import type { Store } from '../../store/database.ts';
import { endsAccess, type HeldSlot } from '../long-requests.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';

const FOLLOW_POLL_MS = 500;
const BATCH = 500;

/**
 * The stored output of a build or a one-off run (`ownerId`), then each chunk as it is stored,
 * until `finishedStatus` says it ended: batches of chunks, the last one carrying that status.
 * An empty batch comes every `idleMs` of silence (the stream's keep-alive).
 */
export async function* streamOutput(
  deps: { store: Store; notifier: Notifier },
  ownerId: string,
  finishedStatus: () => Promise<string | null>,
  options: { afterSeq: number; signal: AbortSignal; idleMs: number },
) {
  const { db } = deps.store;
  let position = options.afterSeq;
  let idleSince = Date.now();
  while (!options.signal.aborted) {
    const wake = nextWakeUp(deps.notifier, ['command_output'], FOLLOW_POLL_MS, options.signal);
    const finished = await finishedStatus();
    const chunks = await db.selectFrom('app_output_chunks').select(['seq', 'content', 'created_at']).where('owner_id', '=', ownerId).where('seq', '>', position).orderBy('seq').limit(BATCH).execute();
    if (chunks.length) position = Number(chunks.at(-1)!.seq);
    const last = finished !== null && chunks.length < BATCH;
    if (chunks.length || last || Date.now() - idleSince >= options.idleMs) {
      idleSince = Date.now();
      yield { chunks, finished: last ? finished : null };
      if (last) return;
    }
    await wake;
  }
}

/**
 * An app's live stream holding a long-request slot (`request`, opened before the stream is)
 * until it ends or `signal` aborts; it ends once its caller (or its link) may no longer read the app.
 */
export async function* heldBy<T>(request: HeldSlot, signal: AbortSignal, batches: AsyncIterable<T>): AsyncGenerator<T> {
  signal.addEventListener('abort', request.release, { once: true });
  try {
    for await (const batch of batches) {
      await request.recheck();
      yield batch;
    }
  } catch (error) {
    if (!endsAccess(error)) throw error;
  } finally {
    request.release();
  }
}
