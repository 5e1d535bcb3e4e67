import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exitCodesMarkdown } from '../../cli/exit-codes';
import { renderSettingsTable, type ArgumentsSchema } from './settings-table';

const root = resolve(__dirname, '../..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const trigger = JSON.parse(readFileSync(resolve(root, 'trigger_fetch_new_logs.json'), 'utf8')) as {
  arguments: ArgumentsSchema;
};

describe('README', () => {
  it('has the settings table of trigger_fetch_new_logs.json, exactly', () => {
    const start = readme.indexOf('<!-- settings-table:start -->');
    const end = readme.indexOf('<!-- settings-table:end -->');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const table = readme.slice(start + '<!-- settings-table:start -->'.length, end).trim();
    // On failure, paste the expected table into the README between the two markers.
    expect(table).toBe(renderSettingsTable(trigger.arguments));
  });

  it('has the exit-code table of cli/exit-codes.ts, exactly', () => {
    const start = readme.indexOf('<!-- exit-codes:start -->');
    const end = readme.indexOf('<!-- exit-codes:end -->');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    // On failure, paste exitCodesMarkdown() into the README between the two markers.
    expect(readme.slice(start + '<!-- exit-codes:start -->'.length, end).trim()).toBe(exitCodesMarkdown());
  });

  it('shows the two commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
