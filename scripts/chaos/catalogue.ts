// The scenarios by name, with the sizes the full run uses (issue 17) and the small seeded ones `npm test` runs.
import {
  apiserverOutage,
  azureFaults,
  connectorKills,
  foreignHands,
  slowAndStuck,
  type Scenario,
} from './scenarios.ts';

export const SCENARIOS = {
  'connector-kills': connectorKills,
  'apiserver-outage': apiserverOutage,
  'azure-faults': azureFaults,
  'foreign-hands': foreignHands,
  'slow-and-stuck': slowAndStuck,
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;

export interface ScenarioSize {
  pods: number;
  kills: number;
  deleteKills: number;
  outageSeconds: number;
}

export const FULL_SIZES: Record<ScenarioName, ScenarioSize> = {
  'connector-kills': { pods: 500, kills: 20, deleteKills: 5, outageSeconds: 0 },
  'apiserver-outage': { pods: 200, kills: 0, deleteKills: 0, outageSeconds: 30 },
  'azure-faults': { pods: 300, kills: 0, deleteKills: 0, outageSeconds: 0 },
  'foreign-hands': { pods: 100, kills: 0, deleteKills: 0, outageSeconds: 0 },
  'slow-and-stuck': { pods: 100, kills: 0, deleteKills: 0, outageSeconds: 0 },
};

export const SMALL_SIZES: Record<ScenarioName, ScenarioSize> = {
  'connector-kills': { pods: 40, kills: 3, deleteKills: 1, outageSeconds: 0 },
  'apiserver-outage': { pods: 30, kills: 0, deleteKills: 0, outageSeconds: 10 },
  'azure-faults': { pods: 40, kills: 0, deleteKills: 0, outageSeconds: 0 },
  'foreign-hands': { pods: 20, kills: 0, deleteKills: 0, outageSeconds: 0 },
  'slow-and-stuck': { pods: 20, kills: 0, deleteKills: 0, outageSeconds: 0 },
};
