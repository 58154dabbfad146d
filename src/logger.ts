import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs. Credentials never reach them: handlers do not log headers or bodies, and these
 * paths are redacted wherever an object carrying them is logged by mistake.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'nimbus' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-auth-token"]',
          'req.headers["mc-api-key"]',
          'req.headers.cookie',
          // Fields of the object logged itself, and of the objects in it.
          'password',
          'token',
          'secret',
          'key',
          '*.password',
          '*.token',
          '*.secret',
          '*.key',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
