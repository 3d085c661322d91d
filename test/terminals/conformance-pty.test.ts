import { PtyBackend } from '../../src/terminals/pty.js';
import { conformance } from './conformance.js';

conformance('pty', async () => {
  const backend = new PtyBackend();
  return { backend, cleanup: () => backend.dispose() };
});
