/** The README's settings table, rendered from the trigger's `arguments` schema (one source of truth). */
interface Property {
  title?: string;
  description?: string;
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  items?: { enum?: unknown[] };
}

export interface ArgumentsSchema {
  properties: Record<string, Property>;
  required: string[];
  secrets?: string[];
}

export function renderSettingsTable(schema: ArgumentsSchema): string {
  const rows = Object.entries(schema.properties).map(([name, p]) => {
    const required = schema.required.includes(name) ? 'yes' : 'no';
    const secret = schema.secrets?.includes(name) === true ? ' (secret)' : '';
    const def = p.default === undefined ? '' : `\`${JSON.stringify(p.default)}\``;
    return `| \`${name}\`${secret} | ${p.title ?? ''} | ${required} | ${typeOf(p)} | ${def} | ${escape(p.description ?? '')} |`;
  });
  return [
    '| Setting | Form label | Required | Type | Default | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function typeOf(p: Property): string {
  const range =
    p.minimum !== undefined && p.maximum !== undefined ? ` ${String(p.minimum)}–${String(p.maximum)}` : '';
  const values = p.enum ?? p.items?.enum;
  const choices = values === undefined ? '' : ` of ${values.map((v) => `\`${String(v)}\``).join(', ')}`;
  return `${p.type ?? ''}${range}${choices}`;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}
