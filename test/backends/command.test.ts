import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CommandFailed, run, succeeds } from '../../src/backends/command.ts';
import { eventually } from '../support/eventually.ts';

/** Pids of spawner processes whose environment carries `marker`. */
function spawnersMarked(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('spawner-process.mjs') && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('host commands', () => {
  it('run with arguments and stdin, and give back stdout and the exit code', async () => {
    const echoed = await run('sh', ['-c', 'cat; echo "$0" >&2', 'arg with spaces'], { input: 'from stdin\n' });
    assert.deepEqual(echoed, { stdout: 'from stdin\n', stderr: 'arg with spaces\n', exitCode: 0 });
    assert.equal((await run('sh', ['-c', 'exit 3'], { okCodes: [0, 3] })).exitCode, 3);
  });

  it('fail with the command, its stderr and why', async () => {
    await assert.rejects(run('sh', ['-c', 'echo boom >&2; exit 2']), (error: unknown) => error instanceof CommandFailed && error.exitCode === 2 && /sh -c .* failed \(exit 2\): boom/.test(error.message));
    await assert.rejects(run('nimbus-no-such-program', []), (error: unknown) => error instanceof CommandFailed && error.exitCode === null && /not installed/.test(error.message));
    await assert.rejects(run('sleep', ['5'], { timeoutMs: 100 }), (error: unknown) => error instanceof CommandFailed && /timed out/.test(error.message));
    assert.equal(await succeeds('false', []), false);
  });

  it('append to a file instead of a pipe when asked', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-command-'));
    try {
      const file = path.join(dir, 'out.log');
      await run('sh', ['-c', 'echo one'], { outputFile: file });
      await run('sh', ['-c', 'echo two >&2'], { outputFile: file, detached: true });
      assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run many at once, each answered with its own output', async () => {
    const outputs = await Promise.all(Array.from({ length: 40 }, (_, i) => run('echo', [String(i)])));
    assert.deepEqual(outputs.map((o) => o.stdout), Array.from({ length: 40 }, (_, i) => `${i}\n`));
  });

  it('leave no helper process behind when the process using them is killed', async () => {
    const marker = `NIMBUS_SPAWNER_TEST=${randomUUID()}`;
    const [name, value] = marker.split('=') as [string, string];
    const program = `import { run } from ${JSON.stringify(path.resolve('src/backends/command.ts'))}; await run('true', []); console.log('ran'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { env: { ...process.env, [name]: value }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (chunk) => String(chunk).includes('ran') && resolve()));
    assert.equal(spawnersMarked(value).length, 1, 'the helper runs while its user does');
    child.kill('SIGKILL');
    await eventually('the helper to exit', async () => (spawnersMarked(value).length === 0 ? true : undefined), 5_000);
    assert.deepEqual(spawnersMarked(value), []);
  });
});
