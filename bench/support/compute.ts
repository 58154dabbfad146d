import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuncHost } from '../../src/backends/runc/index.ts';
import { startNimbus, type NimbusProcess } from './processes.ts';

export interface ComputeNimbus {
  nimbus: NimbusProcess;
  computeDir: string;
  /** A request as the admin; the parsed answer, or an error for any status from 300 up. */
  api(method: string, url: string, body?: unknown): Promise<any>;
  /** Stops the server and releases what it left on the host (bridges, mounts...). Returns what was released. */
  stop(): Promise<string[]>;
}

/**
 * A real `nimbus serve` that runs servers, for the benches that need them; when this machine
 * cannot (not root, no runc), says so and exits 0, as a bench that does not apply.
 */
export async function startComputeNimbus(bench: string, env: Record<string, string>): Promise<ComputeNimbus> {
  if (process.getuid?.() !== 0 || spawnSync('runc', ['--version']).status !== 0) {
    console.error(`${bench} bench: needs root and runc (apt-get install runc); skipped`);
    process.exit(0);
  }
  const computeDir = fs.mkdtempSync(path.join(os.tmpdir(), `nimbus-bench-${bench}-`));
  const nimbus = await startNimbus({ NIMBUS_COMPUTE_DIR: computeDir, ...env });
  return {
    nimbus,
    computeDir,
    async api(method, url, body) {
      const res = await fetch(`${nimbus.baseUrl}${url}`, {
        method,
        headers: { authorization: `token="${nimbus.token}"`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await res.json();
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      await nimbus.stop();
      const released = await createRuncHost({ root: computeDir }).sweep({ servers: new Set(), volumes: new Set(), networks: new Set() });
      fs.rmSync(computeDir, { recursive: true, force: true });
      return released;
    },
  };
}
