import { describeError, type Logger } from '@sekoia/automation-sdk-shim';
import type { ServerTime } from './server-time';
import type { StreamDefinition } from './streams';
import type { TmesClient } from './tmes-client';

/** A host clock further than this from the server's is worth a warning. */
const CLOCK_SKEW_WARNING_MS = 60_000;

/**
 * One request to the log API before the first window is planned, for its `Date` header: a host
 * clock running ahead would otherwise place the first cursor in the server's future. A failure
 * is not fatal (the collectors meet the same problem and report it): planning starts on this
 * host's clock, and ServerTime still learns from every later answer.
 */
export async function probeServerClock(
  client: TmesClient,
  stream: StreamDefinition,
  serverTime: ServerTime,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    await client.probe(stream, signal);
  } catch (error) {
    signal.throwIfAborted();
    logger.log(
      'warning',
      `${describeError(error)} Windows are planned on this host's clock until it answers.`,
    );
    return;
  }
  const skew = serverTime.skewMs;
  if (skew === undefined || Math.abs(skew) < CLOCK_SKEW_WARNING_MS) return;
  const minutes = Math.round(Math.abs(skew) / 60_000);
  logger.log(
    'warning',
    skew < 0
      ? `This host's clock is ${minutes} min ahead of the Trend Micro server's: windows are planned on the server's clock. Synchronise this host's clock (NTP).`
      : `This host's clock is ${minutes} min behind the Trend Micro server's: collection lags by that much. Synchronise this host's clock (NTP).`,
  );
}
