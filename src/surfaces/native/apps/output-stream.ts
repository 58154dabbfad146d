import type { FastifyReply, FastifyRequest } from 'fastify';
import { KEEP_ALIVE_MS, lastEventIdOf, sendEventStream, sseEvent } from '../../../http/event-stream.ts';

type OutputBatch = { chunks: { seq: number; content: string; created_at: string }[]; finished: string | null };

export const OUTPUT_STREAM_DESCRIPTION = 'Each chunk is `id: <seq>`, `event: chunk`, `data: {"seq","content","added_at"}`; at the end `event: finished` with `{"status"}`. Resume with `Last-Event-ID`.';

/** A build's or a run's output as Server-Sent Events: what is stored, then live, resumable. */
export async function sendOutputStream(
  request: FastifyRequest,
  reply: FastifyReply,
  follow: (options: { afterSeq: number; signal: AbortSignal; idleMs: number }) => Promise<AsyncIterable<OutputBatch>>,
): Promise<void> {
  const afterSeq = lastEventIdOf(request, 'seq of the last chunk received') ?? -1;
  await sendEventStream(
    request,
    reply,
    (signal) => follow({ afterSeq, signal, idleMs: KEEP_ALIVE_MS }),
    (batch) => batch.chunks.map((k) => sseEvent(k.seq, 'chunk', { seq: k.seq, content: k.content, added_at: k.created_at })).join('') + (batch.finished ? sseEvent(null, 'finished', { status: batch.finished }) : ''),
  );
}
