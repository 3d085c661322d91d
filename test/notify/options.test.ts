import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { longRunConfig, withLongRunOptions } from '../../src/cli/long-run-options.js';

function parse(args: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = withLongRunOptions(new Command('serve').exitOverride().configureOutput({ writeErr: () => undefined }));
    cmd.parse(args, { from: 'user' });
    return longRunConfig(cmd.opts());
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
  }
}

describe('the --notify-* flags', () => {
  it('--notify-url repeats; the environment adds several; format, level, quiet hours and the dashboard address are read', () => {
    const c = parse([
      '--notify-url',
      'https://a.example/1',
      '--notify-url',
      'https://b.example/2',
      '--notify-format',
      'slack',
      '--notify-min',
      'urgent',
      '--notify-quiet',
      '22:00-07:00',
      '--notify-dashboard-url',
      'https://crew.example.com',
    ]);
    expect(c).toMatchObject({
      notifyUrls: ['https://a.example/1', 'https://b.example/2'],
      notifyFormat: 'slack',
      notifyMin: 'urgent',
      notifyQuiet: { from: 1320, to: 420 },
      notifyDashboardUrl: 'https://crew.example.com',
    });
    expect(parse([], { TABCREW_NOTIFY_URL: 'https://a.example/1 https://b.example/2?token=t', TABCREW_NOTIFY_QUIET: '23:00-06:00' })).toMatchObject({
      notifyUrls: ['https://a.example/1', 'https://b.example/2?token=t'],
      notifyQuiet: { from: 1380, to: 360 },
      notifyFormat: 'json',
      notifyMin: 'info',
    });
  });

  it('a bad quiet-hours value or format is a usage error that says what to give', () => {
    expect(() => parse(['--notify-quiet', '10pm-7am'])).toThrow(/HH:MM-HH:MM/);
    expect(() => parse(['--notify-format', 'xml'])).toThrow(/json, ntfy, slack/);
  });
});
