// Shared flat config. Type-aware: every rule that needs types gets them through the project service.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const TFJS = ['@tensorflow/*', '@anopatch/runtime', '@anopatch/vit-backbone', '@anopatch/onnx-engine'];

/**
 * @param {{ tsconfigRootDir: string, plainArrays?: boolean }} options
 *   plainArrays: the package must not touch TensorFlow.js (audio-features, dcase-eval, knn-backend,
 *   dcase-synth: DESIGN.md "Layout" keeps them on plain typed arrays).
 */
export function anopatchConfig({ tsconfigRootDir, plainArrays = false }) {
  return tseslint.config(
    { ignores: ['dist/**', 'coverage/**', '*.config.*'] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir } },
      rules: {
        '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/switch-exhaustiveness-check': 'error',
        'no-duplicate-imports': 'error',
        eqeqeq: ['error', 'smart'],
        ...(plainArrays
          ? { 'no-restricted-imports': ['error', { patterns: [{ group: TFJS, message: 'this package works on plain typed arrays (DESIGN.md)' }] }] }
          : {}),
      },
    },
    {
      files: ['**/*.test.ts'],
      rules: {
        '@typescript-eslint/no-non-null-assertion': 'off',
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
      },
    },
  );
}
