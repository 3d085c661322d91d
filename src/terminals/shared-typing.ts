import { Rounds } from '../util/rounds.js';
import type { TabHandle, TabInput, TerminalBackend, TerminalKey } from './backend.js';

interface Typing {
  input: TabInput;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Typing that arrives at the same moment shares round trips, as reads do (shared-reads.ts):
 * a fan-out pastes into 64 tabs and presses Enter in each within moments, one terminal
 * process each otherwise. Typing with none running goes at once, as the bare backend's
 * paste or sendKeys; what arrives meanwhile waits for it and goes, in arrival order, in the
 * backend's next typeMany. Each caller still learns its own outcome: a closed tab fails its
 * own input only. For a backend without typeMany, typing is not held at all.
 */
export class TypingRounds {
  private readonly rounds = new Rounds<Typing>((round) => this.serve(round));

  constructor(private readonly backend: TerminalBackend) {}

  paste(tab: TabHandle, text: string): Promise<void> {
    return this.type({ tab, text });
  }

  sendKeys(tab: TabHandle, keys: readonly TerminalKey[]): Promise<void> {
    return this.type({ tab, keys });
  }

  private type(input: TabInput): Promise<void> {
    if (!this.backend.typeMany) return this.alone(input);
    return new Promise((resolve, reject) => {
      this.rounds.add({ input, resolve, reject });
    });
  }

  private alone(input: TabInput): Promise<void> {
    return 'keys' in input ? this.backend.sendKeys(input.tab, input.keys) : this.backend.paste(input.tab, input.text);
  }

  private async serve(round: Typing[]): Promise<void> {
    if (round.length === 1) {
      const [t] = round;
      await this.alone(t!.input).then(t!.resolve, t!.reject);
      return;
    }
    try {
      const results = await this.backend.typeMany!(round.map((t) => t.input));
      round.forEach((t, i) => (results[i] ? t.reject(results[i]) : t.resolve()));
    } catch (e) {
      for (const t of round) t.reject(e);
    }
  }
}
