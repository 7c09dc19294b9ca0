import { anopatchConfig } from '@anopatch/eslint-config';

export default anopatchConfig({ tsconfigRootDir: import.meta.dirname, plainArrays: true });
