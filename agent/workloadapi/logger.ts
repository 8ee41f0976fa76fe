/** The logger the workload-facing servers take (the agent passes its pino logger). */

export type LogFields = Readonly<Record<string, unknown>>;

/** pino's call shape (fields first, then the message), so the agent passes its pino logger as is. */
export interface WorkloadApiLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}
