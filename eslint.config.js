import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The layers, bottom up: what a folder may not import keeps the picture of ARCHITECTURE.md true. */
const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((folder) => ({ group: [`**/${folder}/**`], message: `${why} (${folder}/ is above it)` })) }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', '.cache/', 'data/', 'schemas/generated/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  layer(['common/**', 'config/**', 'infra/**'], ['topology', 'processors', 'app', 'reporting', 'dashboard', 'cli', 'simulate'], 'shared code knows no runtime and no application'),
  layer(['topology/**'], ['processors', 'app', 'reporting', 'dashboard', 'cli', 'simulate'], 'the runtime knows no processor and no application'),
  layer(['processors/**'], ['app', 'reporting', 'dashboard', 'cli'], 'processors are pure logic under the application'),
  layer(['reporting/**'], ['app', 'dashboard', 'cli'], 'reports are read by the application, the dashboard and the CLI'),
);
