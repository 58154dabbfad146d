import type { RouteUpdate } from './router.ts';

/** What the router's thread starts with. */
export interface RouterWorkerData {
  /** The address its listeners listen on. */
  host: string;
  httpPort: number;
  /** 0: no HTTPS listener. */
  httpsPort: number;
  /** The routes to serve from the start (every certificate with its key). */
  routes: RouteUpdate;
  /** Access lines are gathered this long before they are sent. */
  accessFlushMs: number;
}

/** Messages to the router's thread. */
export type ToRouter =
  | { type: 'routes'; routes: RouteUpdate }
  /** Stop accepting, drain for up to `drainMs`, send the last access lines, then end. */
  | { type: 'stop'; drainMs: number };

/** Messages from the router's thread. */
export type FromRouter =
  /** Access lines, each [app id, line, time in ms since the epoch]. */
  | { type: 'access'; lines: [string, string, number][] }
  | { type: 'listening'; scheme: 'http' | 'https'; port: number }
  | { type: 'listen-failed'; scheme: 'http' | 'https'; message: string }
  /** Every listener listens or has failed to. */
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'stopped' };
