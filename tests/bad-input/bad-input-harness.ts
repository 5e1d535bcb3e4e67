import { Harness, HOUR, NOW, type HarnessOptions } from '../integration/harness';

/** Distinctive secrets: none of them may appear in any log, error or forwarded event. */
export const API_KEY = 'bad-input-api-key-4d2f7a';
export const INTAKE_KEY = 'bad-input-intake-key-9e1c55';

/** A Harness whose simulator and configuration use the secrets above. */
export function badInputHarness(options: HarnessOptions = {}): Harness {
  return new Harness({
    ...options,
    simulator: { apiKey: API_KEY, ...options.simulator },
    configuration: { api_key: API_KEY, intake_key: INTAKE_KEY, start_time: 2, ...options.configuration },
  });
}

/** Everything a case can show: logs (messages and fields), forwarded events, extra texts. */
export function expectNoSecrets(h: Harness, ...texts: string[]): void {
  const captured = [JSON.stringify(h.logger.entries), ...h.intake.events, ...texts].join('\n');
  for (const secret of [API_KEY, INTAKE_KEY]) {
    expect(captured).not.toContain(secret);
    expect(captured).not.toContain(Buffer.from(secret).toString('base64'));
  }
}

/** Waits for `extra` more API requests: the trigger kept polling, nothing more can arrive. */
export async function settle(h: Harness, extra = 10): Promise<void> {
  const seen = h.simulator.stats.requests;
  await h.until(() => h.simulator.stats.requests > seen + extra);
}

/** An ISO time `minutesAgo` before the test's NOW. */
export function ago(minutesAgo: number): string {
  return new Date(NOW - minutesAgo * 60_000).toISOString();
}

export { HOUR, NOW };
