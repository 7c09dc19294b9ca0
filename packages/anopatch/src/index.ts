/** Public API of @anopatch/anopatch (being built; see its README). */
export const packageName = '@anopatch/anopatch';
