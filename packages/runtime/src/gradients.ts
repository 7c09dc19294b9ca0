/**
 * tfjs-core's Node bundle registers no gradient functions: only the @tensorflow/tfjs union bundle
 * does (tfjs-node gets them that way). Importing it here makes training work on wasm and cpu too.
 * The gradient registry is global, so one import serves every copy of tfjs-core.
 */
import '@tensorflow/tfjs';
