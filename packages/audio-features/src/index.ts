/** Public API of @anopatch/audio-features (being built; see its README). */
export const packageName = '@anopatch/audio-features';
