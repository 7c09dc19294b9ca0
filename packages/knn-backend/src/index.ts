/** Public API of @anopatch/knn-backend (being built; see its README). */
export const packageName = '@anopatch/knn-backend';
