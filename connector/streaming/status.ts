// How an exec or attach ended, written on the error stream as a kubelet writes it: from protocol v4
// on a JSON Status (kubectl reads a non-zero exit code from its ExitCode cause), before v4 plain text
// and nothing at all for success. Pure.

export type CommandOutcome =
  | { kind: 'success' }
  | { kind: 'exit'; code: number }
  /** The command could not run or its session broke: the message says why and what to do. */
  | { kind: 'error'; message: string };

interface StreamStatus {
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
  code?: number;
}

function streamStatus(outcome: CommandOutcome): StreamStatus {
  switch (outcome.kind) {
    case 'success':
      return { status: 'Success' };
    case 'exit':
      if (outcome.code === 0) return { status: 'Success' };
      return {
        status: 'Failure',
        message: `command terminated with non-zero exit code: exit status ${outcome.code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] },
      };
    case 'error':
      return {
        status: 'Failure',
        message: `Internal error occurred: ${outcome.message}`,
        reason: 'InternalError',
        code: 500,
      };
  }
}

/** The bytes for the error stream, or undefined when that protocol version writes nothing. */
export function statusBytes(outcome: CommandOutcome, jsonStatus: boolean): Buffer | undefined {
  const status = streamStatus(outcome);
  if (jsonStatus) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? '');
}
