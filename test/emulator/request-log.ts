// What the emulator was asked, for tests that count ARM calls per operation or read the spec a PUT sent;
// also, as method LISTEN, the group addresses and ports it could not bind.
export interface RequestLogEntry {
  method: string;
  /** The path without the query string. */
  path: string;
  query: string;
  /** 0 when the connection was dropped by an injected fault. */
  status: number;
  /** When the request arrived (ISO 8601). */
  time: string;
  durationMs: number;
  /** PUT, PATCH and POST bodies as sent (secrets included: this is what proves how they were sent; exec's command and terminal size). */
  body?: unknown;
  /** The Retry-After the answer carried (seconds), so a test can check the client waited it out. */
  retryAfterSeconds?: number;
  /** The injected faults this request met (faults.ts), latency included. */
  faults?: string[];
  /** With fault `drop-after-apply`: the status the request was handled with before the connection was dropped. */
  appliedStatus?: number;
  /** Method LISTEN: a group address or port the emulator could not bind, and why. Method EXEC (the
   * exec log): what a client typed into an exec session, in `body.input`, with the session's command. */
  error?: string;
}

/** Keeps the most recent entries; the cap bounds memory for a long-running standalone emulator. */
export class RequestLog {
  private readonly capacity: number;
  private entries: RequestLogEntry[] = [];

  constructor(capacity = 10_000) {
    this.capacity = capacity;
  }

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  list(): RequestLogEntry[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
