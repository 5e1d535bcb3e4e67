import { PassThrough } from 'node:stream';
import { reportCrash } from '../../cli';
import { EXIT, EXIT_CODES, exitCodesHelp } from '../../cli/exit-codes';

describe('exit codes', () => {
  it('give each meaning its own code, 2 staying the usage error', () => {
    const codes = Object.values(EXIT_CODES).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT).toEqual({
      ok: 0,
      failed: 1,
      usage: 2,
      configuration: 3,
      inputSkipped: 4,
      inputUnreadable: 5,
      internalError: 70,
    });
  });

  it('lists only the asked meanings in a command help, wrapped', () => {
    const help = exitCodesHelp(['ok', 'usage']);
    expect(help.split('\n')[0]).toBe('Exit codes:');
    expect(help).toContain(' 0  Done');
    expect(help).toContain(' 2  The command line is wrong');
    expect(help).not.toContain(' 1  ');
    for (const line of exitCodesHelp().split('\n')) expect(line.length).toBeLessThanOrEqual(96);
  });

  it('an error no command handled exits 70 with its message (the process entry uses this)', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(reportCrash(new Error('boom'), stderr)).toBe(70);
    expect(text).toBe('Unexpected error: boom\n');
  });
});
