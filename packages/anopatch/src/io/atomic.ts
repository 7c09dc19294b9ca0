/** Atomic writes live in @anopatch/checkpoint (the file-format package); re-exported for this package's modules. */
export { writeFileAtomic, writeJsonAtomic } from '@anopatch/checkpoint';
