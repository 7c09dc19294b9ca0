/** What a long pipeline step reports; the CLI turns it into a bar with ETA (TTY) or plain lines. */
export interface ProgressEvent {
  /** e.g. 'embed dev/train', 'score dev' */
  stage: string;
  done: number;
  total: number;
  /** how many of `done` came from the cache */
  cached?: number;
}

export type ProgressFn = (event: ProgressEvent) => void;
