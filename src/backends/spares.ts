import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { listDir } from './files.ts';

/** Builds a new spare of `key` at `target` (a path that does not exist yet). */
export type MakeSpare = (key: string, target: string) => Promise<void>;

/**
 * Work that spares are made for and must not slow down, such as server starts: a refill waits
 * until none of it is in flight. On a busy host a start outlasts the refill's delay, and
 * formatting and copying beside it (other processes on the same cores) made its `runc` take
 * two to four times as long.
 */
export class ForegroundWork {
  private running = 0;
  private waiting: (() => void)[] = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      if (--this.running === 0) for (const resolve of this.waiting.splice(0)) resolve();
    }
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** How a store keeps spares: how many per key, and the work their refills wait for. */
export interface SpareSettings {
  spares?: number;
  foreground?: ForegroundWork;
}

export interface SparePoolOptions {
  /** Spares kept ready per key; 0 disables the pool (every take misses, nothing is made). */
  perKey: number;
  /** A refill starts only once none of this is in flight. */
  foreground?: ForegroundWork;
  /** Keys kept at once: the least recently asked-for one beyond this loses its spares. */
  maxKeys?: number;
  /** How long after the last take the refill waits, so it does not compete with the starts that took. */
  refillDelayMs?: number;
}

const PARTIAL = '.partial';
const DEFAULT_MAX_KEYS = 4;
const DEFAULT_REFILL_DELAY_MS = 300;

/**
 * Things made ahead of time and handed out whole, such as formatted root volumes and copies of
 * an image: `<dir>/<key>/<random>`. A spare is built under a `.partial` name and renamed in when
 * complete; taking one renames it out, so two takers never get the same one, and nothing ever
 * goes back into the pool: every spare handed out is one nobody has used.
 *
 * One background refill at a time tops every recently asked-for key up to `perKey`. The pool is
 * bounded (`perKey` x `maxKeys` spares); spares left by a process that died are taken by the
 * next one, and `close` stops refilling and deletes the pool.
 */
export class SparePool {
  private readonly perKey: number;
  private readonly maxKeys: number;
  private readonly refillDelayMs: number;
  /** Keys asked for, least recently first. */
  private readonly wanted: string[] = [];
  private loaded?: Promise<void>;
  private refilling?: Promise<void>;
  private refillAgain = false;
  private timer?: NodeJS.Timeout;
  private lastTake = 0;
  private closed = false;
  private readonly foreground?: ForegroundWork;
  private readonly closing: Promise<void>;
  private markClosing!: () => void;

  constructor(private readonly dir: string, private readonly make: MakeSpare, options: SparePoolOptions) {
    this.perKey = Math.max(0, Math.floor(options.perKey));
    this.foreground = options.foreground;
    this.closing = new Promise((resolve) => (this.markClosing = resolve));
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.refillDelayMs = options.refillDelayMs ?? DEFAULT_REFILL_DELAY_MS;
  }

  get enabled(): boolean {
    return this.perKey > 0 && !this.closed;
  }

  /**
   * Moves a spare of `key` to `target` (on the same filesystem) and returns true, or false when
   * there is none; either way the key is remembered and topped up in the background.
   */
  async take(key: string, target: string): Promise<boolean> {
    if (!this.enabled) return false;
    await this.load();
    this.want(key);
    let taken = false;
    for (const name of await this.complete(key)) {
      try {
        await rename(path.join(this.dir, key, name), target);
        taken = true;
        break;
      } catch (error) {
        // Taken by someone else meanwhile: the next one.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    this.lastTake = Date.now();
    this.scheduleRefill();
    return taken;
  }

  /** Drops the spares of a key whose source is gone (an image removed). */
  async forget(key: string): Promise<void> {
    const at = this.wanted.indexOf(key);
    if (at >= 0) this.wanted.splice(at, 1);
    // After any refill in flight, which may be making one of them.
    await this.refilling;
    await rm(path.join(this.dir, key), { recursive: true, force: true });
  }

  /** Stops refilling, waits for a spare being made, and deletes every spare. */
  async close(): Promise<void> {
    this.closed = true;
    this.markClosing();
    clearTimeout(this.timer);
    await this.refilling;
    await rm(this.dir, { recursive: true, force: true });
  }

  private async complete(key: string): Promise<string[]> {
    return (await listDir(path.join(this.dir, key))).filter((name) => !name.endsWith(PARTIAL));
  }

  /**
   * Once per process: partial spares of a process that died go, complete ones stay to be taken,
   * and their keys are wanted again.
   */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      for (const key of await listDir(this.dir)) {
        for (const name of await listDir(path.join(this.dir, key))) {
          if (name.endsWith(PARTIAL)) await rm(path.join(this.dir, key, name), { recursive: true, force: true });
        }
        if ((await this.complete(key)).length > 0) this.want(key);
        else await rm(path.join(this.dir, key), { recursive: true, force: true });
      }
    })();
    return this.loaded;
  }

  private want(key: string): void {
    const at = this.wanted.indexOf(key);
    if (at >= 0) this.wanted.splice(at, 1);
    this.wanted.push(key);
    while (this.wanted.length > this.maxKeys) {
      const dropped = this.wanted.shift()!;
      void this.forget(dropped).catch(() => undefined);
    }
  }

  /**
   * A refill once takes have paused for `refillDelayMs` and the foreground work is done (a burst
   * of creations is not slowed by making spares beside it).
   */
  private scheduleRefill(): void {
    if (this.closed) return;
    if (this.refilling) {
      this.refillAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refilling = this.afterForeground().then(() => this.refill()).finally(() => {
        this.refilling = undefined;
        if (this.refillAgain) {
          this.refillAgain = false;
          this.scheduleRefill();
        }
      });
    }, this.refillDelayMs);
    this.timer.unref();
  }

  private async afterForeground(): Promise<void> {
    if (this.foreground) await Promise.race([this.foreground.idle(), this.closing]);
  }

  /**
   * Tops each wanted key up, most recently asked-for first, until a take comes (the refill then
   * starts again once takes pause); a key whose spare cannot be made is dropped.
   */
  private async refill(): Promise<void> {
    const started = this.lastTake;
    const interrupted = () => this.closed || this.lastTake !== started;
    for (const key of [...this.wanted].reverse()) {
      try {
        while (!interrupted() && this.wanted.includes(key) && (await this.complete(key)).length < this.perKey) await this.makeOne(key);
      } catch {
        const at = this.wanted.indexOf(key);
        if (at >= 0) this.wanted.splice(at, 1);
      }
    }
  }

  private async makeOne(key: string): Promise<void> {
    const dir = path.join(this.dir, key);
    await mkdir(dir, { recursive: true });
    const name = randomUUID();
    const partial = path.join(dir, `${name}${PARTIAL}`);
    try {
      await this.make(key, partial);
      await rename(partial, path.join(dir, name));
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
  }
}
