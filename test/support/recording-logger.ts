/**
 * A logger for tests that records every line, in the message-first shape the CA, datastore and admin
 * API take (`info(message, fields?)`), so tests can assert what an operator would read.
 */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Readonly<Record<string, unknown>> | undefined;
}

type Fields = Readonly<Record<string, unknown>>;

export class RecordingLogger {
  readonly lines: LogLine[] = [];
  debug(message: string, fields?: Fields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: Fields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: Fields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: Fields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  /** The messages logged at one level, in order. */
  at(level: LogLine['level']): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}
