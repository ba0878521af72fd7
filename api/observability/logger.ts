import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { AppConfig } from '../config';

/**
 * JSON lines on stdout (or `destination`): `{"level":"info","time":"…","service":"api","request_id":…,"msg":…}`.
 * LOG_LEVEL sets the threshold.
 */
export function createLogger(config: Pick<AppConfig, 'LOG_LEVEL'>, service = 'api', destination?: DestinationStream): PinoLogger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
