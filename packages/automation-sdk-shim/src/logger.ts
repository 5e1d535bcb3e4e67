/**
 * The logging contract every part of a module uses. Implementations: StdoutLogger (structured
 * JSON lines, always on) and the logs-API shipper that wraps it (see logs.ts).
 */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];

/**
 * Replaces every secret value with `***` in text. Built once from the configuration's secret
 * values; shared by loggers, error messages and health output so a key never leaks.
 */
export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<unknown> = []) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...secrets]
      .filter((s): s is string => typeof s === 'string' && s.length >= 4)
      .sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('***');
      // Secrets also travel base64-encoded (Basic auth) and URL-encoded.
      const b64 = Buffer.from(secret).toString('base64');
      if (out.includes(b64)) out = out.split(b64).join('***');
      const enc = encodeURIComponent(secret);
      if (enc !== secret && out.includes(enc)) out = out.split(enc).join('***');
    }
    return out;
  }

  /** A new redactor that also hides `more`. */
  with(more: Iterable<unknown>): Redactor {
    return new Redactor([...this.secrets, ...more]);
  }
}

export interface StdoutLoggerOptions {
  redactor?: Redactor;
  /** Where lines go; defaults to process.stdout. */
  write?: (line: string) => void;
  /** Lowest level written. */
  level?: LogLevel;
  now?: () => number;
}

/** One JSON object per line on stdout: `{"time","level","message",...fields}`. */
export class StdoutLogger implements Logger {
  private readonly redactor: Redactor;
  private readonly write: (line: string) => void;
  private readonly minLevel: number;
  private readonly now: () => number;

  constructor(options: StdoutLoggerOptions = {}) {
    this.redactor = options.redactor ?? new Redactor();
    this.write = options.write ?? ((line) => process.stdout.write(line));
    this.minLevel = LOG_LEVELS.indexOf(options.level ?? 'info');
    this.now = options.now ?? Date.now;
  }

  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.minLevel) return;
    const entry = { time: new Date(this.now()).toISOString(), level, message, ...fields };
    this.write(this.redactor.redact(JSON.stringify(entry)) + '\n');
  }
}

/** Discards everything; for unit tests that do not assert on logs. */
export const silentLogger: Logger = { log: () => undefined };
