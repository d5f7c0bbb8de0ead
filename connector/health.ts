// Whether Azure serves the connector, judged in one place (the ARM edge, aci.ts) and reported by the
// node controller as the node's Ready condition. Only what no retry fixes (rejected credentials, a
// missing resource group) or a run of failed calls marks the node NotReady: a 429 or a full quota is
// Azure answering, and one blip must not make the node lifecycle controller taint the node.
import type { ClassifiedError } from '../runtime/errors.ts';

export interface AzureCondition {
  ok: boolean;
  reason: string;
  message: string;
}

/** Anything whose condition decides the node's Ready: Azure's health, the subnet. */
export interface ConditionSource {
  readonly condition: AzureCondition;
}

/** The first condition that is not ok, else the first: every source must be ready for the node to be. */
export function allOf(sources: readonly ConditionSource[]): ConditionSource {
  return {
    get condition(): AzureCondition {
      const conditions = sources.map((source) => source.condition);
      const failing = conditions.find((condition) => !condition.ok);
      return failing ?? conditions[0] ?? { ok: true, reason: 'AzureReachable', message: 'nothing to check' };
    },
  };
}

/** Consecutive transient failures before Azure counts as unreachable. */
export const UNREACHABLE_AFTER = 5;

export class AzureHealth {
  private current: AzureCondition = { ok: true, reason: 'AzureReachable', message: 'not checked yet' };
  private transientFailures = 0;

  succeeded(): void {
    this.transientFailures = 0;
    this.current = { ok: true, reason: 'AzureReachable', message: 'Azure Resource Manager answers' };
  }

  failed(error: ClassifiedError): void {
    switch (error.reaction) {
      case 'fix-credentials':
        this.current = { ok: false, reason: 'AzureCredentialsRejected', message: error.message };
        break;
      case 'fix-resource-group':
        this.current = { ok: false, reason: 'ResourceGroupNotFound', message: error.message };
        break;
      case 'retry':
        this.transientFailures += 1;
        if (this.transientFailures >= UNREACHABLE_AFTER) {
          this.current = { ok: false, reason: 'AzureUnreachable', message: error.message };
        }
        break;
      default:
        // Azure answered (a throttle, a full quota, a refused request): it is reachable.
        break;
    }
  }

  get condition(): AzureCondition {
    return this.current;
  }
}
