/**
 * Python's `json.dumps(value, indent=2)` in TypeScript: the exact bytes the Sekoia
 * automation-library linter expects of every JSON file (2-space indent, "," at line ends,
 * ": " after keys, non-ASCII escaped as lowercase \uXXXX, key order kept, no trailing newline).
 */
export function pythonJsonDumps(value: unknown, indent = 2): string {
  return dump(value, indent, 0);
}

function dump(value: unknown, indent: number, depth: number): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonString(value);
  const inner = ' '.repeat(indent * (depth + 1));
  const outer = ' '.repeat(indent * depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item) => inner + dump(item, indent, depth + 1));
    return `[\n${items.join(',\n')}\n${outer}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const items = entries.map(([k, v]) => `${inner}${pythonString(k)}: ${dump(v, indent, depth + 1)}`);
    return `{\n${items.join(',\n')}\n${outer}}`;
  }
  throw new TypeError(`Python json.dumps cannot serialise ${typeof value}`);
}

function pythonNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  // Python pads exponents to two digits (1e-07). JSON.parse does not keep 1.0 apart from 1, so
  // a file holding such floats cannot round-trip: none of ours does.
  return String(value).replace(/e([+-])(\d)$/, (_match, sign: string, digit: string) => `e${sign}0${digit}`);
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** ensure_ascii=True: everything outside printable ASCII (0x20-0x7e) is \uXXXX, lowercase hex. */
export function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    const code = text.charCodeAt(i);
    const escape = ESCAPES[ch];
    if (escape !== undefined) out += escape;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
