import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { ServerTime } from '../../trigger_fetch_new_logs/server-time';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

describe('ServerTime', () => {
  it('follows a server whose clock is behind this host (a host running ahead)', () => {
    const clock = new ManualClock(NOW);
    const time = new ServerTime(clock);
    expect(time.skewMs).toBeUndefined();
    time.observe('Mon, 01 Jun 2026 10:00:00 GMT');
    expect(time.now()).toBe(NOW - 2 * 3_600_000);
    expect(time.skewMs).toBe(-2 * 3_600_000);
    clock.advance(5_000);
    expect(time.now()).toBe(NOW - 2 * 3_600_000 + 5_000);
  });

  it('keeps the host clock when the server is ahead (a later window only adds lag), but reports the skew', () => {
    const time = new ServerTime(new ManualClock(NOW));
    time.observe('Monday, 01-Jun-26 13:00:00 GMT'); // RFC 850, still an HTTP date
    expect(time.now()).toBe(NOW);
    expect(time.skewMs).toBe(3_600_000);
  });

  it.each([undefined, 42, '', 'yesterday', '2026-06-01T10:00:00Z'])(
    'ignores a Date header that is not an HTTP date (%p)',
    (header) => {
      const time = new ServerTime(new ManualClock(NOW));
      time.observe(header);
      expect(time.now()).toBe(NOW);
      expect(time.skewMs).toBeUndefined();
    },
  );
});
