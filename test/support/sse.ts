/** A Server-Sent Events client for tests: reads `id`/`event`/`data` messages off a fetch stream. */
export interface SseMessage {
  id: number;
  event: string;
  data: { id: number; type: string; organization: string; resource: { type: string; id: string } | null; [key: string]: unknown };
}

export interface SseStream {
  status: number;
  /** Waits until `count` more messages arrived (or `timeoutMs` passed) and returns what came. */
  take(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** Messages received so far and not taken yet. */
  pending(): SseMessage[];
  /** Resolves true once the server ended the stream, false when `timeoutMs` passed first. */
  ended(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export async function openEventStream(url: string, token: string, lastEventId?: number, authorization = `token="${token}"`): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
    signal: controller.signal,
  });
  const queue: SseMessage[] = [];
  let notify = null as (() => void) | null;
  let ended = false;
  let endedBy: () => void = () => {};
  const endedPromise = new Promise<void>((resolve) => (endedBy = resolve));
  if (response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = Object.fromEntries(
              block
                .split('\n')
                .filter((line) => line && !line.startsWith(':'))
                .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
            );
            if (fields.data !== undefined) queue.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) });
            notify?.();
          }
        }
      } catch {
        // aborted by close()
      }
      ended = true;
      endedBy();
      notify?.();
    })();
  } else endedBy();
  return {
    status: response.status,
    async take(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length < count && !ended && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, Math.max(0, deadline - Date.now()));
        });
        notify = null;
      }
      return queue.splice(0, Math.min(count, queue.length));
    },
    pending: () => queue.splice(0),
    ended: (timeoutMs) => Promise.race([endedPromise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs))]),
    close: () => controller.abort(),
  };
}
