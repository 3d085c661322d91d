import { watch, type FSWatcher } from 'node:fs';
import { access, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../audit/logger.js';
import { PERMISSIONS_DIR } from '../claude/permission-files.js';

/** What moved in the runtime folder: an agent's hook spool, its permission requests, or the set of agents. */
export type RuntimeActivity = { what: 'spool' | 'permissions'; claudeSessionId: string } | { what: 'agents' };

/** Agents' folders watched at most (each is an inotify watch, two with its permissions folder). */
const MAX_WATCHED = 512;

/**
 * Hook activity as the OS reports it, so that `serve` need not poll for it: fs.watch on
 * `<runtime>/agents`, on each agent's folder (its hook spool, events.jsonl) and on its
 * permissions folder. Watching starts with the first listener and stops with the last; a
 * platform or folder where watching fails reports nothing, and the listeners' slow safety
 * polls (each owner keeps one) still find what changed.
 */
export class RuntimeWatch {
  private readonly listeners = new Set<(a: RuntimeActivity) => void>();
  private readonly watchers = new Map<string, FSWatcher>();
  private syncing?: Promise<void>;
  /** A sync was asked for while one ran: a folder made after that one read the list would go unwatched. */
  private again = false;
  private readonly agentsDir: string;

  constructor(
    runtimeDir: string,
    private readonly log: Pick<Logger, 'debug'>,
  ) {
    this.agentsDir = join(runtimeDir, 'agents');
  }

  /** Calls `listener` on each change; returns the unsubscribe. */
  on(listener: (a: RuntimeActivity) => void): () => void {
    this.listeners.add(listener);
    void this.sync();
    return () => {
      this.listeners.delete(listener);
      if (!this.listeners.size) this.close();
    };
  }

  /** Watches the agents' folders that exist now (a new agent's folder is picked up as it appears). */
  sync(): Promise<void> {
    if (!this.listeners.size) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncNow();
      } while (this.again && this.listeners.size);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private async syncNow(): Promise<void> {
    // Made as a launch makes it (private), so the first agent's folder is seen appearing.
    await mkdir(this.agentsDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
    const wanted = new Set([this.agentsDir]);
    this.add(this.agentsDir, () => {
      this.emit({ what: 'agents' });
      void this.sync();
    });
    let ids: string[] = [];
    try {
      ids = (await readdir(this.agentsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      // not readable now: the next sync tries again
    }
    for (const id of ids.slice(-MAX_WATCHED)) {
      const dir = join(this.agentsDir, id);
      const permissions = join(dir, PERMISSIONS_DIR);
      wanted.add(dir);
      this.add(dir, (file) => {
        if (file === PERMISSIONS_DIR) {
          void this.sync();
          this.emit({ what: 'permissions', claudeSessionId: id });
        } else this.emit({ what: 'spool', claudeSessionId: id });
      });
      if (!(await exists(permissions))) continue;
      wanted.add(permissions);
      this.add(permissions, () => this.emit({ what: 'permissions', claudeSessionId: id }));
    }
    // Folders of deleted agents are let go, so a long-lived server keeps watching new ones.
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
  }

  private add(dir: string, onEvent: (file: string | null) => void): void {
    if (this.watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (_type, file) => onEvent(file === null ? null : String(file)));
      w.on('error', () => {
        // The folder went away (an agent deleted): forget it; the next sync watches what is there.
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    } catch (e) {
      this.log.debug('runtime folder not watched', { dir, error: (e as Error).message });
    }
  }

  private emit(a: RuntimeActivity): void {
    for (const l of this.listeners) {
      try {
        l(a);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );
