/**
 * The words realistic TMES records are made of: domains, people, subjects, actions, reasons
 * and the policy-event catalogue (event type → subtypes → the shape of `details`). Values are
 * in the style of the public fixtures (tests/fixtures/tmes), never real customer data.
 */
import type { SeededRandom } from './seeded-random';

/** The tenant's own domains (recipients of inbound mail, senders of outbound mail). */
export const TENANT_DOMAINS = ['example.com', 'example.org', 'corp.example.net'] as const;

export const EXTERNAL_DOMAINS = [
  'partner.example',
  'mail.example.net',
  'newsletter.example',
  'supplier.example.co.uk',
  'bad.example',
  'phish.example.info',
  'webmail.example',
  'atl1s07mta2135.xt.local',
] as const;

export const USERS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'jane.doe',
  'john.doe',
  'cedric.martin',
] as const;

export const SYSTEM_SENDERS = ['noreply', 'newsletter', 'billing', 'notifications', 'bounce', 'hr'] as const;

export const SUBJECTS = [
  'Automn is coming',
  'My beautiful subject',
  'Invoice #48213 overdue',
  'Re: Quarterly report',
  'Meeting notes - project kickoff',
  'Your password expires today',
  'Shipment notification',
  'Fwd: contract draft v3',
  'Weekly newsletter',
  'Action required: verify your account',
  'Lunch on Friday?',
  'Re: Re: budget 2026',
  'Scanned document from MFP',
  'Votre facture est disponible',
  'Security alert for your account',
  'response sample',
] as const;

export const FILE_NAMES = [
  'invoice_2024.pdf',
  'attachment.pdf',
  'report.xlsx',
  'photo.jpg',
  'contract.docx',
  'archive.zip',
  'scan0001.pdf',
  'statement.html',
  'setup.exe',
  'test1.zip',
] as const;

export const URLS = [
  'https://sekoia.io',
  'https://aws.amazon.com',
  'https://cloud.google.com',
  'https://www.azure.com',
  'http://example1.com',
  'http://example2.com',
  'https://lemonde.fr',
  'http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd',
  'http://login.phish.example.info/verify?id=42',
] as const;

export const TLS_INFO = [
  'upstreamTLS: TLS 1.2; downstreamTLS: TLS 1.2',
  'upstreamTLS: TLS 1.3; downstreamTLS: TLS 1.3',
  'upstreamTLS: TLS 1.2; downstreamTLS: None',
  'upstreamTLS: TLS 1.3',
  'upstreamTLS: None; downstreamTLS: None',
] as const;

export const ACCEPTED_ACTIONS: readonly (readonly [string, number])[] = [
  ['Delivered', 80],
  ['Quarantined', 5],
  ['Bounced', 3],
  ['Deleted', 3],
  ['Deferred', 2],
  ['Scanning in sandbox', 2],
  ['Temporary delivery error', 1],
  ['Redirected', 1],
  ['Submitted to sandbox', 1],
  ['Password analyzing', 0.5],
  ['Expired', 0.5],
];

export const BLOCKED_REASONS: readonly (readonly [string, number])[] = [
  ['Email reputation', 40],
  ['Sender Filter', 15],
  ['Recipient Filter', 12],
  ['Connection rejected', 12],
  ['Invalid recipient', 10],
  ['Domain-based Authentication', 6],
  ['Directory Harvest Attack', 5],
];

export const POLICY_ACTIONS = [
  'Quarantine',
  'Delete entire message',
  'Bypass',
  'Tag subject',
  'Pass',
  'Strip attachments',
  'Insert stamp',
] as const;

export type DetailsKind = 'file' | 'virus' | 'url' | 'aptFile' | 'aptUrl' | 'spamReport' | 'none';

/** One policy-event type: the `event` request parameter it answers to, its subtypes and details. */
export interface PolicyEventKind {
  eventType: string;
  event: string;
  policy: string;
  weight: number;
  subtypes: readonly (readonly [subtype: string, details: DetailsKind])[];
}

