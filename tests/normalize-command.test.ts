import { PassThrough, Readable, Writable } from 'node:stream';
import { runNormalize } from '../cli/normalize-command';
import { normalize } from '../trigger_fetch_new_logs/normalizer';
import { readFixture } from './helpers/fixtures';

type Json = Record<string, unknown>;
interface AcceptedFixture {
  api_response_envelope: { nextToken: string; logs: Json[] };
  records: Json[];
}
const accepted = readFixture('tmes', 'accepted_traffic.json') as AcceptedFixture;
const envelope = accepted.api_response_envelope;
const records: Json[] = [...envelope.logs, ...accepted.records];
/** One output line, as the document it holds. */
const doc = (line: string): { email: { subject?: string; local_id?: string } } =>
  JSON.parse(line) as { email: { subject?: string; local_id?: string } };

/** Collects everything written; a slow one completes each write on a later turn (backpressure). */
class Sink extends Writable {
  readonly chunks: string[] = [];
  /** The most bytes ever queued in this stream: bounded when the writer waits for 'drain'. */
  maxQueued = 0;

  constructor(private readonly slow = false) {
    super({ highWaterMark: 16 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString('utf8'));
    this.maxQueued = Math.max(this.maxQueued, this.writableLength);
    if (this.slow) setImmediate(done);
    else done();
  }

  get text(): string {
    return this.chunks.join('');
  }

  get lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }
}

async function run(input: string | Buffer[] | Readable): Promise<{ code: number; out: Sink; err: Sink }> {
  const stdin =
    input instanceof Readable ? input : Readable.from(typeof input === 'string' ? [input] : input);
  const out = new Sink();
  const err = new Sink();
  const code = await runNormalize({ stdin, stdout: out, stderr: err });
  return { code, out, err };
}

const expected = (list: unknown[]): string[] => list.map((record) => JSON.stringify(normalize(record)));

describe('normalize command: input shapes', () => {
  it('NDJSON, with blank lines and CRLF', async () => {
    const input = records.map((r) => JSON.stringify(r)).join('\r\n\n') + '\r\n';
    const { code, out, err } = await run(input);
    expect([code, err.text]).toEqual([0, '']);
    expect(out.lines).toEqual(expected(records));
  });

  it('NDJSON without a final newline, split across chunks in the middle of characters', async () => {
    const text = records.map((r) => JSON.stringify({ ...r, subject: 'Réunion ✓ 日本' })).join('\n');
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const { code, out } = await run(chunks);
    expect(code).toBe(0);
    expect(out.lines.map((l) => doc(l).email.subject)).toEqual(records.map(() => 'Réunion ✓ 日本'));
  });

  it('a pretty-printed JSON array', async () => {
    const { code, out } = await run(JSON.stringify(records, null, 2));
    expect(code).toBe(0);
    expect(out.lines).toEqual(expected(records));
  });

  it('a pretty-printed API page {"nextToken", "logs"}', async () => {
    const { code, out } = await run(JSON.stringify(envelope, null, 2));
    expect(code).toBe(0);
    expect(out.lines).toEqual(expected(envelope.logs));
  });

  it('API pages as NDJSON, and an empty page', async () => {
    const { code, out } = await run(
      `${JSON.stringify(envelope)}\n{"logs": null}\n{"logs": []}\n${JSON.stringify(envelope)}\n`,
    );
    expect(code).toBe(0);
    expect(out.lines).toEqual(expected([...envelope.logs, ...envelope.logs]));
  });

  it('a single record, compact or pretty-printed, with a byte order mark', async () => {
    for (const text of [JSON.stringify(records[1]), `\uFEFF${JSON.stringify(records[1], null, 4)}\n`]) {
      const { code, out } = await run(text);
      expect(code).toBe(0);
      expect(out.lines).toEqual(expected([records[1]]));
    }
  });

  it('empty input: nothing to do', async () => {
    const { code, out, err } = await run('\n  \n');
    expect([code, out.text, err.text]).toEqual([0, '', '']);
  });
});

