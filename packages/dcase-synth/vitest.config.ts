import { anopatchVitest } from '@anopatch/vitest-config';

export default anopatchVitest();
