import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Paths pino replaces with "[Redacted]". Secrets reach logs mostly through objects logged whole
 * (a Secret's data, a provider config, an HTTP request), so cover those shapes one and two levels deep.
 */
export const REDACT_PATHS = [
  "*.password", "*.*.password",
  "*.privateKey", "*.*.privateKey",
  "*.token", "*.*.token",
  "*.clientSecret", "*.*.clientSecret",
  "*.data", "*.stringData",
  "headers.authorization", "*.headers.authorization",
  "headers.Authorization", "*.headers.Authorization",
];

export interface LoggerConfig {
  level?: string;
  /** Extra fields on every line (e.g. identity of this replica). */
  base?: Record<string, unknown>;
}

/** The one root logger: JSON lines, string level labels, ISO timestamps, redaction. */
export function createLogger(config: LoggerConfig = {}, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level ?? "info",
    base: config.base ?? {},
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: "[Redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
