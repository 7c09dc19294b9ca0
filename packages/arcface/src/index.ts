/** Public API of @anopatch/arcface (being built; see its README). */
export const packageName = '@anopatch/arcface';
