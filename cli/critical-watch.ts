import type { LogFields, LogLevel, Logger } from '@sekoia/automation-sdk-shim';

/**
 * Passes every line on and calls `onCritical` once, at the first critical. On the platform a
 * fatal error makes the trigger idle until it is stopped; a person at a terminal wants the
 * command to end with the reason instead.
 */
export class CriticalWatch implements Logger {
  private firstCritical: string | undefined;

  constructor(
    private readonly inner: Logger,
    private readonly onCritical: (message: string) => void,
  ) {}

  get critical(): string | undefined {
    return this.firstCritical;
  }

  log(level: LogLevel, message: string, fields?: LogFields): void {
    this.inner.log(level, message, fields);
    if (level === 'critical' && this.firstCritical === undefined) {
      this.firstCritical = message;
      this.onCritical(message);
    }
  }
}
