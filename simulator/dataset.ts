/**
 * Seeded generator of realistic TMES log records (accepted/blocked mail tracking, policy
 * events). The same options always give the same records, so tests, the demo and the
 * benchmarks can share one dataset and assert on it.
 */
import {
  ACCEPTED_ACTIONS,
  BLOCKED_REASONS,
  EXTERNAL_DOMAINS,
  FILE_NAMES,
  POLICY_ACTIONS,
  POLICY_EVENT_KINDS,
  SUBJECTS,
  SYSTEM_SENDERS,
  TENANT_DOMAINS,
  TLS_INFO,
  URLS,
  USERS,
  policyDetails,
} from './dataset-vocabulary';
import { STREAM_NAMES, type StreamName } from '../trigger_fetch_new_logs/streams';
import { SeededRandom, hash32 } from './seeded-random';

export type { StreamName };
/** The API's log types: the trigger's list (one source), under the simulator's name for it. */
export const STREAMS: readonly StreamName[] = STREAM_NAMES;
export type TmesRecord = Record<string, unknown>;

export interface GenerateOptions {
  /** genTime range, epoch ms, both inclusive. */
  start: number;
  end: number;
  counts: Partial<Record<StreamName, number>>;
  seed?: number;
  /** Fraction of mail-tracking records whose genTime has milliseconds (default 0.5). */
  msPrecision?: number;
  /**
   * Unknown: how much later than its `timestamp` a log is generated. When set, every record's
   * timestamp is genTime minus 0..genTimeLagMs (mail-tracking timestamps are then cut to the
   * second, so up to a second more); the quarantined sample has genTime 79 s after timestamp.
   * Default: timestamp 15 s before to 3 s after genTime, as in the other public samples.
   */
  genTimeLagMs?: number;
  /**
   * Fraction of records replaced by an exact copy of the record before them (identical in
   * every field, served as separate entries): blocked traffic logged to the second with the
   * same sender, recipient and IP. Counts stay exact; default 0.
   */
  twinRate?: number;
}

/** A record with its genTime in ms, so callers can sort without re-parsing. */
interface Timed {
  t: number;
  record: TmesRecord;
}

/** What every record of one message shares (one record per recipient, or per policy event). */
interface Message {
  t: number;
  msPrecision: boolean;
  direction: 'in' | 'out';
  sender: string;
  recipients: string[];
  shared: Shared;
}

export function generateDataset(o: GenerateOptions): Record<StreamName, TmesRecord[]> {
  if (!Number.isFinite(o.start) || !Number.isFinite(o.end) || o.end < o.start) {
    throw new RangeError(`generateDataset: end (${o.end}) must be a time at or after start (${o.start})`);
  }
  if (o.genTimeLagMs !== undefined && !(o.genTimeLagMs >= 0)) {
    throw new RangeError(`generateDataset: genTimeLagMs must be >= 0, got ${o.genTimeLagMs}`);
  }
  const result = { accepted_traffic: [], blocked_traffic: [], policy_events: [] } as Record<
    StreamName,
    TmesRecord[]
  >;
  STREAMS.forEach((stream, index) => {
    const count = o.counts[stream] ?? 0;
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`generateDataset: counts.${stream} must be a non-negative integer, got ${count}`);
    }
    // One generator per stream: changing one stream's count leaves the others identical.
    const rng = new SeededRandom(hash32(o.seed ?? 1, index));
    const timed = generateStream(stream, count, o, rng);
    const records = timed.sort((a, b) => a.t - b.t).map((entry) => entry.record);
    // Own generator: twins leave every other draw, and so the rest of the dataset, unchanged.
    result[stream] = withTwins(
      records,
      o.twinRate ?? 0,
      new SeededRandom(hash32(o.seed ?? 1, index, 0x7417)),
    );
  });
  return result;
}

/** Replaces a `rate` of the records by a deep copy of their predecessor (same genTime: still sorted). */
function withTwins(records: TmesRecord[], rate: number, rng: SeededRandom): TmesRecord[] {
  if (!(rate >= 0 && rate <= 1))
    throw new RangeError(`generateDataset: twinRate must be in [0, 1], got ${rate}`);
  if (rate === 0) return records;
  for (let i = 1; i < records.length; i++) {
    const previous = records[i - 1];
    if (previous !== undefined && rng.chance(rate)) records[i] = structuredClone(previous);
  }
  return records;
}

