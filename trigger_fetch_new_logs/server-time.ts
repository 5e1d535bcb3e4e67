import type { Clock } from '@sekoia/automation-sdk-shim';
import { DateTime } from 'luxon';
import { LUXON_UTC } from './iso-time';

/**
 * The TMES server's idea of "now", from the `Date` header of its answers. A window must never
 * end after the server's present: if this host's clock runs ahead, records generated later with
 * an earlier genTime would fall behind the cursor and be lost. So windows are planned on the
 * earlier of the two clocks. (A host running behind only adds lag, which is safe; a wrong Date
 * header from a proxy in the future is ignored for the same reason.)
 *
 * It learns from every answer, and from one probe the trigger sends before the first window
 * is planned (TmesClient.probe), so even the first cursor comes from the server's clock.
 */
export class ServerTime implements Clock {
  /** Server minus local, ms; never positive (see above). */
  private offsetMs = 0;
  /** Server minus local as last observed, either sign; undefined before any answer. */
  private observedSkewMs: number | undefined;

  constructor(private readonly local: Clock) {}

  /** Records the `Date` header of an answer received now. */
  observe(dateHeader: unknown): void {
    const server = parseHttpDate(dateHeader);
    if (server === undefined) return;
    // The header has 1 s resolution and is truncated, so this errs on the early side.
    this.observedSkewMs = server - this.local.now();
    this.offsetMs = Math.min(0, this.observedSkewMs);
  }

  /** How far the server's clock was from this host's at the last answer (server − host). */
  get skewMs(): number | undefined {
    return this.observedSkewMs;
  }

  now(): number {
    return this.local.now() + this.offsetMs;
  }
}

/** An HTTP date (RFC 9110: IMF-fixdate, or the obsolete RFC 850 / asctime forms), always GMT. */
function parseHttpDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const time = DateTime.fromHTTP(value.trim(), LUXON_UTC);
  return time.isValid ? time.toMillis() : undefined;
}
