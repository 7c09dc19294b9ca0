/** Public API of @anopatch/vit-backbone (being built; see its README). */
export const packageName = '@anopatch/vit-backbone';
