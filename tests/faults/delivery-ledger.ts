import type { IntakeStandIn } from '@sekoia/automation-sdk-shim/testing';
import type { TmesSimulator } from '../../simulator';
import { identity } from '../integration/harness';

const STREAMS = ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const;
type Stream = (typeof STREAMS)[number];

/** One body the intake accepted, with the trigger generation that was running when it arrived. */
export interface AcceptedBatch {
  index: number;
  generation: number;
  /** Arrived while the generation was being killed (between the kill and the restart). */
  duringKill: boolean;
  events: string[];
}

/** A record the intake received more than once, and the batches that carried it. */
export interface Duplicate {
  stream: Stream | undefined;
  identity: string;
  batches: number[];
}

/**
 * Everything the intake accepted, batch by batch, tagged with the trigger generation, so a test
 * can tell which duplicates come from a kill and which batches were in flight when it happened.
 */
export class DeliveryLedger {
  readonly batches: AcceptedBatch[] = [];
  /** Distinct event strings accepted so far (cheap to poll, unlike parsing every event). */
  readonly distinct = new Set<string>();
  generation = 0;
  private killing = false;
  /** Called for each accepted batch, before the intake acknowledges it. */
  onBatch: ((batch: AcceptedBatch) => void) | undefined;

  constructor(intake: IntakeStandIn) {
    intake.onEvents = (events) => {
      const batch: AcceptedBatch = {
        index: this.batches.length,
        generation: this.generation,
        duringKill: this.killing,
        events: [...events],
      };
      this.batches.push(batch);
      for (const event of events) this.distinct.add(event);
      this.onBatch?.(batch);
    };
  }

  /** The current generation is being killed: what arrives from now on was already in flight. */
  killStarted(): void {
    this.killing = true;
  }

  /** A new generation (a restart) starts. */
  restarted(): void {
    this.killing = false;
    this.generation++;
  }

  /**
   * The batches a kill of `generation` may legitimately see again: per stream, the last batch
   * accepted before the kill (its acknowledgement or its checkpoint may not have landed), plus
   * anything that arrived during the kill itself.
   */
  inFlightAtKill(generation: number, streamOf: (event: string) => Stream | undefined): Set<number> {
    const inFlight = new Set<number>();
    const last = new Map<Stream | undefined, number>();
    for (const batch of this.batches) {
      if (batch.generation !== generation) continue;
      if (batch.duringKill) inFlight.add(batch.index);
      else last.set(streamOf(batch.events[0] ?? ''), batch.index);
    }
    for (const index of last.values()) inFlight.add(index);
    return inFlight;
  }

  /** Records received more than once, with every batch that carried each of them. */
  duplicates(streamOf: (event: string) => Stream | undefined): Duplicate[] {
    const carriers = new Map<string, number[]>();
    for (const batch of this.batches) {
      for (const event of batch.events) {
        const list = carriers.get(event);
        if (list === undefined) carriers.set(event, [batch.index]);
        else list.push(batch.index);
      }
    }
    return [...carriers]
      .filter(([, batches]) => batches.length > 1)
      .map(([event, batches]) => ({
        identity: identity(JSON.parse(event)),
        batches,
        stream: streamOf(event),
      }));
  }

  /** Canonical identities of the distinct records received, sorted. */
  receivedIdentities(): string[] {
    return [...new Set([...this.distinct].map((event) => identity(JSON.parse(event))))].sort();
  }
}

/** Maps an event (raw JSON as forwarded) to the stream the simulator stored it in. */
export function streamIndex(simulator: TmesSimulator): (event: string) => Stream | undefined {
  const byIdentity = new Map<string, Stream>();
  for (const stream of STREAMS) {
    for (const record of simulator.records(stream)) byIdentity.set(identity(record), stream);
  }
  const cache = new Map<string, Stream | undefined>();
  return (event) => {
    if (!cache.has(event)) cache.set(event, byIdentity.get(identity(JSON.parse(event))));
    return cache.get(event);
  };
}

/** Canonical identities of every record stored in the simulator, sorted. */
export function storedIdentities(simulator: TmesSimulator): string[] {
  return STREAMS.flatMap((s) => simulator.records(s).map(identity)).sort();
}
