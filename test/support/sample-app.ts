import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';

/**
 * The sample Node.js app of the apps tests: an HTTP server on $PORT answering with its
 * release's `VERSION`, its process index and a variable, a `/ws` echo over a raw upgrade, and a
 * worker. `build` adds a build script that writes the file the server serves.
 */
export const SAMPLE_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const built = fs.existsSync('built.txt') ? fs.readFileSync('built.txt', 'utf8').trim() : 'unbuilt';
const server = http.createServer((req, res) => {
  if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(3), 10); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ version: process.env.VERSION || 'none', container: process.env.CONTAINER || '', greeting: process.env.GREETING || '', built, url: req.url, headers: req.headers }));
});
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.pipe(socket);
});
server.listen(Number(process.env.PORT), () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export interface SampleOptions {
  version?: string;
  /** Replaces the Procfile (null: none). */
  procfile?: string | null;
  /** A build script (`npm run build`); `fail` makes it exit 1. */
  build?: 'ok' | 'fail';
  /** Under one top directory, as `git archive --prefix` makes it. */
  prefix?: string;
  extra?: Record<string, string>;
}

/** Writes the sample app to a fresh directory and packs it as a .tar.gz; returns the archive's bytes. */
export async function sampleArchive(options: SampleOptions = {}): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-sample-'));
  const root = options.prefix ? path.join(dir, options.prefix) : dir;
  fs.mkdirSync(root, { recursive: true });
  const scripts: Record<string, string> = { start: 'node server.js' };
  if (options.build) scripts.build = options.build === 'ok' ? "node -e \"require('fs').writeFileSync('built.txt', 'built')\"" : 'echo failing on purpose && exit 1';
  const files: Record<string, string> = {
    'server.js': SAMPLE_SERVER.replace("process.env.VERSION || 'none'", `process.env.VERSION || ${JSON.stringify(options.version ?? 'v1')}`),
    'package.json': JSON.stringify({ name: 'sample', version: '1.0.0', scripts }),
    'package-lock.json': JSON.stringify({ name: 'sample', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'sample', version: '1.0.0' } } }),
    ...(options.procfile === null ? {} : { Procfile: options.procfile ?? 'web: node server.js\nworker: while true; do echo working; sleep 5; done\n' }),
    ...options.extra,
  };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(root, name), content);
  const file = path.join(dir, 'app.tar.gz');
  await tar.c({ file, gzip: true, cwd: dir, portable: true }, options.prefix ? [options.prefix] : Object.keys(files));
  const bytes = fs.readFileSync(file);
  fs.rmSync(dir, { recursive: true, force: true });
  return bytes;
}
