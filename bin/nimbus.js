#!/usr/bin/env node
// Entry point of the `nimbus` command: TypeScript sources run through tsx's loader, so
// there is no build step and nothing generated to ship.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
