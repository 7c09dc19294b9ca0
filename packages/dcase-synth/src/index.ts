/** Public API of @anopatch/dcase-synth (being built; see its README). */
export const packageName = '@anopatch/dcase-synth';
