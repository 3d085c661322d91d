// ESLint flat config: eslint's and typescript-eslint's recommended rules, with Prettier owning
// layout (eslint-config-prettier turns off every rule that would fight it). `npm run lint`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'state/', 'logs/', 'runtime/', '.ci/results.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_` marks a parameter a callback must accept but does not use (execFile's, commander's).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Terminal screens are matched with control characters (ESC, BEL, NUL) on purpose.
      'no-control-regex': 'off',
      // A `while (true)` with bounded breaks reads better than a contrived condition.
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The mock Anthropic API and the test clients handle arbitrary JSON from Claude Code and MCP.
    files: ['test/**/*.{ts,mjs}', 'bench/**/*.{ts,mjs}'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // A JXA program for osascript: a script (not a module) whose globals are macOS's, and whose
    // `run` is called by osascript, not by this file.
    files: ['scripts/applescript/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { Application: 'readonly', ObjC: 'readonly', $: 'readonly', Path: 'readonly', delay: 'readonly' } },
    rules: { 'no-unused-vars': ['error', { varsIgnorePattern: '^run$', args: 'none' }], '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    // The dashboard page runs in the browser (bundled by scripts/bundle-dashboard.mjs).
    files: ['src/server/http/dashboard/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  prettier,
);
