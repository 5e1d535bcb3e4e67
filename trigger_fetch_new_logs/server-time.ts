import type { Clock } from '@sekoia/automation-sdk-shim';

/**
 * The TMES server's idea of "now", from the `Date` header of its answers. A window must never
 * end after the server's present: if this host's clock runs ahead, records generated later with
 * an earlier genTime would fall behind the cursor and be lost. So windows are planned on the
 * earlier of the two clocks. (A host running behind only adds lag, which is safe.)
 */
export class ServerTime implements Clock {
  /** Server minus local, ms; never positive (see above). */
  private offsetMs = 0;

  constructor(private readonly local: Clock) {}

  /** Records the `Date` header of an answer received now. */
  observe(dateHeader: unknown): void {
    if (typeof dateHeader !== 'string') return;
    const server = Date.parse(dateHeader);
    if (Number.isNaN(server)) return;
    // The header has 1 s resolution and is truncated, so this errs on the early side.
    this.offsetMs = Math.min(0, server - this.local.now());
  }

  now(): number {
    return this.local.now() + this.offsetMs;
  }
}
