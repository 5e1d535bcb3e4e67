import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntakeStandIn, closeHttp, listenHttp } from '@sekoia/automation-sdk-shim/testing';
import { TmesSimulator } from '../../simulator';
import { HOUR } from '../integration/harness';
import { spawnTrigger, stopChild, waitFor, type ChildTrigger } from './child-trigger';
import { DeliveryLedger, storedIdentities } from './delivery-ledger';

jest.setTimeout(30_000);

const API_KEY = 'logs-down-api-key-19ad';
const INTAKE_KEY = 'logs-down-intake-key-c2e7';
const TOKEN = 'logs-down-token-88f1e0';

/** A logs API that answers 500 to everything, counting what it was sent. */
class BrokenLogsApi {
  requests = 0;
  authorized = 0;
  private readonly server: Server = createServer((request, response) => {
    this.requests++;
    if (request.headers.authorization === `Bearer ${TOKEN}`) this.authorized++;
    request.resume();
    response.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
  });

  async start(): Promise<string> {
    return `http://127.0.0.1:${await listenHttp(this.server, 0, '127.0.0.1')}/api/v1/logs`;
  }

  stop(): Promise<void> {
    return closeHttp(this.server);
  }
}

/** A URL on a port nobody listens on (bound, then released). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await listenHttp(server, 0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  await closeHttp(server);
  return `http://127.0.0.1:${port}/api/v1/logs`;
}

describe('the Sekoia logs API down for the whole run (url_logs + token settings)', () => {
  let simulator: TmesSimulator;
  let intake: IntakeStandIn;
  let logsApi: BrokenLogsApi;
  let child: ChildTrigger | undefined;
  beforeEach(() => {
    simulator = new TmesSimulator({
      apiKey: API_KEY,
      // Some API failures, so the trigger has warnings to ship while it collects.
      faults: { rate500: 0.15, seed: 3 },
    });
    intake = new IntakeStandIn({ intakeKey: INTAKE_KEY });
    logsApi = new BrokenLogsApi();
  });
  afterEach(async () => {
    if (child !== undefined) await stopChild(child);
    await Promise.all([simulator.stop(), intake.stop(), logsApi.stop()]);
  });

  it.each([
    ['answers 500', async (): Promise<string> => logsApi.start(), true],
    ['is a closed port', closedPortUrl, false],
  ])('collection is unaffected when the logs API %s', async (how, logsUrl, listening) => {
    const now = Date.now();
    simulator.generate({
      start: now - HOUR,
      end: now - 2 * 60_000,
      counts: { accepted_traffic: 3_000, blocked_traffic: 1_000, policy_events: 1_000 },
      seed: 5,
    });
    const stored = storedIdentities(simulator);
    const ledger = new DeliveryLedger(intake);
    const configuration = {
      service_url: await simulator.start(),
      username: 'demo',
      api_key: API_KEY,
      intake_key: INTAKE_KEY,
      intake_server: await intake.start(),
      start_time: 2,
      frequency: 1,
    };
    const started = Date.now();
    child = spawnTrigger({
      configuration,
      dataPath: mkdtempSync(join(tmpdir(), 'tmes-logs-down-')),
      env: { URL_LOGS: await logsUrl(), TOKEN },
    });
    await waitFor(() => ledger.distinct.size >= stored.length, `${stored.length} records`);
    const collectedInMs = Date.now() - started;
    const polls = simulator.stats.requests;
    await waitFor(() => simulator.stats.requests >= polls + 3, 'more polls');
    const stopping = Date.now();
    expect(await stopChild(child)).toBe(0);
    // The last send of the logs is bounded (5 s): a dead logs API cannot hold the exit.
    expect(Date.now() - stopping).toBeLessThan(7_000);

    expect(ledger.receivedIdentities()).toEqual(stored);
    expect(intake.events).toHaveLength(stored.length);
    const output = child.output();
    // The run logged warnings (API 500s) and they reached stdout despite the logs API.
    expect(output).toMatch(/"level":"warning".*HTTP 500/);
    expect(output).toMatch(/Stop requested/);
    for (const secret of [API_KEY, INTAKE_KEY, TOKEN]) expect(output).not.toContain(secret);
    // The url_logs and token settings were honoured: the broken API was really called.
    if (listening) expect(logsApi.requests).toBeGreaterThan(0);
    expect(logsApi.authorized).toBe(logsApi.requests);
    console.log(
      `logs API that ${how}: ${stored.length} records delivered once in ${collectedInMs} ms; ` +
        `${logsApi.requests} requests to the logs API; stopped in ${Date.now() - stopping} ms.`,
    );
  });
});
