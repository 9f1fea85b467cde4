import pino, { type Logger } from 'pino';

/**
 * JSON-lines logger. Level policy: `error` for failures that need a person, `warn` for
 * retries and degraded upstreams, `info` for starts, stops and job results with counts,
 * `debug` per item. Fields that could hold personal data are redacted by path. `time` is
 * epoch milliseconds, or an ISO 8601 UTC string with `isoTime` (log files people read).
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream, options: { isoTime?: boolean } = {}): Logger {
  return pino(
    {
      level,
      base: undefined,
      ...(options.isoTime ? { timestamp: pino.stdTimeFunctions.isoTime } : {}),
      redact: {
        paths: ['idNumber', '*.idNumber', 'idNumbers', 'phone', '*.phone', 'descriptor', '*.descriptor', 'secret', '*.secret', 'appSecret', 'password', '*.password'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
