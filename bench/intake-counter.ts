import { IntakeStandIn } from '@sekoia/automation-sdk-shim/testing';

/**
 * The intake stand-in, counting what it acknowledges instead of keeping it: a million events
 * kept in this process would measure the orchestrator, not the trigger. Times are real
 * (process.hrtime), taken when a batch is accepted, just before its acknowledgement is sent.
 */
export class IntakeCounter {
  readonly standIn = new IntakeStandIn();
  /** Events accepted since the last reset(). */
  count = 0;
  firstAt: bigint | undefined;
  lastAt: bigint | undefined;
  private waiters: { target: number; resolve: () => void }[] = [];

  constructor() {
    this.standIn.onEvents = (events) => {
      this.count += events.length;
      this.lastAt = process.hrtime.bigint();
      this.firstAt ??= this.lastAt;
      // The stand-in appends the batch after this callback: forget the previous ones.
      this.standIn.events.length = 0;
      this.standIn.eventIds.length = 0;
      this.standIn.bodySizes.length = 0;
      this.standIn.responses.length = 0;
      this.waiters = this.waiters.filter((w) => {
        if (this.count < w.target) return true;
        w.resolve();
        return false;
      });
    };
  }

  start(): Promise<string> {
    return this.standIn.start();
  }

  stop(): Promise<void> {
    return this.standIn.stop();
  }

  reset(): void {
    this.count = 0;
    this.firstAt = undefined;
    this.lastAt = undefined;
    this.waiters = [];
  }

  /** Resolves once `target` events were accepted. */
  reached(target: number): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }
}
