// ESLint (flat config): typescript-eslint's recommended rules plus the type-aware ones that catch
// real bugs here — a promise nobody awaits or catches (no-floating-promises, no-misused-promises)
// and `any` leaking out of JSON, catch clauses or untyped modules (no-unsafe-*). Type information
// comes from tsconfig.json (projectService). Formatting is prettier's job, not ESLint's.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The rules of hooks for the React glue and the components (hooks called unconditionally,
    // effect dependencies complete).
    files: ['hooks/**/*.{ts,tsx}', 'components/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `_`-prefixed names are deliberately unused (callback arity, destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // One job per function: the program's functions stay under 80 lines (blank lines and
    // comments not counted); a longer one is split into named steps. Tests are exempt (a test
    // reads as one story).
    files: ['lib/**', 'fleet/**', 'backlog/**', 'src/**', 'hooks/**', 'components/**'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Runtime test beds mock JSON APIs (a model endpoint, hook payloads) and read the runtimes'
    // own JSON transcripts field by field; the no-unsafe-* rules stay on for every other test.
    files: ['test/runtimes/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Control characters in regular expressions are the point of the sanitizers, which live in
    // lib/sanitize.ts alone; everything else calls them.
    files: ['lib/sanitize.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Tests assert that escape sequences never reach the screen, and match the console's column
    // gaps as they are printed.
    files: ['test/**'],
    rules: { 'no-control-regex': 'off', 'no-regex-spaces': 'off' },
  },
  {
    files: ['bin/mosaic-top', '**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // bin/mosaic-top is CommonJS (bin/package.json): no ES loader for a bare `--version`.
    files: ['**/*.cjs', 'bin/mosaic-top'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
