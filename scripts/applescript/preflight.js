/**
 * Is iTerm2 there, and may tabcrew script it?
 * argv[0]: {}
 * result:  {"running": boolean, "version": string|null}
 *
 * The first Apple event from a new host app makes macOS ask the user for Automation
 * permission and blocks until answered; run with a short timeout at start-up, this one
 * harmless event (`version`) turns that wait into a message saying what to allow.
 */
function run(argv) {
  const app = Application('com.googlecode.iterm2');
  if (!app.running()) return JSON.stringify({ running: false, version: null });
  return JSON.stringify({ running: true, version: String(app.version()) });
}
