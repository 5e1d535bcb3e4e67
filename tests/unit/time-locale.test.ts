import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { parseIsoTime } from '../../trigger_fetch_new_logs/iso-time';
import { ServerTime } from '../../trigger_fetch_new_logs/server-time';

// Jest loads luxon afresh for each test file, so no earlier DateTime has cached the host's
// locale yet: the first one below would ask Intl for it.
describe('reading times', () => {
  it('never asks Intl for the host locale (it would map ICU locale data: ~6.5 MiB resident)', () => {
    const formats = jest.spyOn(Intl, 'DateTimeFormat');
    try {
      // Not the canonical form: the luxon path.
      expect(parseIsoTime('2026-06-01T14:00:00+02:00')).toBe(Date.UTC(2026, 5, 1, 12));
      const time = new ServerTime(new ManualClock(Date.UTC(2026, 5, 1, 12)));
      time.observe('Mon, 01 Jun 2026 10:00:00 GMT');
      expect(time.skewMs).toBe(-2 * 3_600_000);
      expect(formats).not.toHaveBeenCalled();
    } finally {
      formats.mockRestore();
    }
  });
});
