import { isIP } from 'node:net';

/**
 * ECS building blocks shared by the mail-tracking and policy-event mappings. Every builder
 * returns `undefined` rather than an empty object or list: the document only holds what the
 * record said.
 */

export type EcsDocument = Record<string, unknown>;

/** A copy of `fields` without its undefined entries, or undefined when nothing is left. */
export function compact(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) (out ??= {})[key] = value;
  }
  return out;
}

/** Sets `key` only when there is something to set: no nulls, no empty objects. */
export function assign(document: EcsDocument, key: string, value: unknown): void {
  if (value !== undefined) document[key] = value;
}

/** Sorted, de-duplicated, or undefined when empty (Sekoia sorts email.to.address). */
function uniqueSorted(values: Iterable<string>): string[] | undefined {
  const out = [...new Set(values)].sort();
  return out.length === 0 ? undefined : out;
}

/** email.to: every list merged, sorted and de-duplicated, like the seed documents. */
export function addressList(
  ...lists: (readonly string[] | string | undefined)[]
): { address: string[] } | undefined {
  const addresses: string[] = [];
  for (const list of lists) {
    if (typeof list === 'string') addresses.push(list);
    else if (list !== undefined) addresses.push(...list);
  }
  const address = uniqueSorted(addresses);
  return address === undefined ? undefined : { address };
}

/** TMES `in`/`out` → ECS `inbound`/`outbound` (the values of email.direction and network.direction). */
export function direction(value: string | undefined): 'inbound' | 'outbound' | undefined {
  if (value === 'in') return 'inbound';
  if (value === 'out') return 'outbound';
  return undefined;
}

/** `<id@host>` → `id@host`, as email.message_id holds it. */
export function stripAngleBrackets(messageId: string): string {
  const start = messageId.startsWith('<') ? 1 : 0;
  const end = messageId.endsWith('>') ? messageId.length - 1 : messageId.length;
  return start === 0 && end === messageId.length ? messageId : messageId.slice(start, end);
}

/** One email.attachments entry; undefined when the record names neither the file nor its hash. */
export function attachment(
  name: string | undefined,
  sha256: string | undefined,
): { file: object } | undefined {
  if (name === undefined && sha256 === undefined) return undefined;
  const file: Record<string, unknown> = {};
  if (name !== undefined) file.name = name;
  if (sha256 !== undefined) file.hash = { sha256 };
  return { file };
}

/** The host of an absolute URL (`https://user@Host:8443/x` → `host`), without the cost of `new URL`. */
export function urlHost(url: string): string | undefined {
  const scheme = url.indexOf('://');
  if (scheme <= 0) return undefined;
  let start = scheme + 3;
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url[i];
    if (c === '/' || c === '?' || c === '#' || c === '\\') {
      end = i;
      break;
    }
  }
  const at = url.lastIndexOf('@', end - 1);
  if (at >= start) start = at + 1;
  let host = url.slice(start, end);
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    host = close === -1 ? '' : host.slice(1, close);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host === '' ? undefined : host.toLowerCase();
}

export interface Destination {
  address: string;
  domain?: string;
  ip?: string;
  port?: number;
}

/**
 * TMES `deliveredTo`: `host[ip]:port`, a bare IP or host, or `none` (nothing was delivered).
 * A shape we do not know is kept whole in destination.address rather than guessed at.
 */
export function parseDeliveredTo(value: string): Destination | undefined {
  const text = value.trim();
  if (text === '' || text.toLowerCase() === 'none') return undefined;
  const open = text.indexOf('[');
  const close = open === -1 ? -1 : text.indexOf(']', open);
  if (close === -1) {
    if (isIP(text) !== 0) return { address: text, ip: text };
    return isHostName(text) ? { address: text, domain: text } : { address: text };
  }
  const host = text.slice(0, open);
  const ip = text.slice(open + 1, close);
  const destination: Destination = { address: host !== '' ? host : ip };
  if (host !== '' && isHostName(host)) destination.domain = host;
  if (isIP(ip) !== 0) destination.ip = ip;
  const port = parsePort(text.slice(close + 1));
  if (port !== undefined) destination.port = port;
  return destination;
}

/** `:25` → 25. */
function parsePort(text: string): number | undefined {
  if (text.length < 2 || text.length > 6 || !text.startsWith(':')) return undefined;
  let port = 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    port = port * 10 + (c - 48);
  }
  return port <= 65535 ? port : undefined;
}

/** Letters, digits, dots, hyphens and underscores, with at least one letter (so `1.2.3` is not a host). */
function isHostName(text: string): boolean {
  if (text.length > 253) return false;
  let letter = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) letter = true;
    else if (!((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95)) return false;
  }
  return letter;
}

/** Collects the related.* values of one document: each kind de-duplicated, in order of appearance. */
export class Related {
  private readonly ip = new Set<string>();
  private readonly hash = new Set<string>();
  private readonly hosts = new Set<string>();
  private readonly user = new Set<string>();

  addIp(value: string | undefined): void {
    if (value !== undefined && isIP(value) !== 0) this.ip.add(value);
  }

  addHash(value: string | undefined): void {
    if (value !== undefined) this.hash.add(value);
  }

  addHost(value: string | undefined): void {
    if (value !== undefined) this.hosts.add(value);
  }

  addUsers(values: readonly string[] | undefined): void {
    if (values !== undefined) for (const value of values) this.user.add(value);
  }

  toEcs(): Record<string, unknown> | undefined {
    return compact({
      ip: list(this.ip),
      hash: list(this.hash),
      hosts: list(this.hosts),
      user: list(this.user),
    });
  }
}

function list(values: Set<string>): string[] | undefined {
  return values.size === 0 ? undefined : [...values];
}

/** error.message listing the fields that were ignored, or undefined when the record was clean. */
export function problemReport(problems: readonly string[]): { message: string } | undefined {
  if (problems.length === 0) return undefined;
  return {
    message:
      `Ignored part of the TMES record: ${problems.join('; ')}. ` +
      'The record is kept whole in "message"; check what the API sent.',
  };
}

/** What every mapping writes last: network.direction, related, trendmicro.email and error. */
export function finishDocument(
  document: EcsDocument,
  end: {
    flow: 'inbound' | 'outbound' | undefined;
    related: Related;
    trendmicroEmail: Record<string, unknown> | undefined;
    problems: readonly string[];
  },
): EcsDocument {
  assign(document, 'network', end.flow === undefined ? undefined : { direction: end.flow });
  assign(document, 'related', end.related.toEcs());
  assign(
    document,
    'trendmicro',
    end.trendmicroEmail === undefined ? undefined : { email: end.trendmicroEmail },
  );
  assign(document, 'error', problemReport(end.problems));
  return document;
}

/** The record as compact JSON, the `message` Sekoia's parser reads; never throws (BigInt, cycles). */
export function rawMessage(record: unknown): string {
  try {
    const json = JSON.stringify(record) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // Not JSON-serialisable: fall through to a plain description.
  }
  try {
    return String(record);
  } catch {
    return `[unprintable ${typeof record}]`;
  }
}
