import type { FieldErrors } from '../errors.ts';
import type { TaskHandlerRegistry } from './handlers.ts';

/**
 * `noop`: does nothing and succeeds. Any user with `task:write` may enqueue it: it checks the
 * whole task pipeline (API, queue, workers, events), as a ping would.
 */
export function registerBuiltinTaskHandlers(registry: TaskHandlerRegistry): void {
  registry.register('noop', {
    userCreatable: true,
    mayCancel: true,
    validateInput: (input): FieldErrors => (Object.keys(input).length ? { input: ['A noop task takes no input.'] } : {}),
    run: async () => ({}),
  });
}
