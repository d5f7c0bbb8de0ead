// Type-aware lint: strict-type-checked catches floating promises and unsafe `any` flows,
// the classes of bug a long-running controller cannot afford.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/**', 'coverage/**', 'manifests/**'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      complexity: ['error', 15],
      'max-params': ['error', 4],
      'no-console': 'error',
      // @kubernetes/client-node models are classes with no behaviour; object literals are how they are built.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
    },
  },
  {
    // Command-line scripts talk to a person on the terminal.
    files: ['scripts/**/*.ts', 'test/emulator/main.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
);
