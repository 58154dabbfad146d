import { WebSocket } from 'ws';
import { eventually } from '../../support/eventually.ts';

/** Rejects when `promise` has not settled within `ms`: no wait on a socket is unbounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A WebSocket as Scalingo's clients use one: JSON text frames in, what it received, how it closed. */
export class JsonSocket {
  readonly socket: WebSocket;
  readonly messages: any[] = [];
  /** Resolves once open; rejects with the HTTP status the handshake was refused with. */
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => reject(Object.assign(new Error(`refused with ${response.statusCode}`), { status: response.statusCode, body: Buffer.concat(chunks).toString() })));
      });
      this.socket.once('error', (error) => reject(error));
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.opened.catch(() => undefined);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** The first message received that `match` accepts, waiting at most `ms`. */
  receive(what: string, match: (message: any) => boolean, ms = 10_000): Promise<any> {
    return eventually(`${what} (received ${JSON.stringify(this.messages).slice(-400)})`, async () => this.messages.find(match), ms);
  }

  /** Closes (if still open) and waits, bounded, for the close. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) this.socket.terminate();
    await within(this.closed, 5_000, 'the socket to close');
  }
}

/** The HTTP status a WebSocket handshake to `url` is refused with, and its body (bounded). */
export async function refusal(url: string): Promise<{ status: number; body: any }> {
  const socket = new JsonSocket(url);
  try {
    await within(socket.opened, 10_000, 'the handshake');
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string };
    if (status === undefined) throw error;
    return { status, body: body ? JSON.parse(body) : null };
  } finally {
    await socket.close();
  }
  throw new Error(`the handshake to ${url} was accepted`);
}
