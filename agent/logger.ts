/**
 * The agent's logger: pino, one JSON object per line on stdout (pino-pretty on a terminal), the
 * same shape as the server's so one log pipeline reads both. Written again here rather than shared
 * because agent/ may not import server/. Modules take the `Logger` interface, never pino, so
 * tests pass recorders and the Workload API code needs no pino types.
 */
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import pinoPretty from 'pino-pretty';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

/** Message first or pino's fields first: both reach pino the same way. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  debug(fields: LogFields, message: string): void;
  info(message: string, fields?: LogFields): void;
  info(fields: LogFields, message: string): void;
  warn(message: string, fields?: LogFields): void;
  warn(fields: LogFields, message: string): void;
  error(message: string, fields?: LogFields): void;
  error(fields: LogFields, message: string): void;
  /** A logger adding `bindings` to every line, e.g. `{ component: 'sync' }`. */
  child(bindings: LogFields): Logger;
}

type LogArgs = [message: string, fields?: LogFields] | [fields: LogFields, message: string];

function pinoArgs([a, b]: LogArgs): [LogFields, string] {
  return typeof a === 'string' ? [(b as LogFields | undefined) ?? {}, a] : [a, b as string];
}

export interface LoggerOptions {
  level: LogLevel;
  /** Pretty lines instead of JSON; default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}

class PinoLogger implements Logger {
  readonly #pino: Pino;

  constructor(p: Pino) {
    this.#pino = p;
  }

  debug(...args: LogArgs): void {
    this.#pino.debug(...pinoArgs(args));
  }

  info(...args: LogArgs): void {
    this.#pino.info(...pinoArgs(args));
  }

  warn(...args: LogArgs): void {
    this.#pino.warn(...pinoArgs(args));
  }

  error(...args: LogArgs): void {
    this.#pino.error(...pinoArgs(args));
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.#pino.child(bindings));
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  // Synchronous writes: the line explaining why the agent stops must reach the log before exit.
  const destination =
    options.destination ??
    (pretty
      ? pinoPretty({ colorize: true, sync: true, destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: 1, sync: true }));
  return new PinoLogger(
    pino(
      {
        level: options.level,
        base: { pid: process.pid },
        formatters: { level: (label) => ({ level: label }) },
        timestamp: pino.stdTimeFunctions.isoTime,
        serializers: { err: pino.stdSerializers.err },
      },
      destination,
    ),
  );
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
