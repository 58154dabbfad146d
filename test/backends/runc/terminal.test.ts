import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ComputeRejected, type ServerSpec, type Terminal } from '../../../src/backends/compute-host.ts';
import { eventually } from '../../support/eventually.ts';
import { BackendFixture, SKIP_REASON } from './fixture.ts';

/** Everything a terminal has written so far, as text. */
function recorder(terminal: Terminal) {
  let output = '';
  terminal.onOutput((chunk) => {
    assert.ok(Buffer.isBuffer(chunk));
    output += chunk.toString('utf8');
  });
  return {
    get output() {
      return output;
    },
    /** Waits until `text` is shown, at `from` (an earlier length of the output) or after. */
    shows: (text: string, from = 0) => eventually(`the terminal to show ${JSON.stringify(text)}`, async () => (output.includes(text, from) ? true : undefined), 10_000),
  };
}

describe('runc host: terminals', { skip: SKIP_REASON ?? false, timeout: 120_000 }, () => {
  let fixture: BackendFixture;
  let server: ServerSpec;

  before(async () => {
    fixture = new BackendFixture();
    server = await fixture.server({ network: fixture.network(), hostNumber: 10 });
    await fixture.host.servers.start(server);
  });
  after(async () => {
    await fixture?.dispose();
  });

  it('is a real terminal in the server: a tty, the size asked for, resizes, job control, the exit code', async () => {
    const terminal = await fixture.host.servers.terminal(server.id, { rows: 30, cols: 100 });
    const screen = recorder(terminal);
    terminal.write(Buffer.from('tty; stty size; echo "term=$TERM"\r'));
    // The last line of the three: the shell may write them in separate chunks.
    await screen.shows('term=xterm-256color\r\n');
    assert.match(screen.output, /\/dev\/pts\/\d+\r\n30 100\r\n/);
    terminal.resize(40, 120);
    terminal.write(Buffer.from('stty size\r'));
    await screen.shows('40 120');
    // Job control: a foreground job stopped with ^Z, listed, brought back and interrupted with ^C.
    terminal.write(Buffer.from('sleep 100\r'));
    await screen.shows('sleep 100\r\n');
    terminal.write(Buffer.from([0x1a]));
    await screen.shows('Stopped');
    const beforeFg = screen.output.length;
    terminal.write(Buffer.from('fg\r'));
    // fg names the job it resumes; the job has the terminal a moment after.
    await screen.shows('sleep 100', beforeFg + 'fg'.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    terminal.write(Buffer.from([0x03]));
    terminal.write(Buffer.from('echo "after $?"\r'));
    await screen.shows('after 130');
    terminal.write(Buffer.from('exit 7\r'));
    assert.equal(await terminal.exited, 7);
  });

  it("runs as the user asked for, in their home, with their login shell", async () => {
    const terminal = await fixture.host.servers.terminal(server.id, { rows: 24, cols: 80, username: 'nimbus' });
    const screen = recorder(terminal);
    terminal.write(Buffer.from('echo "$(id -u):$(pwd)"; exit\r'));
    await screen.shows('1000:/home/nimbus');
    assert.equal(await terminal.exited, 0);
  });

  it('ends a shell that is closed, jobs and all', async () => {
    const terminal = await fixture.host.servers.terminal(server.id, { rows: 24, cols: 80 });
    const screen = recorder(terminal);
    // A shell that ignores the hang-up, with a job in the background.
    terminal.write(Buffer.from('trap "" HUP; sleep 321 & echo ready\r'));
    await screen.shows('ready');
    terminal.close();
    terminal.close();
    await terminal.exited;
    const left = await fixture.exec(server.id, 'ps -o args');
    assert.doesNotMatch(left.output, /sleep 321|\/bin\/sh -l/);
  });

  it('refuses a size out of bounds and an unknown user', async () => {
    await assert.rejects(fixture.host.servers.terminal(server.id, { rows: 0, cols: 80 }), ComputeRejected);
    await assert.rejects(fixture.host.servers.terminal(server.id, { rows: 24, cols: 80, username: 'mallory' }), ComputeRejected);
  });
});
