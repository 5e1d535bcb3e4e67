import { StringDecoder } from 'node:string_decoder';
import { describeType, isObject, type JsonObject } from '../trigger_fetch_new_logs/normalizer/fields';

/**
 * What `normalize` reads on stdin: NDJSON (one record, array or API page per line), or one JSON
 * document: an array of records or an API page `{"logs": [...]}`, possibly pretty-printed.
 * NDJSON is streamed line by line, so its size is unbounded; a multi-line document is read whole.
 */
export type InputItem =
  | { kind: 'record'; record: JsonObject }
  | { kind: 'rejected'; where: string; reason: string; notJson: boolean };

/** Thrown when stdin itself fails; everything else about the input is reported per item. */
export class UnreadableInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableInputError';
  }
}

interface Line {
  number: number;
  text: string;
}

/** The records of the input, in order, with a located reason for everything that is not one. */
export async function* readInput(input: NodeJS.ReadableStream): AsyncGenerator<InputItem> {
  const lines = readLines(input);
  const first = await nextNonBlank(lines);
  if (first === undefined) return;
  const parsed = parseJson(first.text);
  // A first line that opens a document without closing it: a pretty-printed array or page.
  if (!parsed.ok && (first.text.startsWith('[') || first.text.startsWith('{'))) {
    yield* readDocument(first, lines);
    return;
  }
  yield* lineItems(first, parsed);
  for await (const line of lines) {
    if (line.text.trim() !== '') yield* lineItems(line, parseJson(line.text));
  }
}

async function nextNonBlank(lines: AsyncGenerator<Line>): Promise<Line | undefined> {
  for (;;) {
    const next = await lines.next();
    if (next.done === true) return undefined;
    if (next.value.text.trim() !== '') return next.value;
  }
}

/**
 * The whole input as one JSON document. When it does not parse, it may still be NDJSON whose
 * first line is broken: if any line holds a JSON object, every line is judged on its own.
 */
async function* readDocument(first: Line, rest: AsyncGenerator<Line>): AsyncGenerator<InputItem> {
  const lines = [first];
  for await (const line of rest) lines.push(line);
  const whole = parseJson(lines.map((line) => line.text).join('\n'));
  if (whole.ok) {
    yield* expand(whole.value, `the document starting on line ${first.number}`);
    return;
  }
  const perLine = lines.map((line) => ({ line, parsed: parseJson(line.text) }));
  if (perLine.some(({ parsed }) => parsed.ok && isObject(parsed.value))) {
    for (const { line, parsed } of perLine) if (line.text.trim() !== '') yield* lineItems(line, parsed);
    return;
  }
  yield {
    kind: 'rejected',
    where: `the document starting on line ${first.number}`,
    reason: `not valid JSON (${whole.error})`,
    notJson: true,
  };
}

function* lineItems(line: Line, parsed: Parsed): Generator<InputItem> {
  if (parsed.ok) yield* expand(parsed.value, `line ${line.number}`);
  else
    yield {
      kind: 'rejected',
      where: `line ${line.number}`,
      reason: `not JSON (${parsed.error})`,
      notJson: true,
    };
}

/** A record, an array of records or pages, or a page `{"logs": [...]}` → its records. */
function* expand(value: unknown, where: string, inArray = false): Generator<InputItem> {
  if (Array.isArray(value) && !inArray) {
    for (let i = 0; i < value.length; i++) yield* expand(value[i], `${where}, item ${i + 1}`, true);
    return;
  }
  if (isObject(value) && Object.hasOwn(value, 'logs')) {
    const logs = value.logs;
    if (Array.isArray(logs)) {
      for (let i = 0; i < logs.length; i++) yield* expand(logs[i], `${where}, logs item ${i + 1}`, true);
    } else if (logs !== null) {
      yield {
        kind: 'rejected',
        where,
        reason: `"logs" is ${describeType(logs)}, not an array`,
        notJson: false,
      };
    }
    return; // a page with "logs": null, or no logs at all, is an empty page
  }
  if (isObject(value)) {
    yield { kind: 'record', record: value };
    return;
  }
  yield {
    kind: 'rejected',
    where,
    reason: `expected a TMES record (a JSON object), got ${describeType(value)}`,
    notJson: false,
  };
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : 'invalid JSON' };
  }
}

/** Numbered lines of UTF-8 text (LF or CRLF), without holding more than one line in memory. */
async function* readLines(input: NodeJS.ReadableStream): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let number = 0;
  try {
    for await (const chunk of input) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      let end = pending.indexOf('\n');
      while (end !== -1) {
        yield { number: ++number, text: cleanLine(pending.slice(start, end), number) };
        start = end + 1;
        end = pending.indexOf('\n', start);
      }
      pending = pending.slice(start);
    }
  } catch (error) {
    throw new UnreadableInputError(
      `cannot read stdin (${error instanceof Error ? error.message : String(error)}). Check the file or pipe it comes from.`,
      { cause: error },
    );
  }
  pending += decoder.end();
  if (pending !== '') yield { number: ++number, text: cleanLine(pending, number) };
}

/** Without a trailing CR (CRLF files) and, on line 1, without a UTF-8 byte order mark. */
function cleanLine(text: string, number: number): string {
  const noCr = text.endsWith('\r') ? text.slice(0, -1) : text;
  return number === 1 && noCr.startsWith('\uFEFF') ? noCr.slice(1) : noCr;
}
