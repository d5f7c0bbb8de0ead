// Whether Azure answers the connector, shared by the pod controller (which sees the failures) and the
// node controller (which reports them as the node's Ready condition).
import type { ClassifiedError } from '../runtime/errors.ts';

export interface AzureCondition {
  ok: boolean;
  reason: string;
  message: string;
}

export class AzureHealth {
  private current: AzureCondition = { ok: true, reason: 'AzureReachable', message: 'not checked yet' };

  succeeded(): void {
    this.current = { ok: true, reason: 'AzureReachable', message: 'Azure Resource Manager answers' };
  }

  failed(error: ClassifiedError): void {
    const reason =
      error.kind === 'Unauthorized'
        ? 'AzureCredentialsRejected'
        : error.code === 'ResourceGroupNotFound'
          ? 'ResourceGroupNotFound'
          : 'AzureUnreachable';
    this.current = { ok: false, reason, message: error.message };
  }

  get condition(): AzureCondition {
    return this.current;
  }
}
