/** Public API of @anopatch/onnx-engine (being built; see its README). */
export const packageName = '@anopatch/onnx-engine';
