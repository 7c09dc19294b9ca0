/**
 * One error class per failure kind. Every message starts with the file (or `<buffer>`) it is about,
 * so the CLI's one-line report is enough to act on.
 */

/** The bytes are not a zip archive, or the archive is cut short / inconsistent. */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

/** A pre-1.6 `torch.save` file (raw pickle stream, not a zip): re-save it with a current torch. */
export class LegacyTorchFormatError extends Error {
  override name = 'LegacyTorchFormatError';
}

/** A TorchScript archive (`torch.jit.save`): it holds code, not just a state dict. */
export class TorchScriptArchiveError extends Error {
  override name = 'TorchScriptArchiveError';
}

/** The file is neither a torch zip, a legacy torch file nor safetensors. */
export class UnknownCheckpointFormatError extends Error {
  override name = 'UnknownCheckpointFormatError';
}

/** The pickle stream is malformed (bad opcode, stack underflow, length past the end, ...). */
export class PickleFormatError extends Error {
  override name = 'PickleFormatError';
}

/**
 * The pickle asks for something outside the allow-list (a global such as `posix.system`, or
 * REDUCE/BUILD/NEWOBJ on an object that is not allowed). Nothing was executed.
 */
export class UnsafePickleError extends Error {
  override name = 'UnsafePickleError';
  constructor(
    message: string,
    /** The offending `module.name`, when the rejection is about a global. */
    readonly global?: string,
  ) {
    super(message);
  }
}

/** A storage's data file is missing or shorter than the element count the pickle claims. */
export class StorageTruncatedError extends Error {
  override name = 'StorageTruncatedError';
}

/** A tensor's size/stride/offset reaches outside its storage, overflows, or would expand absurdly. */
export class TensorLayoutError extends Error {
  override name = 'TensorLayoutError';
}

/** A dtype this reader does not handle (complex, quantized, float8, ...). */
export class UnsupportedDtypeError extends Error {
  override name = 'UnsupportedDtypeError';
}

/** A safetensors file whose header is malformed, too large, or lies about offsets. */
export class SafetensorsFormatError extends Error {
  override name = 'SafetensorsFormatError';
}

/** A state-dict mapping failed its checks (missing keys, shape mismatches) when asked to be strict. */
export class StateDictMismatchError extends Error {
  override name = 'StateDictMismatchError';
}

/** The requested state-dict path (`stateDict` option) does not name a dict inside the checkpoint. */
export class StateDictPathError extends Error {
  override name = 'StateDictPathError';
}

/** A model directory's JSON side file (config.json, *.index.json) is unreadable or inconsistent. */
export class CheckpointConfigError extends Error {
  override name = 'CheckpointConfigError';
}

/** The checkpoint path does not exist. */
export class CheckpointNotFoundError extends Error {
  override name = 'CheckpointNotFoundError';
}
