import type { ScriptedResponse } from '../../simulator/tmes-simulator';
import { identity, type Harness } from '../integration/harness';
import { HOUR, NOW, badInputHarness, expectNoSecrets, settle } from './bad-input-harness';

jest.setTimeout(20_000);

interface PageCase {
  name: string;
  /** What the API answers, `times` times in a row, before behaving again. */
  answer?: ScriptedResponse;
  times?: number;
  /** Token loops: the next N pages repeat the request's token. */
  tokenLoop?: number;
  /** The log line (warning or error) that must say what was wrong. */
  says: RegExp;
}

const json = { 'content-type': 'application/json' };
const CASES: PageCase[] = [
  {
    name: 'an HTML page with status 200',
    answer: {
      status: 200,
      body: '<html><body>Maintenance</body></html>',
      headers: { 'content-type': 'text/html' },
    },
    says: /accepted_traffic: the API answered 200 with a body that is not JSON \(text\/html\): "<html><body>Maintenance/,
  },
  {
    name: 'an HTML 502 from a proxy',
    answer: {
      status: 502,
      body: '<html><title>502 Bad Gateway</title></html>',
      headers: { 'content-type': 'text/html' },
    },
    times: 3,
    says: /accepted_traffic: the Trend Micro API answered HTTP 502: ".*502 Bad Gateway/,
  },
  {
    name: 'truncated JSON',
    answer: { status: 200, body: '{"logs": [{"genTime": "2026-06-01T11:', headers: json },
    times: 2,
    says: /the API answered 200 with a body that is not JSON/,
  },
  {
    name: '"logs" is an object',
    answer: { status: 200, body: '{"logs": {"genTime": "x"}}', headers: json },
    says: /"logs" that is not an array \(object\)/,
  },
  {
    name: '"logs" is a string',
    answer: { status: 200, body: '{"logs": "none"}', headers: json },
    says: /"logs" that is not an array \(string\)/,
  },
  {
    name: '"nextToken" is a number',
    answer: { status: 200, body: '{"logs": [], "nextToken": 12}', headers: json },
    says: /a "nextToken" that is not a string/,
  },
  {
    name: '"nextToken" is an object',
    answer: { status: 200, body: '{"logs": [], "nextToken": {"t": 1}}', headers: json },
    says: /a "nextToken" that is not a string/,
  },
  {
    name: 'the body is a JSON array',
    answer: { status: 200, body: '[{"genTime": "x"}]', headers: json },
    says: /JSON that is not an object/,
  },
  {
    name: 'the body is JSON null',
    answer: { status: 200, body: 'null', headers: json },
    says: /JSON that is not an object/,
  },
  {
    name: 'gzip announced, plain text sent',
    answer: { status: 200, body: '{"logs": []}', headers: { ...json, 'content-encoding': 'gzip' } },
    says: /accepted_traffic: the Trend Micro API could not be reached/,
  },
  {
    name: 'a 429 without Retry-After',
    answer: { status: 429, body: '{"code":"TooManyRequests","message":"slow down"}', headers: json },
    times: 4,
    says: /HTTP 429: TooManyRequests slow down/,
  },
  {
    name: 'an unexpected 400',
    answer: { status: 400, body: '{"code":"InvalidParameter","message":"bad start"}', headers: json },
    says: /HTTP 400: InvalidParameter bad start/,
  },
  {
    name: 'the same nextToken returned twice (token loop)',
    tokenLoop: 2,
    says: /a nextToken it had already returned/,
  },
];

describe('malformed pages: retried with a message, nothing lost, nothing twice', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    h = badInputHarness({ configuration: { batch_size: 50, log_types: ['accepted_traffic'] } });
    h.simulator.generate({
      start: NOW - HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 300, blocked_traffic: 0, policy_events: 0 },
      seed: 8,
    });
    // One more: the trigger's first request is its server-clock probe (TmesClient.probe).
    if (c.answer !== undefined) h.simulator.failNext((c.times ?? 1) + 1, c.answer, 'accepted_traffic');
    if (c.tokenLoop !== undefined) h.simulator.tokenLoop(c.tokenLoop);
    await h.start();
    await h.until(() => h.intake.events.length >= 300);
    await settle(h);
    expect(await h.stop()).toBe(0);

    const stored = h.simulator.records('accepted_traffic').map(identity).sort();
    expect(h.received().map(identity).sort()).toEqual(stored);
    const said = h.logger.entries.filter((e) => e.level === 'warning' || e.level === 'error');
    expect(said.map((e) => e.message).some((m) => c.says.test(m))).toBe(true);
    expect(h.logger.messages('critical')).toEqual([]);
    expectNoSecrets(h);
  });
});
