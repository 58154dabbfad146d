// The router's side toward the app's processes: kept-alive HTTP/1.1 connections, each request's
// head written as one string and each answer read by llhttp, Node's own strict HTTP parser. It
// replaces node:http's client (ClientRequest, Agent, an IncomingMessage per answer), which cost
// the router about half of its CPU per request; the side toward clients stays node:http's server.
import { createRequire } from 'node:module';
import net from 'node:net';

/** Node's binding of llhttp, as node:http's client and server drive it (stable from Node.js 20 to 24). */
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  [callback: number]: unknown;
}
interface ParserConstructor {
  new (): Parser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserConstructor };

/** A process, as the router addresses it. */
export interface Backend {
  /** `address:port`, as access lines name it. */
  name: string;
  address: string;
  port: number;
}

/** What a request is told of its answer; every call but `onError` comes at most once, in order. */
export interface Exchange {
  /** The answer's status and raw headers (name, value, ...); informational (1xx) answers are skipped. */
  onHead(status: number, rawHeaders: string[]): void;
  /** A piece of the body, without its framing; false asks for no more until `resume`. */
  onBody(chunk: Buffer): boolean;
  onEnd(): void;
  /** The exchange failed; `answered` says whether its head had come. */
  onError(error: NodeJS.ErrnoException, answered: boolean): void;
}

/** A request under way: `resume` after `onBody` returned false, `abort` when its client went away. */
export interface Sent {
  resume(): void;
  abort(): void;
}

/** The body of a request, streamed to the process as it comes. */
interface RequestBody {
  source: NodeJS.ReadableStream;
  /** Its length is not known ahead (the client sent it chunked): it is sent chunked. */
  chunked: boolean;
}

/** How long an idle connection is kept: less than the 5 s Node.js servers keep theirs, so the router seldom reuses one the process is closing. */
const IDLE_MS = 4_000;
const MAX_IDLE_PER_BACKEND = 64;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** Whether a status is an interim answer before the real one (101 is an upgrade, which never comes this way). */
const informational = (status: number) => status >= 100 && status < 200 && status !== 101;

