/**
 * Node ESM resolve hook, registered by bin.ts before anything else loads.
 *
 * `@tensorflow/tfjs-core/dist/register_all_gradients.js` (imported by @anopatch/arcface) is an ES
 * module of the unbundled tfjs-core build, whose own imports have no file extensions: Node's ESM
 * loader cannot follow them (bundlers and vitest can). The gradients it would register are already
 * registered by @anopatch/runtime, which loads the @tensorflow/tfjs union bundle for that purpose, so
 * the CLI resolves that one specifier to an empty module.
 */
const EMPTY = 'data:text/javascript,export%20%7B%7D%3B';

interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
}

export function resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context: unknown) => Promise<ResolveResult>): Promise<ResolveResult> {
  if (specifier === '@tensorflow/tfjs-core/dist/register_all_gradients.js' || specifier === '@tensorflow/tfjs-core/dist/register_all_gradients') {
    return Promise.resolve({ url: EMPTY, shortCircuit: true });
  }
  return nextResolve(specifier, context);
}
