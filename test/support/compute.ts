import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { ComputeConfig, Nimbus } from '../../src/app.ts';
import { COMPUTE_DEFAULTS } from '../../src/config.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import type { TestDatabase } from './databases.ts';

/**
 * Compute for tests: each test app gets its own compute root under the temp directory and its
 * own /16 network range (claimed with a lock file, so parallel test files never share bridges
 * or subnets), and everything it made on the host is released when it closes.
 */

const CLAIMS = path.join(os.tmpdir(), 'nimbus-test-network-ranges');
/** 10.200.0.0/16 to 10.254.0.0/16 belong to tests. */
const FIRST_RANGE = 200;
const RANGES = 55;

/** Why compute tests cannot run here, or null when they can. */
export function computeSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'compute tests need root (servers are runc containers with their own network namespaces)';
  if (spawnSync('runc', ['--version']).status !== 0) return 'compute tests need runc: apt-get install runc';
  if (spawnSync('nft', ['--version']).status !== 0) return 'compute tests need nftables: apt-get install nftables';
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Claims a free test range for this process; a claim whose process is gone is taken over. */
/** A bridge left behind by a killed run still holds addresses in its range: skip that range. */
function rangeInUse(k: number): boolean {
  const prefix = `10.${FIRST_RANGE + k}.`;
  return Object.values(os.networkInterfaces()).some((addresses) => addresses?.some((a) => a.address.startsWith(prefix)));
}

function claimRange(): { k: number; release(): void } {
  fs.mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < RANGES * 2; attempt++) {
    const k = (process.pid + attempt) % RANGES;
    const file = path.join(CLAIMS, String(k));
    if (rangeInUse(k)) continue;
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return { k, release: () => fs.rmSync(file, { force: true }) };
    } catch {
      const owner = Number(fs.readFileSync(file, 'utf8').trim() || 0);
      if (!alive(owner)) fs.rmSync(file, { force: true });
    }
  }
  throw new Error('no free test network range: too many compute tests at once');
}

export interface ComputeTestSettings {
  config: ComputeConfig;
  /** Releases the range and removes the directories (after the host let go of everything). */
  dispose(): void;
}

export function computeTestSettings(): ComputeTestSettings {
  const range = claimRange();
  const computeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-compute-'));
  return {
    config: {
      computeDir,
      networkRange: `10.${FIRST_RANGE + range.k}.0.0/16`,
      runcPath: undefined,
      hostId: `test-${process.pid}`,
      stopTimeoutSeconds: 2,
      destroyedRetentionSeconds: 86_400,
      imageUploadLimit: 64 * 1024 * 1024,
      imageMaxBytes: 256 * 1024 * 1024,
      imageMaxFiles: 20_000,
      serverNat: false,
      serverIdRange: COMPUTE_DEFAULTS.serverIdRange,
      serverPool: COMPUTE_DEFAULTS.serverPool,
    },
    dispose() {
      fs.rmSync(computeDir, { recursive: true, force: true });
      fs.rmSync(`${computeDir}-uploads`, { recursive: true, force: true });
      range.release();
    },
  };
}

/** The ids of what the app's store knows, read before it closes, for `releaseCompute`. */
export async function knownCompute(nimbus: Nimbus): Promise<{ servers: string[]; volumes: string[] }> {
  const { db } = nimbus.store;
  return {
    servers: (await db.selectFrom('servers').select('id').execute()).map((r) => r.id),
    volumes: (await db.selectFrom('volumes').select('id').execute()).map((r) => r.id),
  };
}

/** Stops and removes every server, volume and app process the app made, then lets the host release anything else of its root. */
export async function releaseCompute(nimbus: Nimbus, known: { servers: string[]; volumes: string[] }): Promise<string[]> {
  const host = nimbus.services.compute.host;
  for (const id of known.servers) {
    await host.servers.stop(id, { timeoutMs: 1000 }).catch(() => undefined);
    await host.servers.remove(id).catch(() => undefined);
  }
  for (const id of known.volumes) await host.volumes.remove(id).catch(() => undefined);
  // App processes outlive the server (as they do in production): a test that leaves one running (an order's) ends it here.
  const apps = await nimbus.services.apps.host.sweep({ processes: new Set(), slugs: new Set() });
  return [...apps, ...(await host.sweep({ servers: new Set(), volumes: new Set(), networks: new Set() }))];
}

/** A test app that runs servers (see `startTestApp`'s `compute`). */
export async function startComputeTestApp(database: TestDatabase, options: Omit<TestAppOptions, 'compute'> & { compute?: Exclude<TestAppOptions['compute'], boolean> } = {}): Promise<TestApp> {
  return startTestApp(database, { ...options, compute: options.compute ?? true });
}
