#!/usr/bin/env node
// Runs the e2e scenario (real Claude Code against the mock API) once per Claude Code version:
// each is installed into .cache/claude-code/<version>/ (git-ignored; node_modules keeps the
// devDependency) and handed to the tests through TABCREW_TEST_CLAUDE.
//
//   npm run test:claude-versions                 every version in src/claude/versions.ts
//   npm run test:claude-versions -- 2.1.340      the given versions (to try a new release)
//
// Ends with one line per version ("2.1.332  passed  42 passed, 0 failed") and exits 1 when
// any version failed or could not be installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIO = ['test/e2e/agents.test.ts', 'test/e2e/recovery.test.ts', 'test/e2e/first-run.test.ts'];
const VERSION = /^\d+\.\d+\.\d+$/;

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

const build = run('npm', ['run', 'build']);
if (build.status !== 0) {
  console.error('npm run build failed: fix the build first.');
  process.exit(1);
}
const { VERIFIED_CLAUDE_CODE_VERSIONS } = await import(join(root, 'dist', 'claude', 'versions.js'));
const versions = process.argv.slice(2).length ? process.argv.slice(2) : [...VERIFIED_CLAUDE_CODE_VERSIONS];
for (const v of versions) {
  if (!VERSION.test(v)) {
    console.error(`"${v}" is not a version number (like 2.1.332).`);
    process.exit(2);
  }
}

/** Installs @anthropic-ai/claude-code@version into the cache once; returns its claude, or throws why not. */
function install(version) {
  const dir = join(root, '.cache', 'claude-code', version);
  const bin = join(dir, 'node_modules', '.bin', 'claude');
  const works = () => spawnSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).stdout?.includes(version);
  if (existsSync(bin) && works()) return bin;
  mkdirSync(dir, { recursive: true });
  // Its own package.json, so npm installs here and never into the project's node_modules.
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  const npm = run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', `@anthropic-ai/claude-code@${version}`]);
  if (npm.status !== 0) throw new Error(`npm install @anthropic-ai/claude-code@${version} failed`);
  // npm may skip the package's postinstall, which puts the native binary in place (as .ci/run does).
  if (!works()) run(process.execPath, [join(dir, 'node_modules', '@anthropic-ai', 'claude-code', 'install.cjs')], { cwd: dir });
  if (!works()) throw new Error(`${bin} --version does not answer ${version}`);
  return bin;
}

const summary = [];
for (const version of versions) {
  console.log(`\n=== Claude Code ${version} ===`);
  let bin;
  try {
    bin = install(version);
  } catch (err) {
    summary.push({ version, ok: false, line: `not installed: ${err.message}` });
    continue;
  }
  const results = join(root, '.cache', 'claude-code', version, 'results.json');
  const vitest = run(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...SCENARIO, '--reporter=default', '--reporter=json', `--outputFile.json=${results}`],
    {
      env: { ...process.env, TABCREW_TEST_CLAUDE: bin },
    },
  );
  let line = `vitest exited with ${vitest.status ?? vitest.signal}`;
  try {
    const r = JSON.parse(readFileSync(results, 'utf8'));
    line = `${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : '');
    const failed = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName));
    if (failed.length) line += `\n    failed: ${failed.join('\n    failed: ')}`;
  } catch {
    /* no results file: the status line says why */
  }
  summary.push({ version, ok: vitest.status === 0, line });
}

console.log('\nClaude Code versions (e2e scenario: ' + SCENARIO.join(', ') + '):');
for (const s of summary) console.log(`  ${s.version.padEnd(10)} ${s.ok ? 'passed' : 'FAILED'}  ${s.line}`);
try {
  console.log(`  (devDependency: ${execFileSync(join(root, 'node_modules', '.bin', 'claude'), ['--version'], { encoding: 'utf8' }).trim()})`);
} catch {
  /* not installed: nothing to add */
}
process.exit(summary.every((s) => s.ok) ? 0 : 1);