describe('normalize command: bad input and exit codes', () => {
  it('a line that is not JSON is named on stderr and skipped (exit 4)', async () => {
    const input = [JSON.stringify(records[0]), 'this is not json', JSON.stringify(records[1])].join('\n');
    const { code, out, err } = await run(input);
    expect(code).toBe(4);
    expect(out.lines).toEqual(expected([records[0], records[1]]));
    expect(err.text).toContain('line 2: not JSON');
    expect(err.text).toContain('1 input(s) skipped');
  });

  it('JSON that is not a record is skipped with its location (exit 4)', async () => {
    const { code, out, err } = await run(
      `42\n${JSON.stringify(records[0])}\n[{"mailID": "a"}, "x"]\n{"logs": 5}\n`,
    );
    expect(code).toBe(4);
    expect(out.lines).toHaveLength(2);
    expect(err.text).toContain('line 1: expected a TMES record (a JSON object), got a number');
    expect(err.text).toContain('line 3, item 2: expected a TMES record (a JSON object), got a string');
    expect(err.text).toContain('line 4: "logs" is a number, not an array');
  });

  it('NDJSON whose first line is broken is still read line by line (exit 4)', async () => {
    const input = ['{"mailID": "broken', JSON.stringify(records[0]), JSON.stringify(records[1])].join('\n');
    const { code, out, err } = await run(input);
    expect(code).toBe(4);
    expect(out.lines).toEqual(expected([records[0], records[1]]));
    expect(err.text).toContain('line 1: not JSON');
  });

  it('input with no JSON at all is unreadable (exit 5)', async () => {
    const { code, out, err } = await run('hello\nworld\n');
    expect(code).toBe(5);
    expect(out.text).toBe('');
    expect(err.text).toContain('line 1: not JSON');
    expect(err.text).toContain('line 2: not JSON');
  });

  it('a broken pretty-printed document is unreadable (exit 5), reported once', async () => {
    const text = JSON.stringify(envelope, null, 2).slice(0, -3);
    const { code, out, err } = await run(text);
    expect(code).toBe(5);
    expect(out.text).toBe('');
    expect(
      err.text.split('\n').filter((l) => l.includes('the document starting on line 1: not valid JSON')),
    ).toHaveLength(1);
  });

  it('a failing stdin is unreadable (exit 5), after writing what was read', async () => {
    let reads = 0;
    const stdin = new Readable({
      read() {
        // The first read returns a record, the second fails like a broken pipe or disk would.
        if (reads++ === 0) this.push(`${JSON.stringify(records[0])}\n`);
        else this.destroy(new Error('EIO: i/o error, read'));
      },
    });
    const { code, out, err } = await run(stdin);
    expect(code).toBe(5);
    expect(out.lines).toEqual(expected([records[0]]));
    expect(err.text).toContain('cannot read stdin (EIO: i/o error, read)');
  });
});

describe('normalize command: streaming', () => {
  it('writes documents before the input ends (NDJSON is not held in memory)', async () => {
    const stdin = new PassThrough();
    const out = new Sink();
    const err = new Sink();
    const done = runNormalize({ stdin, stdout: out, stderr: err });
    const line = `${JSON.stringify(records[0])}\n`;
    const written = (): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (out.text.length > 0) resolve();
          else setImmediate(check);
        };
        check();
      });
    for (let i = 0; i < 200; i++) stdin.write(line); // more than one 64 KiB output batch
    await written();
    expect(stdin.writableEnded).toBe(false);
    stdin.end();
    expect(await done).toBe(0);
    expect(out.lines).toHaveLength(200);
  });

  it('waits for a slow stdout instead of buffering without bound', async () => {
    const count = 3000;
    const stdin = Readable.from(
      (function* () {
        for (let i = 0; i < count; i++) yield `${JSON.stringify({ ...records[0], mailID: `id-${i}` })}\n`;
      })(),
    );
    const out = new Sink(true);
    const err = new Sink();
    const code = await runNormalize({ stdin, stdout: out, stderr: err });
    expect(code).toBe(0);
    expect(out.chunks.length).toBeGreaterThan(10);
    expect(out.maxQueued).toBeLessThan(2 * 64 * 1024);
    const ids = out.lines.map((l) => doc(l).email.local_id);
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => `id-${i}`));
  });
});
