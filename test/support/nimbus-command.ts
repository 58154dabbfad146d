import path from 'node:path';

/** Arguments to `node` that run the `nimbus` command from its TypeScript sources, as development does. */
export const NIMBUS_FROM_SOURCES = ['--import', 'tsx', path.resolve(import.meta.dirname, '../../src/cli/main.ts')];