export const POLICY_EVENT_KINDS: readonly PolicyEventKind[] = [
  {
    eventType: 'Domain-based Authentication',
    event: 'anti_spoof',
    policy: 'Anti-spoofing',
    weight: 20,
    subtypes: [
      ['Sender IP Match', 'none'],
      ['SPF', 'none'],
      ['DKIM', 'none'],
      ['DMARC', 'none'],
      ['DMARC - SPF', 'none'],
      ['DMARC - DKIM', 'none'],
      ['DMARC - Alignment', 'none'],
      ['DMARC - Availability', 'none'],
    ],
  },
  {
    eventType: 'Malware',
    event: 'threat',
    policy: 'Virus',
    weight: 8,
    subtypes: [
      ['Predictive Machine Learning', 'virus'],
      ['Pattern-based scanning', 'virus'],
    ],
  },
  {
    eventType: 'Ransomware',
    event: 'threat',
    policy: 'Virus',
    weight: 2,
    subtypes: [
      ['Violating URL', 'url'],
      ['Virus', 'virus'],
    ],
  },
  {
    eventType: 'Suspicious Objects',
    event: 'threat',
    policy: 'Virus',
    weight: 5,
    subtypes: [
      ['Suspicious Files', 'file'],
      ['Suspicious URLs', 'url'],
    ],
  },
  {
    eventType: 'Advanced Persistent Threat',
    event: 'threat',
    policy: 'Advanced Threat Protection',
    weight: 4,
    subtypes: [
      ['Analyzed Advanced Threats (Files)', 'aptFile'],
      ['Analyzed Advanced Threats (URLs)', 'aptUrl'],
      ['Probable Advanced Threats', 'spamReport'],
    ],
  },
  {
    eventType: 'Scan Exception',
    event: 'threat',
    policy: 'Scan Exception',
    weight: 4,
    subtypes: [
      ['Virtual Analyzer scan exception', 'none'],
      ['Virtual Analyzer submission quota exception', 'none'],
      ['Password protected attachment', 'none'],
      ['Other exceptions', 'none'],
    ],
  },
  {
    eventType: 'Web Reputation',
    event: 'threat',
    policy: 'Web Reputation',
    weight: 3,
    subtypes: [['Web Reputation', 'url']],
  },
  { eventType: 'Spam', event: 'spam', policy: 'Spam', weight: 25, subtypes: [['Spam', 'spamReport']] },
  {
    eventType: 'Graymail',
    event: 'spam',
    policy: 'Spam',
    weight: 8,
    subtypes: [
      ['Marketing message', 'spamReport'],
      ['Social network notification', 'spamReport'],
    ],
  },
  {
    eventType: 'Phishing',
    event: 'phishing',
    policy: 'Phishing',
    weight: 5,
    subtypes: [['Phishing', 'spamReport']],
  },
  {
    eventType: 'Business Email Compromise (BEC)',
    event: 'phishing',
    policy: 'BEC',
    weight: 2,
    subtypes: [['Business Email Compromise (BEC)', 'spamReport']],
  },
  {
    eventType: 'Content',
    event: 'content_filter',
    policy: 'Content Filter',
    weight: 5,
    subtypes: [['Content', 'none']],
  },
  {
    eventType: 'Attachment',
    event: 'content_filter',
    policy: 'Attachment Filter',
    weight: 3,
    subtypes: [['Attachment', 'file']],
  },
  {
    eventType: 'Data Loss Prevention',
    event: 'dlp',
    policy: 'DLP',
    weight: 2,
    subtypes: [['Data Loss Prevention', 'none']],
  },
  {
    eventType: 'Unusual Signal',
    event: 'anomaly',
    policy: 'Unusual Signal',
    weight: 1,
    subtypes: [['Unusual Signal', 'none']],
  },
];

/** `event` request parameter → the eventType values it returns (tmes-api.md §1.3). */
export const EVENT_FILTERS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  ['anti_spoof', 'threat', 'spam', 'content_filter', 'dlp', 'phishing', 'anomaly'].map((event) => [
    event,
    new Set(POLICY_EVENT_KINDS.filter((kind) => kind.event === event).map((kind) => kind.eventType)),
  ]),
);

const THREAT_NAMES = ['Troj,SPY', 'Troj', 'TROJ_GEN.R002C0DAB24', 'Ransom.Win32.LOCKBIT.A', 'HTML_PHISH.SMA'];

function fileInfo(rng: SeededRandom, extra: Record<string, string>): Record<string, string>[] {
  return [{ fileName: rng.pick(FILE_NAMES), fileSha256: rng.hex(64), ...extra }];
}

/** The decoded `details` of a policy event, shaped like the official mapping page examples. */
export function policyDetails(rng: SeededRandom, kind: DetailsKind): object | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'file':
      return { fileInfo: fileInfo(rng, {}) };
    case 'virus': {
      const threat = rng.pick(THREAT_NAMES);
      return { threatNames: threat, fileInfo: fileInfo(rng, { threatName: threat }) };
    }
    case 'url':
      return { urlInfo: [{ url: rng.pick(URLS), extractType: 'body' }] };
    case 'aptFile': {
      const risk = String(rng.int(1, 3));
      return { riskLevel: risk, fileInfo: fileInfo(rng, { riskLevel: risk }) };
    }
    case 'aptUrl': {
      const risk = String(rng.int(1, 3));
      const url = {
        url: rng.pick(URLS),
        extractType: 'attachment',
        attachmentName: rng.pick(FILE_NAMES),
        attachmentSha256: rng.hex(64),
        riskLevel: risk,
      };
      return { riskLevel: risk, urlInfo: [url] };
    }
    case 'spamReport':
      return { spamReport: spamReport(rng) };
  }
}

function spamReport(rng: SeededRandom): Record<string, string> {
  const report: Record<string, string> = {
    enginePatternVersion: `9.0.0.${rng.int(1000, 1099)};${rng.int(27000000, 27999999)}`,
    spamResultHeader: `11-${rng.int(5, 15)}.${rng.int(100000, 999999)}-7.000000`,
    spamRidHeader: Buffer.from(rng.hex(48), 'hex').toString('base64'),
  };
  if (rng.chance(0.5)) report.snapHeader = `${rng.int(0, 1)}-${rng.hex(8)}`;
  if (rng.chance(0.3)) report.spamXGenCloudHeader = `${rng.int(0, 3)}:${rng.hex(12)}`;
  return report;
}
