import { pino, type Logger } from 'pino';

/**
 * Structured logs. Secrets are redacted by path as a second line of defence; the first is
 * that only `redactConfig(config)` is ever logged.
 */
export function createLogger(level: string, name = 'artenic-optimizer'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.password', '*.saslPassword', '*.*.password', '*.*.saslPassword', 'password', 'sasl', '*.sasl', 'authorization', '*.authorization'],
      censor: '***',
    },
  });
}

export type { Logger };
