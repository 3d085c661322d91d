import { InvalidArgumentError } from 'commander';
import type { Config } from '../config.js';
import { sanitizeForTerminal } from '../terminals/sanitize.js';
import { openStack } from './stack.js';
import { ago, printJson, printTable } from './table.js';

/** "3h", "90m", "45s" or a number of seconds. */
export function parseDuration(value: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('give a duration such as 3h, 90m, 600s or 600 (seconds).');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

/** `tabcrew messages`: agent messages of the state, without their text. */
export async function messagesCommand(config: Config, opts: { session?: string; agent?: string; json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const state = await stack.store.read();
    const sessions = opts.session === undefined ? state.sessions : [state.sessions.find((s) => s.id === opts.session || s.name === opts.session)];
    // An unknown session fails with the list of known ones.
    if (opts.session !== undefined && sessions[0] === undefined) await stack.supervisor.sessionNames(opts.session);
    const messages = [];
    for (const s of sessions) messages.push(...(await stack.supervisor.listMessages({ session: s!.id, agent: opts.agent })).messages);
    if (opts.json) printJson({ messages });
    else if (!messages.length) process.stdout.write('no messages\n');
    else
      printTable(
        ['ID', 'FROM', 'TO', 'KIND', 'BYTES', 'SENT', 'STATE'],
        messages.map((m) => [
          m.message_id,
          m.from,
          m.broadcast ? `all (${m.to.join(', ')})` : m.to.join(', '),
          m.kind,
          String(m.bytes),
          ago(m.sent_at),
          m.recipients.map((r) => `${r.agent}: ${r.state}`).join(', '),
        ]),
      );
    return 0;
  } finally {
    await stack.close();
  }
}

/** `tabcrew messages show ID`: the one place a message's text is shown. */
export async function messageShowCommand(config: Config, id: string, opts: { json: boolean }): Promise<number> {
  const stack = await openStack(config);
  try {
    const m = await stack.supervisor.showMessage(id);
    await stack.audit.append({ type: 'message', action: 'shown', message_id: id, via: 'cli' });
    if (opts.json) printJson(m);
    else {
      process.stdout.write(`${m.message_id}  from ${m.from} to ${m.to.join(', ')}  (${m.kind}, ${m.bytes} bytes, sent ${m.sent_at})\n\n`);
      // An agent wrote it: no escape sequence of it may reach the person's terminal.
      const text = sanitizeForTerminal(m.text);
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
    return 0;
  } finally {
    await stack.close();
  }
}
