import { join } from 'node:path';
import { SpoolReader } from './events.js';
import type { HookRecord } from './hook-record.js';
import { statusFromHooks, type DerivedStatus } from './hook-status.js';
import { TranscriptReader, transcriptPath, type UsageTotals } from './transcript.js';
import type { FileLook } from '../util/file-look.js';

export interface Tokens {
  input: number;
  output: number;
  cache_read: number;
  cache_creation: number;
}

/**
 * What tabcrew reads about one running conversation without touching its terminal: the
 * hook spool and the transcript, both read incrementally (only appended bytes).
 */
export class AgentWatch {
  readonly spool: SpoolReader;
  private transcript?: TranscriptReader;

  constructor(
    readonly claudeSessionId: string,
    eventsFile: string,
    private readonly root: string,
    private readonly claudeConfigDir: string,
    /** Resolves when the spool changes or after `ms` (supervisor/spool-changes.ts); a plain wait without it. */
    private readonly spoolChange: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.spool = new SpoolReader(eventsFile);
  }

  /** Waits until a hook writes to the spool, at most `ms` (a poll's pause that ends early). */
  nextChange(ms: number): Promise<void> {
    return this.spoolChange(ms);
  }

  /** Reads what the hooks appended; with `look`, through that look's stat of the spool. */
  async refresh(look?: FileLook): Promise<HookRecord[]> {
    return this.spool.refresh(look);
  }

  /** Status from hooks; with `launch`, only from records of that launch. */
  hookStatus(launch?: string): DerivedStatus | undefined {
    const records = launch ? this.spool.records.filter((r) => r.launch === launch) : this.spool.records;
    return statusFromHooks(records, this.claudeSessionId);
  }

  /** Records of this conversation after position `mark` of the spool. */
  since(mark: number): HookRecord[] {
    return this.spool.records.slice(mark).filter((r) => r.session_id === this.claudeSessionId);
  }

  /** Hooks hand over the transcript path directly; the computed one is the fallback. */
  transcriptPath(): string {
    for (let i = this.spool.records.length - 1; i >= 0; i--) {
      const r = this.spool.records[i];
      if (r.session_id === this.claudeSessionId && r.transcript_path) return r.transcript_path;
    }
    return transcriptPath(this.claudeConfigDir, this.root, this.claudeSessionId);
  }

  /** The transcript as far as written; with `look`, through that look's stat of it. */
  async readTranscript(look?: FileLook): Promise<{
    tokens: Tokens;
    byModel: Map<string, UsageTotals>;
    lastReply?: string;
    replyFinal: boolean;
    lastPrompt?: string;
    path: string;
    /** When the transcript was last written (undefined: none yet). */
    modifiedAt?: number;
  }> {
    const path = this.transcriptPath();
    if (!this.transcript || this.transcript.path !== path) this.transcript = new TranscriptReader(path);
    await this.transcript.refresh(look);
    const u = this.transcript.usage;
    return {
      tokens: { input: u.input, output: u.output, cache_read: u.cache_read, cache_creation: u.cache_creation },
      byModel: this.transcript.usageByModel,
      lastReply: this.transcript.lastReply,
      replyFinal: this.transcript.lastReplyFinal,
      lastPrompt: this.transcript.lastPrompt,
      path,
      modifiedAt: this.transcript.modifiedAt,
    };
  }
}

export function claudeConfigDir(env: NodeJS.ProcessEnv): string {
  return env.CLAUDE_CONFIG_DIR || join(env.HOME ?? '', '.claude');
}
