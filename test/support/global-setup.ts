// Global setup for `npm test`: runs once before every test file. The control-plane issue makes
// this start (or reuse) the local Kubernetes cluster and the ACI emulator for the end-to-end tests.
export function globalSetup(): void {
  // Nothing shared to start yet.
}