function generateStream(stream: StreamName, count: number, o: GenerateOptions, rng: SeededRandom): Timed[] {
  const out: Timed[] = [];
  const messages = messageSizes(stream, count, rng);
  const times = sortedTimes(messages.length, o.start, o.end, rng);
  messages.forEach((size, i) => {
    // Policy events carry milliseconds in every sample; mail tracking mixes s and ms.
    const msPrecision = stream === 'policy_events' || rng.chance(o.msPrecision ?? 0.5);
    const recipients = stream === 'policy_events' ? rng.int(1, 3) : size;
    const message = newMessage(rng, times[i] ?? o.start, msPrecision, recipients, o.genTimeLagMs);
    for (let n = 0; n < size; n++) out.push(recordOf(stream, message, n, o, rng));
  });
  return out;
}

/** Records per message: one per recipient for mail tracking, a few events per message for policy. */
function messageSizes(stream: StreamName, count: number, rng: SeededRandom): number[] {
  const choices: readonly (readonly [number, number])[] =
    stream === 'accepted_traffic'
      ? [
          [1, 70],
          [2, 14],
          [3, 8],
          [4, 4],
          [6, 2],
          [10, 1.5],
          [25, 0.5],
        ]
      : stream === 'blocked_traffic'
        ? [
            [1, 85],
            [2, 10],
            [3, 5],
          ]
        : [
            [1, 80],
            [2, 15],
            [3, 5],
          ];
  const sizes: number[] = [];
  for (let left = count; left > 0;) {
    const size = Math.min(left, rng.weighted(choices));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

function sortedTimes(n: number, start: number, end: number, rng: SeededRandom): Float64Array {
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = start + Math.floor(rng.next() * (end - start + 1));
  return times.sort();
}

function newMessage(
  rng: SeededRandom,
  t: number,
  msPrecision: boolean,
  recipientCount: number,
  lagMs: number | undefined,
): Message {
  const direction = rng.chance(0.7) ? 'in' : 'out';
  const [senderDomains, recipientDomains] =
    direction === 'in' ? [EXTERNAL_DOMAINS, TENANT_DOMAINS] : [TENANT_DOMAINS, EXTERNAL_DOMAINS];
  const local = rng.chance(0.2) ? rng.pick(SYSTEM_SENDERS) : rng.pick(USERS);
  const recipients = new Set<string>();
  const domain = rng.pick(recipientDomains);
  while (recipients.size < recipientCount) {
    const user = rng.pick(USERS);
    recipients.add(
      recipients.has(`${user}@${domain}`) ? `${user}.${recipients.size}@${domain}` : `${user}@${domain}`,
    );
  }
  const sender = `${local}@${rng.pick(senderDomains)}`;
  return {
    t,
    msPrecision,
    direction,
    sender,
    recipients: [...recipients],
    shared: sharedFields(rng, t, sender, recipients, lagMs),
  };
}

function recordOf(stream: StreamName, m: Message, n: number, o: GenerateOptions, rng: SeededRandom): Timed {
  // Recipients of one message are logged at the same instant, or a few hundred ms apart.
  const near = n > 0 && rng.chance(0.2) ? Math.min(o.end, m.t + rng.int(1, 900)) : m.t;
  const t = precise(near, m.msPrecision, o.start, o.end);
  switch (stream) {
    case 'accepted_traffic':
      return { t: t.t, record: acceptedRecord(m, n, t.text, rng) };
    case 'blocked_traffic':
      return { t: t.t, record: blockedRecord(m, n, t.text, rng) };
    case 'policy_events':
      return { t: t.t, record: policyEvent(m, t, rng, o.genTimeLagMs) };
  }
}

interface PreciseTime {
  t: number;
  text: string;
}

/** genTime text at s or ms precision; an s-precision value never falls outside [start, end]. */
function precise(t: number, ms: boolean, start: number, end: number): PreciseTime {
  if (!ms) {
    const floor = Math.floor(t / 1000) * 1000;
    const ceil = floor === t ? t : floor + 1000;
    const seconds = floor >= start ? floor : ceil <= end ? ceil : undefined;
    if (seconds !== undefined) return { t: seconds, text: isoSeconds(seconds) };
  }
  return { t, text: new Date(t).toISOString() };
}

function isoSeconds(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/** Per-message values that every record of one message repeats. */
interface Shared {
  timestamp: string;
  deliveryTime: string;
  mailID: string;
  messageID: string;
  subject: string;
  size: number;
  headerFrom: string;
  headerTo: string[];
  senderIP: string;
  tlsInfo: string;
  /** undefined: the key is absent; [] and lists happen too. */
  attachments: TmesRecord[] | undefined;
  embeddedUrls: string[] | undefined;
  /** Blocked mail refused before DATA has no subject, headers, size or attachments. */
  contentKnown: boolean;
}

function sharedFields(
  rng: SeededRandom,
  t: number,
  sender: string,
  recipients: Set<string>,
  lagMs: number | undefined,
): Shared {
  // timestamp (event time) may be before or after genTime, as in the public samples; one draw
  // either way, so genTimeLagMs changes the timestamps and nothing else.
  const stamp = lagMs === undefined ? t + rng.int(-15_000, 3_000) : t - rng.int(0, lagMs);
  const domain = sender.split('@')[1] ?? 'example.com';
  return {
    timestamp: isoSeconds(stamp),
    deliveryTime: isoSeconds(stamp + rng.int(0, 10_000)),
    mailID: rng.uuid(),
    messageID: rng.chance(0.5)
      ? `<${rng.uuid()}@${domain}>`
      : `<${compactDate(stamp)}.${rng.hex(12).toUpperCase()}@${domain}>`,
    subject: rng.pick(SUBJECTS),
    size: Math.round(Math.exp(7 + rng.next() * 8)),
    headerFrom: rng.chance(0.85) ? sender : `${rng.pick(SYSTEM_SENDERS)}@${domain}`,
    headerTo: [...recipients],
    senderIP: senderIp(rng),
    tlsInfo: rng.pick(TLS_INFO),
    attachments: rng.chance(0.6) ? undefined : rng.chance(0.25) ? [] : attachments(rng),
    embeddedUrls: rng.chance(0.4) ? pickSome(rng, URLS, 3) : undefined,
    contentKnown: rng.chance(0.4),
  };
}

function compactDate(t: number): string {
  return new Date(t).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function senderIp(rng: SeededRandom): string {
  if (rng.chance(0.1)) return `2001:db8:${rng.hex(4)}::${rng.hex(4)}`;
  const prefix = rng.pick(['192.0.2', '198.51.100', '203.0.113']);
  return `${prefix}.${rng.int(1, 254)}`;
}

function attachments(rng: SeededRandom): TmesRecord[] {
  return pickSome(rng, FILE_NAMES, 3).map((fileName) => ({ fileName, sha256: rng.hex(64) }));
}

/** Each record owns its arrays, so a consumer that mutates one record does not change its siblings. */
function copyAttachments(list: readonly TmesRecord[]): TmesRecord[] {
  return list.map((attachment) => ({ ...attachment }));
}

function pickSome<T>(rng: SeededRandom, items: readonly T[], max: number): T[] {
  const picked = new Set<T>();
  for (let i = rng.int(1, max); i > 0; i--) picked.add(rng.pick(items));
  return [...picked];
}

function acceptedRecord(m: Message, n: number, genTime: string, rng: SeededRandom): TmesRecord {
  const s = m.shared;
  const recipient = m.recipients[n] ?? m.recipients[0];
  const action = rng.weighted(ACCEPTED_ACTIONS);
  const handedOver = action === 'Delivered' || action === 'Redirected';
  const attempted =
    handedOver || ['Bounced', 'Deferred', 'Temporary delivery error', 'Expired'].includes(action);
  const record: TmesRecord = { genTime, timestamp: s.timestamp };
  if (attempted) record.deliveryTime = s.deliveryTime;
  Object.assign(record, {
    sender: m.sender,
    direction: m.direction,
    messageID: s.messageID,
    subject: s.subject,
    size: s.size,
    mailID: s.mailID,
    recipient,
    action,
  });
  if (action !== 'Quarantined') Object.assign(record, { tlsInfo: s.tlsInfo });
  Object.assign(record, { headerFrom: s.headerFrom, headerTo: [...s.headerTo] });
  if (action !== 'Quarantined') record.senderIP = s.senderIP;
  if (attempted) record.deliveredTo = handedOver ? deliveredTo(rng, recipient) : 'none';
  if (s.attachments !== undefined) record.attachments = copyAttachments(s.attachments);
  if (s.embeddedUrls !== undefined) record.embeddedUrls = [...s.embeddedUrls];
  const details = acceptedDetails(action, recipient, rng);
  if (details !== undefined) record.details = details;
  return record;
}

function deliveredTo(rng: SeededRandom, recipient: string | undefined): string {
  const ip = `${rng.pick(['10.0.0', '172.16.4', '192.0.2'])}.${rng.int(1, 254)}`;
  if (rng.chance(0.4)) return ip;
  const domain = recipient?.split('@')[1] ?? 'example.com';
  return `${rng.pick(['mx', 'antispam', 'smtp'])}.${domain}[${ip}]:25`;
}

function acceptedDetails(
  action: string,
  recipient: string | undefined,
  rng: SeededRandom,
): string | undefined {
  switch (action) {
    case 'Delivered':
    case 'Redirected':
      return rng.chance(0.6)
        ? `250 2.0.0 Ok: queued as ${rng.hex(10).toUpperCase()}`
        : `250 2.0.0 ${rng.hex(10)}-1 Message accepted for delivery`;
    case 'Bounced':
      return rng.chance(0.5)
        ? `550 5.1.1 <${recipient ?? ''}>: Recipient address rejected: User unknown`
        : `mail for ${recipient?.split('@')[1] ?? 'example.org'} loops back to myself`;
    case 'Deferred':
    case 'Temporary delivery error':
    case 'Expired':
      return rng.pick(['451 4.7.1 Service unavailable - try again later', '421 4.4.2 Connection timed out']);
    default:
      return undefined;
  }
}

const BLOCKED_DETAILS: Record<string, (ip: string, sender: string, recipient: string) => string> = {
  'Email reputation': (ip) =>
    `550 5.7.1 Service unavailable; client [${ip}] blocked using Trend Micro Email Reputation`,
  'Sender Filter': (_ip, sender) => `550 5.7.1 <${sender}>: Sender address rejected: Access denied`,
  'Recipient Filter': (_ip, _sender, rcpt) =>
    `550 5.7.1 <${rcpt}>: Recipient address rejected: Access denied`,
  'Connection rejected': (ip) => `421 4.7.0 [${ip}] Connection rejected`,
  'Invalid recipient': (_ip, _sender, rcpt) =>
    `550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown`,
  'Domain-based Authentication': () => '550 5.7.23 SPF validation failed',
  'Directory Harvest Attack': (ip) => `550 5.7.1 [${ip}] Directory harvest attack detected`,
};

function blockedRecord(m: Message, n: number, genTime: string, rng: SeededRandom): TmesRecord {
  const s = m.shared;
  const recipient = m.recipients[n] ?? m.recipients[0] ?? '';
  const reason = rng.weighted(BLOCKED_REASONS);
  const record: TmesRecord = {
    genTime,
    timestamp: s.timestamp,
    deliveryTime: s.timestamp,
    sender: m.sender,
    direction: m.direction,
    mailID: s.mailID,
    messageID: s.messageID,
    recipient,
    reason,
    tlsInfo: rng.chance(0.8) ? 'upstreamTLS: None; downstreamTLS: None' : s.tlsInfo,
    senderIP: s.senderIP,
    details: (BLOCKED_DETAILS[reason] ?? BLOCKED_DETAILS['Email reputation'])?.(
      s.senderIP,
      m.sender,
      recipient,
    ),
  };
  if (s.contentKnown) {
    Object.assign(record, {
      subject: s.subject,
      headerFrom: s.headerFrom,
      headerTo: [...s.headerTo],
      size: s.size,
    });
    if (s.attachments !== undefined && s.attachments.length > 0)
      record.attachments = copyAttachments(s.attachments);
  }
  return record;
}

const POLICY_EVENT_WEIGHTS = POLICY_EVENT_KINDS.map((kind) => [kind, kind.weight] as const);

function policyEvent(m: Message, t: PreciseTime, rng: SeededRandom, lagMs: number | undefined): TmesRecord {
  const kind = rng.weighted(POLICY_EVENT_WEIGHTS);
  const [subtype, detailsKind] = rng.pick(kind.subtypes);
  const s = m.shared;
  const domainName = (m.direction === 'in' ? m.recipients[0] : m.sender)?.split('@')[1] ?? 'example.com';
  const stamp = lagMs === undefined ? t.t + rng.int(0, 2_000) : t.t - rng.int(0, lagMs);
  const record: TmesRecord = {
    timestamp: new Date(stamp).toISOString(),
    genTime: t.text,
    eventType: kind.eventType,
    eventSubtype: subtype,
    domainName,
    sender: m.sender,
    headerFrom: s.headerFrom,
    recipients: [...m.recipients],
    headerTo: [...s.headerTo],
    direction: m.direction,
    messageID: s.messageID,
    subject: s.subject,
    size: s.size,
    policyName: `${kind.policy} policy: ${domainName}: ${kind.eventType}`,
    policyAction: rng.pick(POLICY_ACTIONS),
  };
  const details = policyDetails(rng, detailsKind);
  // The API sends details as a JSON-encoded STRING, not an object.
  if (details !== undefined) record.details = JSON.stringify(details);
  return record;
}
