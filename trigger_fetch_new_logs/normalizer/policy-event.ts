import { FieldReader, isObject, type JsonObject } from './fields';
import { attachmentList, type FileRef } from './attachments';
import {
  addressList,
  assign,
  compact,
  direction,
  finishDocument,
  Related,
  stripAngleBrackets,
  urlHost,
  type EcsDocument,
} from './ecs';

// The ECS category added to "email" per TMES eventType. Detections of malicious content are
// "malware"; detections of malicious senders or links, "intrusion_detection". Spam, content
// filters, DLP and scan exceptions stay plain "email".
const EXTRA_CATEGORY: ReadonlyMap<string, string> = new Map([
  ['Malware', 'malware'],
  ['Ransomware', 'malware'],
  ['Suspicious Objects', 'malware'],
  ['Advanced Persistent Threat', 'malware'],
  ['Web Reputation', 'intrusion_detection'],
  ['Phishing', 'intrusion_detection'],
  ['Business Email Compromise (BEC)', 'intrusion_detection'],
  ['Domain-based Authentication', 'intrusion_detection'],
  ['Unusual Signal', 'intrusion_detection'],
]);

const SPAM_REPORT_FIELDS: readonly (readonly [string, string])[] = [
  ['enginePatternVersion', 'engine_pattern_version'],
  ['spamResultHeader', 'spam_result_header'],
  ['spamRidHeader', 'spam_rid_header'],
  ['snapHeader', 'snap_header'],
  ['spamXGenCloudHeader', 'spam_xgen_cloud_header'],
];

/**
 * A policy event (a policy rule matched a message) → ECS. It is an alert: a detection made by
 * TMES. `details` is a JSON-encoded string whose shape depends on the event type; it is
 * decoded into the file, URL, threat and risk fields, and kept as text when it is not JSON.
 */
export function normalizePolicyEvent(record: JsonObject, message: string): EcsDocument {
  const fields = new FieldReader(record);
  const genTime = fields.date('genTime');
  const time = fields.date('timestamp') ?? genTime;
  const eventType = fields.string('eventType');
  const sender = fields.string('sender');
  const headerFrom = fields.string('headerFrom');
  const recipients = fields.strings('recipients');
  const headerTo = fields.strings('headerTo');
  const flow = direction(fields.string('direction'));
  const messageId = fields.string('messageID');
  const details = readDetails(fields);

  const related = new Related();
  for (const file of details.files) related.addHash(file.sha256);
  for (const url of details.urls) {
    related.addHash(url.attachmentSha256);
    related.addHost(urlHost(url.url));
  }
  related.addUsers([sender, headerFrom].filter((v) => v !== undefined));
  related.addUsers(recipients);
  related.addUsers(headerTo);

  const extraCategory = eventType === undefined ? undefined : EXTRA_CATEGORY.get(eventType);
  const attachments = attachmentList(details.files);
  const urls = [...new Set(details.urls.map((u) => u.url))];

  const document: EcsDocument = {};
  if (time !== undefined) document['@timestamp'] = time;
  document.message = message;
  document.event = compact({
    kind: 'alert',
    category: extraCategory === undefined ? ['email'] : ['email', extraCategory],
    type: ['info'],
    action: fields.string('policyAction'),
    created: genTime,
    dataset: 'trend_micro_email_security.policy_events',
    risk_score: details.riskScore,
  });
  assign(document, 'rule', compact({ name: fields.string('policyName') }));
  assign(
    document,
    'email',
    compact({
      attachments,
      direction: flow,
      from: headerFrom === undefined ? undefined : { address: headerFrom },
      message_id: messageId === undefined ? undefined : stripAngleBrackets(messageId),
      sender: sender === undefined ? undefined : { address: sender },
      subject: fields.string('subject'),
      to: addressList(recipients, headerTo),
    }),
  );
  // ECS file.* and url.* hold ONE file and ONE URL: filled only when the event is about exactly one.
  assign(document, 'file', attachments?.length === 1 ? attachments[0]?.file : undefined);
  assign(
    document,
    'url',
    urls.length === 1 ? compact({ original: urls[0], domain: urlHost(urls[0] ?? '') }) : undefined,
  );
  return finishDocument(document, {
    flow,
    related,
    trendmicroEmail: compact({
      details: details.rawText,
      domain: fields.string('domainName'),
      event_subtype: fields.string('eventSubtype'),
      event_type: eventType,
      size: fields.count('size'),
      spam_report: details.spamReport,
      threat_names: details.threatNames.length === 0 ? undefined : details.threatNames,
      urls: urls.length === 0 ? undefined : urls,
    }),
    problems: fields.problems,
  });
}

