/**
 * What the agent API needs of a logger: pino's call shape (fields first, then the message) and
 * child loggers, so the server passes its pino instance and tests pass a recorder.
 */
export interface Logger {
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
