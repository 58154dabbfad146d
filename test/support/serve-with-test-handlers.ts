// `nimbus serve` with the test task types registered: what the process tests spawn and kill.
import { serve } from '../../src/cli/serve.ts';
import { loadConfig } from '../../src/config.ts';
import { registerTestHandlers } from './test-handlers.ts';

await serve(loadConfig(), (nimbus) => registerTestHandlers(nimbus.services.taskHandlers, nimbus.store.db));
