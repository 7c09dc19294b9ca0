/** Worker thread behind measureBackboneSpeed({ workers }): one TF.js backend and one model copy. */
import { parentPort, workerData } from 'node:worker_threads';

import { initBackend, type BackendName } from '@anopatch/runtime';
import type { BeatsConfig } from '@anopatch/vit-backbone';

import { BackboneRunner } from './backbone.js';

const { backend, config } = workerData as { backend: BackendName; config: BeatsConfig };
const port = parentPort!;
try {
  await initBackend({ prefer: backend, env: {} });
  const runner = new BackboneRunner(config);
  port.on('message', (req: { batch: number; frames: number }) => {
    runner.run(req).then(
      (reply) => port.postMessage(reply),
      (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
  port.postMessage({ parameters: runner.parameters });
} catch (err) {
  port.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
