import type { Clock, Logger, Sleep } from '@sekoia/automation-sdk-shim';
import type { AdaptiveConcurrency } from './adaptive-concurrency';
import type { CheckpointBook } from './checkpoint';
import type { Forwarder, PageSource } from './collector-context';
import type { CollectorLimits } from './collector-limits';
import type { StreamMetrics } from './metrics';
import type { BatchBudget } from './pending-batch';
import type { CollectorSettings } from './settings';
import type { StreamDefinition } from './streams';

/** What a StreamCollector is built with: its stream, settings and collaborators. */
export interface StreamCollectorOptions {
  stream: StreamDefinition;
  settings: CollectorSettings;
  pages: PageSource;
  forward: Forwarder;
  book: CheckpointBook;
  metrics: StreamMetrics;
  clock: Clock;
  /** "Now" for planning windows: the TMES server's clock when known (see ServerTime). */
  planningClock?: Clock;
  sleep: Sleep;
  logger: Logger;
  random?: () => number;
  /**
   * What is forwarded for a record: its ECS document, for instance. Absent: the record itself
   * (raw), whose JSON text is then serialised once for both its identity and the event.
   */
  encode?: ((record: unknown) => unknown) | undefined;
  limits?: Partial<CollectorLimits>;
  /**
   * How many windows may be read at once (K, adapted). Absent: one per `max_parallel_requests`
   * (settings), told of nothing but page waits. The trigger passes one the TMES client's
   * observer also tells of 429/5xx answers.
   */
  concurrency?: AdaptiveConcurrency;
  /**
   * The batch allowance this collector's reads share with others: the trigger passes one for
   * all its streams, so that the process holds about one allowance of events, not one per
   * stream. Absent: one of its own, from `limits`.
   */
  batchBudget?: BatchBudget;
}
