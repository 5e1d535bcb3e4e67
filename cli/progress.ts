import type { StreamName } from '../trigger_fetch_new_logs/streams';
import type { Output } from './command';
import { count, duration, table } from './format';

export interface StreamProgress {
  readonly stream: StreamName;
  readonly collected: number;
  readonly forwarded: number;
  readonly pages: number;
  /** How far behind now the stream's checkpoint is; undefined before its first one. */
  readonly lagMs: number | undefined;
}

export interface ProgressSnapshot {
  readonly phase: 'catching up' | 'live' | 'stopped';
  readonly elapsedMs: number;
  /** Time left in the live period. */
  readonly liveLeftMs?: number;
  readonly streams: readonly StreamProgress[];
}

export interface ProgressView {
  update(snapshot: ProgressSnapshot): void;
  /** Draws the last state for good; later output goes below it. */
  finish(snapshot: ProgressSnapshot): void;
}

/** A terminal gets a live view; a pipe or a file gets plain lines. */
export function progressView(out: Output, plainEveryMs = 2_000): ProgressView {
  return out.isTTY === true ? new TerminalProgress(out) : new LineProgress(out, plainEveryMs);
}

function headline(s: ProgressSnapshot): string {
  const left = s.liveLeftMs === undefined ? '' : `, ${duration(s.liveLeftMs)} left`;
  return `[${duration(s.elapsedMs)}] ${s.phase}${left}`;
}

function lag(p: StreamProgress): string {
  return p.lagMs === undefined ? 'starting' : duration(p.lagMs);
}

/** Redraws a few lines in place: cursor up over the previous frame, clear, rewrite. */
export class TerminalProgress implements ProgressView {
  private drawn = 0;

  constructor(private readonly out: Output) {}

  update(snapshot: ProgressSnapshot): void {
    const rows = table(
      [
        ['stream', 'read', 'forwarded', 'pages', 'lag'],
        ...snapshot.streams.map((p) => [
          p.stream,
          count(p.collected),
          count(p.forwarded),
          count(p.pages),
          lag(p),
        ]),
      ],
      [16, 9, 9, 6, 12],
    );
    const lines = [headline(snapshot), ...rows.map((row) => `  ${row}`)];
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.out.write(up + lines.map((line) => `\r\x1b[2K${line}\n`).join(''));
    this.drawn = lines.length;
  }

  finish(snapshot: ProgressSnapshot): void {
    this.update(snapshot);
    this.drawn = 0;
  }
}

/** One line per period (and on every phase change), for logs and CI. */
export class LineProgress implements ProgressView {
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastPhase: ProgressSnapshot['phase'] | undefined;

  constructor(
    private readonly out: Output,
    private readonly everyMs: number,
  ) {}

  update(snapshot: ProgressSnapshot): void {
    if (snapshot.phase === this.lastPhase && snapshot.elapsedMs - this.lastAt < this.everyMs) return;
    this.print(snapshot);
  }

  finish(snapshot: ProgressSnapshot): void {
    this.print(snapshot);
  }

  private print(snapshot: ProgressSnapshot): void {
    this.lastAt = snapshot.elapsedMs;
    this.lastPhase = snapshot.phase;
    const streams = snapshot.streams.map(
      (p) => `${p.stream} ${count(p.forwarded)} records, ${count(p.pages)} pages, lag ${lag(p)}`,
    );
    this.out.write(`${headline(snapshot)} | ${streams.join(' | ')}\n`);
  }
}
