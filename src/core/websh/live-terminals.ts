import type { Terminal } from '../../backends/compute-host.ts';

/** One WebSocket watching (and, unless read-only, typing into) a session's terminal. */
export interface Viewer {
  /** Sends the terminal's bytes; `sent` is called once they have left this process. */
  send(chunk: Buffer, sent: () => void): void;
  /**
   * Ends the viewer's connection: `ended` when the shell ended, `overloaded` when it could not
   * keep up, `denied` when its credential no longer stands (revoked, expired, its user deactivated).
   */
  end(reason: 'ended' | 'overloaded' | 'failed' | 'denied', message?: string): void;
}

/** What a viewer does to the terminal it joined. */
export interface Attachment {
  input(bytes: Buffer): void;
  resize(rows: number, cols: number): void;
  /** The viewer left; when the session's own viewer leaves, the shell is closed. */
  leave(): void;
}

/**
 * Output bytes a viewer may have in flight before it is held back: the session's own viewer
 * pauses the shell (it waits for the reader, as a terminal does); another one is dropped.
 */
export const VIEWER_BACKLOG_BYTES = 1024 * 1024;

interface LiveTerminal {
  terminal: Terminal;
  viewers: Set<Viewer>;
  /** Settles once the shell has ended and `ended` has run. */
  done: Promise<void>;
}

/**
 * The open terminals of this process, by session. A terminal's output goes to every viewer as
 * bytes, never interpreted; a slow viewer cannot make the process hold a server's output
 * without bound.
 */
export function createLiveTerminals() {
  const live = new Map<string, LiveTerminal>();

  function attach(entry: LiveTerminal, viewer: Viewer, options: { readOnly: boolean; isOwner: boolean }): Attachment {
    let inFlight = 0;
    let gone = false;
    entry.viewers.add(viewer);
    const leave = () => {
      if (gone) return;
      gone = true;
      entry.viewers.delete(viewer);
      if (options.isOwner) entry.terminal.close();
    };
    const deliver = (chunk: Buffer) => {
      if (gone) return;
      inFlight += chunk.length;
      viewer.send(chunk, () => {
        inFlight -= chunk.length;
        if (options.isOwner && inFlight <= VIEWER_BACKLOG_BYTES / 2) entry.terminal.resume();
      });
      if (inFlight <= VIEWER_BACKLOG_BYTES) return;
      if (options.isOwner) {
        entry.terminal.pause();
      } else {
        leave();
        viewer.end('overloaded');
      }
    };
    entry.terminal.onOutput(deliver);
    return {
      input: (bytes) => {
        if (!gone && !options.readOnly) entry.terminal.write(bytes);
      },
      resize: (rows, cols) => {
        if (!gone && options.isOwner) entry.terminal.resize(rows, cols);
      },
      leave,
    };
  }

  return {
    /**
     * Runs `terminal` for session `id` with `owner` as its first viewer; `ended` is called once
     * with the shell's exit code, after every viewer was ended, and the session stays known here
     * until it has settled.
     */
    start(id: string, terminal: Terminal, owner: Viewer, ended: (exitCode: number) => Promise<void>): Attachment {
      const viewers = new Set<Viewer>();
      const done = terminal.exited.then((exitCode) => {
        for (const viewer of viewers) viewer.end('ended');
        viewers.clear();
        return ended(exitCode).finally(() => live.delete(id));
      });
      const entry: LiveTerminal = { terminal, viewers, done };
      live.set(id, entry);
      return attach(entry, owner, { readOnly: false, isOwner: true });
    },
    /** Adds a viewer to a running session's terminal; undefined when it is not running here. */
    join(id: string, viewer: Viewer, options: { readOnly: boolean }): Attachment | undefined {
      const entry = live.get(id);
      return entry && attach(entry, viewer, { readOnly: options.readOnly, isOwner: false });
    },
    /** Closes a session's shell, when it runs here: settles once it has ended (undefined when it does not run here). */
    close(id: string): Promise<void> | undefined {
      const entry = live.get(id);
      entry?.terminal.close();
      return entry?.done;
    },
    closeAll(): void {
      for (const entry of live.values()) entry.terminal.close();
    },
  };
}

export type LiveTerminals = ReturnType<typeof createLiveTerminals>;
