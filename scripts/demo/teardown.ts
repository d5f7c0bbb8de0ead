// What the demo started, stopped in reverse order. Each step runs once even if stop is called again,
// and a failing step is reported without skipping the others.

export class Teardown {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private running: Promise<string[]> | undefined;

  /** Registers a stop step; steps run last-registered first. */
  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once; returns the failures as `name: message`. */
  run(report: (line: string) => void): Promise<string[]> {
    this.running ??= this.runSteps(report);
    return this.running;
  }

  private async runSteps(report: (line: string) => void): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.toReversed()) {
      report(`stopping ${step.name}`);
      try {
        await step.run();
      } catch (error) {
        const message = `${step.name}: ${error instanceof Error ? error.message : String(error)}`;
        report(`could not stop ${message}`);
        failures.push(message);
      }
    }
    return failures;
  }
}
