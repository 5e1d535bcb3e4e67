import { Writable } from 'node:stream';
import { LineProgress, TerminalProgress, progressView, type ProgressSnapshot } from '../../cli/progress';

class Screen extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function snapshot(
  elapsedMs: number,
  forwarded: number,
  phase: ProgressSnapshot['phase'] = 'catching up',
): ProgressSnapshot {
  return {
    phase,
    elapsedMs,
    streams: [
      { stream: 'accepted_traffic', collected: forwarded, forwarded, pages: 3, lagMs: 2 * 3_600_000 },
      { stream: 'blocked_traffic', collected: 0, forwarded: 0, pages: 0, lagMs: undefined },
    ],
  };
}

describe('progress views', () => {
  it('a terminal gets a view redrawn in place: cursor up over the previous frame, lines cleared', () => {
    const screen = new Screen(true);
    const view = progressView(screen);
    expect(view).toBeInstanceOf(TerminalProgress);
    view.update(snapshot(250, 1_000));
    expect(screen.text).not.toContain('\x1b[3A');
    const first = screen.text;
    view.update(snapshot(500, 12_345));
    const second = screen.text.slice(first.length);
    // Four lines (headline, header, two streams): the redraw goes up exactly that many.
    expect(second.startsWith('\x1b[4A')).toBe(true);
    expect(second.split('\n').filter((l) => l !== '')).toHaveLength(4);
    expect(second).toContain('12,345');
    expect(second).toContain('2 h 00 min');
    expect(second).toContain('starting');
    view.finish(snapshot(750, 12_346, 'stopped'));
    // After finish, what follows (the summary) goes below the last frame: no cursor movement.
    const before = screen.text.length;
    view.update(snapshot(1_000, 1));
    expect(screen.text.slice(before).startsWith('\r\x1b[2K[1.0 s]')).toBe(true);
  });

  it('a pipe gets one plain line per period and on every phase change', () => {
    const screen = new Screen(false);
    const view = progressView(screen, 2_000);
    expect(view).toBeInstanceOf(LineProgress);
    view.update(snapshot(250, 10));
    view.update(snapshot(1_000, 20)); // within the period: skipped
    view.update(snapshot(1_100, 30, 'live')); // phase change: printed
    view.update(snapshot(3_200, 40, 'live'));
    view.finish(snapshot(3_300, 50, 'stopped'));
    const printed = screen.text.trimEnd().split('\n');
    expect(printed.map((l) => l.split(' | ')[0])).toEqual([
      '[250 ms] catching up',
      '[1.1 s] live',
      '[3.2 s] live',
      '[3.3 s] stopped',
    ]);
    expect(screen.text).not.toContain('\x1b[');
    expect(printed[0]).toContain(
      'accepted_traffic 10 records, 3 pages, lag 2 h 00 min | blocked_traffic 0 records, 0 pages, lag starting',
    );
  });
});
