#!/usr/bin/env node
// Entry point of the `nimbus` command: the JavaScript `npm ci` compiled into dist/ (its
// `prepare` script). Development and the tests run the TypeScript sources instead
// (`npm run dev`, `node --import tsx src/cli/main.ts`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('nimbus: dist/ is missing; build it with `npm run build` (npm ci does it)\n');
  process.exit(1);
}
await import(main.href);