interface DetailUrl {
  url: string;
  attachmentSha256: string | undefined;
}

interface Details {
  files: FileRef[];
  urls: DetailUrl[];
  threatNames: string[];
  riskScore: number | undefined;
  spamReport: Record<string, unknown> | undefined;
  /** The original text, kept only when it could not be decoded. */
  rawText: string | undefined;
}

function readDetails(fields: FieldReader): Details {
  const { reader, rawText } = decodeDetails(fields);
  const details: Details = {
    files: [],
    urls: [],
    threatNames: [],
    riskScore: undefined,
    spamReport: undefined,
    rawText,
  };
  if (reader === undefined) return details;
  const threatNames = new Set<string>();
  const risk = new MaxOf();
  addThreatNames(threatNames, reader.strings('threatNames'));
  risk.add(reader.number('riskLevel'));
  for (const file of reader.objects('fileInfo') ?? []) {
    details.files.push({ name: file.string('fileName'), sha256: file.string('fileSha256') });
    addThreatNames(threatNames, file.strings('threatName'));
    risk.add(file.number('riskLevel'));
  }
  for (const item of reader.objects('urlInfo') ?? []) {
    const url = item.string('url');
    if (url !== undefined) details.urls.push({ url, attachmentSha256: item.string('attachmentSha256') });
    risk.add(item.number('riskLevel'));
  }
  details.threatNames = [...threatNames];
  details.riskScore = risk.value;
  details.spamReport = readSpamReport(reader.object('spamReport'));
  return details;
}

/**
 * `details` as a reader. TMES sends a JSON string (or null when the event type has no details);
 * an already-decoded object is accepted too. Text that is not a JSON object is reported, and
 * kept as it is so nothing is lost.
 */
function decodeDetails(fields: FieldReader): { reader?: FieldReader; rawText?: string } {
  const value = fields.value('details');
  if (typeof value !== 'string') return { reader: fields.object('details') };
  if (value === '') return {};
  let decoded: unknown;
  try {
    decoded = JSON.parse(value);
  } catch {
    fields.problems.push('details (not valid JSON; kept as text in trendmicro.email.details)');
    return { rawText: value };
  }
  if (decoded === null) return {};
  if (isObject(decoded)) return { reader: new FieldReader(decoded, fields.problems, 'details.') };
  fields.problems.push('details (JSON but not an object; kept as text in trendmicro.email.details)');
  return { rawText: value };
}

function readSpamReport(report: FieldReader | undefined): Record<string, unknown> | undefined {
  if (report === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [from, to] of SPAM_REPORT_FIELDS) out[to] = report.string(from);
  return compact(out);
}

/** TMES joins several threat names with commas ("Troj,SPY"). */
function addThreatNames(into: Set<string>, values: string[] | undefined): void {
  for (const value of values ?? []) {
    for (const name of value.split(',')) {
      const trimmed = name.trim();
      if (trimmed !== '') into.add(trimmed);
    }
  }
}

/** The largest of the numbers added (a loop: Math.max(...list) overflows the stack on huge lists). */
class MaxOf {
  value: number | undefined;

  add(candidate: number | undefined): void {
    if (candidate !== undefined && (this.value === undefined || candidate > this.value))
      this.value = candidate;
  }
}
