import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { DnsSettings } from './model.ts';
import { parseSecondary } from './model.ts';
import { parentOf } from './names.ts';
import { buildSnapshot, type ZoneSnapshot } from './snapshot.ts';

/** Without a wake-up, the zone list is read again this often (a lost notification costs this much). */
const POLL_MS = 5_000;

interface ZoneVersion {
  id: string;
  serial: number;
}

/**
 * The zones the DNS server answers from, kept in memory. The list of zones (name, serial) is
 * read again whenever a change is committed anywhere (the `dns` wake-up, LISTEN/NOTIFY across
 * replicas), at once in the process that made it, and every few seconds regardless; a zone's
 * records are loaded when it is first asked about and dropped when its serial moves.
 */
export function createDnsCatalog({ store, notifier, settings }: { store: Store; notifier: Notifier; settings: DnsSettings }) {
  const { db } = store;
  let versions: Map<string, ZoneVersion> | null = null;
  /** Bumped by every change heard of; a read of the zone list belongs to the generation it started in. */
  let generation = 0;
  let applied = -1;
  let reading: { generation: number; done: Promise<Map<string, ZoneVersion>> } | null = null;
  /** A change this process made: the next question waits for the list to be read again. */
  let stale = true;
  const snapshots = new Map<string, { serial: number; snapshot: Promise<ZoneSnapshot> }>();
  let stopWatching: (() => void) | null = null;
  let timer: NodeJS.Timeout | null = null;

  function read(): Promise<Map<string, ZoneVersion>> {
    if (reading?.generation === generation) return reading.done;
    const started = generation;
    const done = (async () => {
      const rows = await db.selectFrom('dns_zones').select(['id', 'name', 'serial']).execute();
      const next = new Map(rows.map((r) => [r.name, { id: r.id, serial: Number(r.serial) }]));
      if (started > applied) {
        applied = started;
        versions = next;
        const live = new Map(rows.map((r) => [r.id, Number(r.serial)]));
        for (const [id, cached] of snapshots) if (live.get(id) !== cached.serial) snapshots.delete(id);
      }
      if (started === generation) stale = false;
      return next;
    })();
    reading = { generation: started, done };
    done.catch(() => undefined).finally(() => {
      if (reading?.done === done) reading = null;
    });
    return done;
  }

  /** The zone list: as last read, unless this process changed a zone since. */
  async function current(): Promise<Map<string, ZoneVersion>> {
    return !stale && versions ? versions : read();
  }

  async function load(id: string, serial: number): Promise<ZoneSnapshot> {
    // The zone row first: records read after it are at least as new as its serial, and a newer
    // serial (read at the next check) replaces this snapshot.
    const zone = await db.selectFrom('dns_zones').selectAll().where('id', '=', id).executeTakeFirst();
    if (!zone) throw new Error(`zone ${id} vanished`);
    const rows = await db.selectFrom('dns_records').selectAll().where('zone_id', '=', id).orderBy('name').orderBy('type').orderBy('id').execute();
    const allowed = new Set([...(JSON.parse(zone.secondaries) as string[]), ...settings.secondaries].map((s) => parseSecondary(s)?.address).filter((a): a is string => !!a));
    const snapshot = buildSnapshot(zone, rows, settings, allowed);
    if (snapshot.serial !== serial) snapshots.delete(id);
    return snapshot;
  }

  /** The zone holding `name` (the longest matching zone name), or null when none does. */
  async function zoneFor(name: string): Promise<ZoneSnapshot | null> {
    const zones = await current();
    for (let candidate: string | null = name; candidate !== null && candidate !== ''; candidate = parentOf(candidate)) {
      const version = zones.get(candidate);
      if (!version) continue;
      let cached = snapshots.get(version.id);
      if (!cached || cached.serial !== version.serial) {
        cached = { serial: version.serial, snapshot: load(version.id, version.serial) };
        snapshots.set(version.id, cached);
        cached.snapshot.catch(() => snapshots.delete(version.id));
      }
      return cached.snapshot;
    }
    return null;
  }

  /** A change committed by this process: the next question reads the zone list again first. */
  function invalidate(): void {
    generation++;
    stale = true;
  }

  /** A change committed elsewhere (or the periodic check): the list is read again while answers go on. */
  function refresh(): void {
    generation++;
    read().catch(() => undefined);
  }

  /** Follows changes made by other processes (and polls, in case a wake-up is lost). */
  function start(): void {
    if (stopWatching) return;
    stopWatching = notifier.subscribe('dns', refresh);
    timer = setInterval(refresh, POLL_MS);
    timer.unref();
  }

  function close(): void {
    stopWatching?.();
    stopWatching = null;
    if (timer) clearInterval(timer);
    timer = null;
  }

  return { zoneFor, invalidate, start, close };
}

export type DnsCatalog = ReturnType<typeof createDnsCatalog>;
