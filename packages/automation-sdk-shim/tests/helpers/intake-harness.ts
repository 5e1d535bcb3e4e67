import { Liveness } from '../../src/health';
import { IntakeClient, type IntakeClientOptions } from '../../src/intake';
import { IntakeStandIn, type IntakeStandInOptions } from '../../src/testing';
import { MemoryLogger } from '../../src/testing';
import { ConnectorMetrics } from '../../src/metrics';
import { ManualClock } from '../../src/testing';

export const INTAKE_KEY = 'intake-key-0f9e8d7c6b5a';

/** A stand-in intake on 127.0.0.1 and a client wired to it, all on one simulated clock. */
export interface IntakeHarness {
  clock: ManualClock;
  standIn: IntakeStandIn;
  logger: MemoryLogger;
  metrics: ConnectorMetrics;
  liveness: Liveness;
  client(overrides?: Partial<IntakeClientOptions>): IntakeClient;
  stop(): Promise<void>;
}

export async function startIntakeHarness(standInOptions: IntakeStandInOptions = {}): Promise<IntakeHarness> {
  const clock = new ManualClock();
  const standIn = new IntakeStandIn({ clock, ...standInOptions });
  const url = await standIn.start();
  const logger = new MemoryLogger();
  const metrics = new ConnectorMetrics({ intakeKey: INTAKE_KEY });
  const liveness = new Liveness({ clock });
  return {
    clock,
    standIn,
    logger,
    metrics,
    liveness,
    client: (overrides = {}) =>
      new IntakeClient({
        url,
        intakeKey: INTAKE_KEY,
        logger,
        clock,
        sleep: clock.sleep,
        random: () => 0.5,
        metrics,
        liveness,
        ...overrides,
      }),
    stop: () => standIn.stop(),
  };
}

/** The accepted event each id names (undefined for an id the stand-in never issued), in order. */
export function eventsForIds(standIn: IntakeStandIn, eventIds: readonly string[]): (string | undefined)[] {
  const byId = new Map<string, string>();
  standIn.eventIds.forEach((id, i) => byId.set(id, standIn.events[i]!));
  return eventIds.map((id) => byId.get(id));
}

/** Events `{"i":n,"text":"xx…"}` with `size` characters of text. */
export function numberedEvents(count: number, size = 100): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ i, text: 'x'.repeat(size) }));
}

/** What `promise` rejected with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
