/** Public API of @anopatch/dcase-eval (being built; see its README). */
export const packageName = '@anopatch/dcase-eval';
