// ESLint flat config: eslint's and typescript-eslint's recommended rules, with Prettier owning
// layout (eslint-config-prettier turns off every rule that would fight it). `npm run lint`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The layers of DESIGN.md, top first: a file may import its own layer and the ones below it,
// never one above (docs/architecture.md). Entry programs sit on top; crew and server share a layer.
const LAYERS = [
  ['src/cli.ts', 'src/cli', 'src/agent-mcp', 'src/hook.ts'],
  ['src/server', 'src/crew'],
  ['src/supervisor'],
  ['src/claude', 'src/notify'],
  ['src/terminals'],
  ['src/store', 'src/audit'],
  ['src/config.ts', 'src/version.ts', 'src/util', 'src/git'],
];
const upwardImports = LAYERS.slice(1).flatMap((layer, i) =>
  layer.map((target) => ({
    target: `./${target}`,
    from: LAYERS.slice(0, i + 1)
      .flat()
      .map((p) => `./${p}`),
    message: 'this imports a layer above its own (docs/architecture.md "Layers"): move the shared piece down, or pass it in.',
  })),
);

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
    // No import circles, and nothing imports upward. Type-only imports may form a circle
    // (they vanish at run time) but still may not point upward.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Imports name the built `.js` file; the source beside it is the `.ts` one.
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: upwardImports }],
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
