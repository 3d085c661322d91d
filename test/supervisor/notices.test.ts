import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/audit/logger.js';
import { Notices, type Notice } from '../../src/supervisor/notices.js';
import type { StatusChange } from '../../src/supervisor/observer.js';

/** An agent that starts waiting on a person is a notice, with the reason and what to do. */
describe('notices of an agent waiting on a person', () => {
  it('a permission, a question and a plan approval are told with their own reason and answer_request as the way', () => {
    let change: (c: StatusChange) => void = () => undefined;
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    const notices = new Notices({ config: { notify: false }, env: {}, log: quiet, observer: { onChange: (l) => void (change = l) } });
    const told: Notice[] = [];
    notices.onNotice((n) => told.push(n));
    const to = (status: string) => change({ agent: 'Agent_1', session_id: 's-a', from: 'busy', to: status, source: 'hook', at: '' } as unknown as StatusChange);
    for (const s of ['waiting_permission', 'waiting_answer', 'waiting_plan_approval', 'busy', 'idle']) to(s);
    expect(told.map((n) => [n.reason, n.message])).toEqual([
      ['permission', 'Agent_1 is waiting for a permission answer.'],
      ['question', 'Agent_1 is waiting for an answer to its question.'],
      ['plan_approval', 'Agent_1 is waiting for its plan to be approved.'],
    ]);
    expect(told[1]!.action).toMatch(/answer_request \(list_pending_requests shows it\)/);
  });
});
