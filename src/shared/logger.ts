import pino, { type Logger } from 'pino';

/**
 * JSON-lines logger. Level policy: `error` for failures that need a person, `warn` for
 * retries and degraded upstreams, `info` for starts, stops and job results with counts,
 * `debug` per item. Fields that could hold personal data are redacted by path.
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['idNumber', '*.idNumber', 'idNumbers', 'phone', '*.phone', 'descriptor', '*.descriptor', 'secret', '*.secret', 'appSecret', 'password', '*.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
