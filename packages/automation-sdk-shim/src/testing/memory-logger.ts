import type { LogFields, LogLevel, Logger } from '../logger';

/** One call to log(), as MemoryLogger keeps it. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** Keeps entries in memory; for tests that assert on logs. */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];

  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    this.entries.push({ level, message, fields });
  }

  messages(level?: LogLevel): string[] {
    return this.entries.filter((e) => level === undefined || e.level === level).map((e) => e.message);
  }
}