function failure(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** One kept-alive connection to a process, carrying one exchange at a time. */
class Connection {
  readonly socket: net.Socket;
  private readonly parser = new HTTPParser();
  private exchange?: Exchange;
  /** Header pairs llhttp handed over before the head was complete (a head with very many headers). */
  private headers: string[] = [];
  private answered = false;
  private skipBody = false;
  private keepAlive = false;
  private bodySent = true;
  private closed = false;

  constructor(
    readonly backend: Backend,
    private readonly release: (connection: Connection) => void,
    private readonly forget: (connection: Connection) => void,
  ) {
    this.socket = net.connect({ host: backend.address, port: backend.port, noDelay: true });
    this.parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    this.parser[HTTPParser.kOnHeaders] = (headers: string[]) => this.headers.push(...headers);
    this.parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown, status: number, _message: string, upgrade: boolean, keepAlive: boolean) => {
      const raw = headers ?? this.headers;
      this.headers = [];
      // An answer after the one asked for, in the same bytes: the connection is closed rather than lend it to the next request.
      if (!this.exchange) {
        this.destroy();
        return 1;
      }
      if (upgrade) {
        // An upgrade the router did not ask for: the connection cannot be read as HTTP any more.
        this.fail(failure(`the process answered ${status} with an upgrade`, 'EPROTO'));
        return 0;
      }
      if (informational(status)) return 1;
      this.answered = true;
      this.keepAlive = keepAlive;
      this.exchange.onHead(status, raw);
      // A HEAD's answer and a 304 announce a body they do not carry.
      return this.skipBody || status === 304 ? 1 : 0;
    };
    this.parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
      if (this.exchange && !this.exchange.onBody(chunk)) this.socket.pause();
    };
    this.parser[HTTPParser.kOnMessageComplete] = () => {
      const exchange = this.exchange;
      // An interim answer's end (the real one follows), or an exchange aborted meanwhile.
      if (!this.answered || !exchange) return;
      this.exchange = undefined;
      // A process that answered before the request's body was all sent: the connection is mid-request.
      if (this.keepAlive && this.bodySent) this.release(this);
      else this.destroy();
      exchange.onEnd();
    };
    this.socket.on('data', (data: Buffer) => {
      // Bytes no request asked for: the connection is closed rather than lend them to the next request.
      if (!this.exchange) return this.destroy();
      const parsed = this.parser.execute(data);
      if (parsed instanceof Error) this.fail(failure(`the process's answer is not valid HTTP: ${parsed.message}`, 'EPROTO'));
    });
    this.socket.on('end', () => {
      // An answer delimited by the connection's end is complete now.
      const finished = this.exchange ? this.parser.finish() : undefined;
      if (finished instanceof Error) this.fail(failure(`the process's answer ended early: ${finished.message}`, 'EPROTO'));
      else this.fail(failure('the process closed the connection', 'ECONNRESET'));
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error));
    this.socket.on('close', () => this.fail(failure('the connection to the process closed', 'ECONNRESET')));
    this.socket.on('timeout', () => this.destroy());
  }

  /** Writes a request's head (and streams its body) on this connection. */
  send(head: string, skipBody: boolean, body: RequestBody | undefined, exchange: Exchange): Sent {
    this.socket.setTimeout(0);
    this.exchange = exchange;
    this.answered = false;
    this.skipBody = skipBody;
    this.bodySent = !body;
    this.socket.write(head);
    if (body) this.stream(body);
    return {
      resume: () => {
        if (this.exchange === exchange) this.socket.resume();
      },
      abort: () => {
        if (this.exchange === exchange) {
          this.exchange = undefined;
          this.destroy();
        }
      },
    };
  }

  /** Parks the connection in the pool: it is closed after `IDLE_MS` unused, or when the process closes it. */
  idle(): void {
    // Its last answer may have ended with the socket paused for a slow client; idle, it must see the process close it.
    this.socket.resume();
    this.socket.setTimeout(IDLE_MS);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this);
    this.socket.destroy();
    // Freed once the parser's callbacks have unwound (as node:http does).
    setImmediate(() => this.parser.close());
  }

  private stream({ source, chunked }: RequestBody): void {
    const onData = (chunk: Buffer) => {
      if (this.closed || !chunk.length) return;
      const flowing = chunked ? this.writeChunk(chunk) : this.socket.write(chunk);
      if (!flowing) {
        source.pause();
        this.socket.once('drain', () => source.resume());
      }
    };
    source.on('data', onData);
    source.once('end', () => {
      if (this.closed) return;
      if (chunked) this.socket.write(LAST_CHUNK);
      this.bodySent = true;
    });
  }

  private writeChunk(chunk: Buffer): boolean {
    this.socket.cork();
    this.socket.write(`${chunk.length.toString(16)}\r\n`);
    this.socket.write(chunk);
    const flowing = this.socket.write('\r\n');
    this.socket.uncork();
    return flowing;
  }

  private fail(error: NodeJS.ErrnoException): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.destroy();
    exchange?.onError(error, this.answered);
  }
}

/**
 * Kept-alive connections to the processes, by `address:port`: a request takes an idle one or
 * opens one, and gives it back once its answer has been read whole.
 */
export function createUpstreams() {
  const idle = new Map<string, Connection[]>();
  const all = new Set<Connection>();

  const forget = (connection: Connection) => {
    all.delete(connection);
    const parked = idle.get(connection.backend.name);
    const at = parked?.indexOf(connection) ?? -1;
    if (at >= 0) parked!.splice(at, 1);
  };
  const release = (connection: Connection) => {
    const parked = idle.get(connection.backend.name) ?? [];
    if (parked.length >= MAX_IDLE_PER_BACKEND) return connection.destroy();
    idle.set(connection.backend.name, parked);
    parked.push(connection);
    connection.idle();
  };

  return {
    /**
     * Sends a request to `backend`: `head` is its request line and headers, ready to write
     * (`\r\n\r\n` included); `skipBody` when its answer carries no body (HEAD).
     */
    send(backend: Backend, head: string, options: { skipBody: boolean; body?: RequestBody }, exchange: Exchange): Sent {
      let connection = idle.get(backend.name)?.pop();
      if (!connection) {
        connection = new Connection(backend, release, forget);
        all.add(connection);
      }
      return connection.send(head, options.skipBody, options.body, exchange);
    },
    /** Closes every connection, idle or busy. */
    destroy(): void {
      for (const connection of [...all]) connection.destroy();
    },
  };
}
