import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError, createHttpHeaders } from '@azure/core-rest-pipeline';
import { AuthenticationRequiredError } from '@azure/identity';
import { ApiException } from '@kubernetes/client-node';
import {
  ClassifiedError,
  classifyAzureError,
  classifyKubernetesError,
  classifyProvisioningFailure,
  classifyRegistryAnswer,
  classifyRegistryError,
  isImagePullEvent,
  isNotFound,
  type Reaction,
  retryAfterFromHeaders,
  TOKEN_UNAVAILABLE,
} from './errors.ts';

function azureError(statusCode: number, code: string, headers: Record<string, string> = {}): RestError {
  return new RestError(`${code} happened`, {
    code,
    statusCode,
    response: {
      status: statusCode,
      headers: createHttpHeaders(headers),
      request: undefined as never,
    },
  });
}

/** What @azure/identity throws when MSAL's client-credentials request fails with `errorCode`. */
function tokenError(name: string, errorCode: string): AuthenticationRequiredError {
  const cause = Object.assign(new Error(`${errorCode}: details`), { name, errorCode });
  return new AuthenticationRequiredError({ scopes: ['s/.default'], message: cause.message, cause });
}

describe('classifyAzureError', () => {
  const cases = [
    { name: '404 ResourceNotFound', error: azureError(404, 'ResourceNotFound'), kind: 'NotFound' },
    {
      name: 'missing resource group is a configuration error',
      error: azureError(404, 'ResourceGroupNotFound'),
      kind: 'InvalidInput',
    },
    {
      name: '429 with Retry-After',
      error: azureError(429, 'SubscriptionRequestsThrottled', { 'retry-after': '7' }),
      kind: 'Throttled',
      retryAfterMs: 7000,
    },
    {
      name: '409 transitioning retries',
      error: azureError(409, 'ContainerGroupTransitioning'),
      kind: 'Transient',
    },
    { name: 'quota', error: azureError(400, 'ContainerGroupQuotaReached'), kind: 'QuotaExceeded' },
    { name: '400 validation', error: azureError(400, 'InvalidContainerName'), kind: 'InvalidInput' },
    { name: '503', error: azureError(503, 'ServiceUnavailable'), kind: 'Transient' },
    { name: '401', error: azureError(401, 'InvalidAuthenticationToken'), kind: 'Unauthorized' },
    {
      name: 'failed LRO for an image',
      error: new Error(
        "The long-running operation has failed. InaccessibleImage. The image 'x' is not accessible.",
      ),
      kind: 'ImagePullFailed',
      code: 'InaccessibleImage',
    },
    {
      name: 'an image refused at create time',
      error: azureError(400, 'InaccessibleImage'),
      kind: 'ImagePullFailed',
      code: 'InaccessibleImage',
    },
    { name: 'network error', error: new Error('ECONNRESET'), kind: 'Transient' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const classified = classifyAzureError(c.error);
      assert.equal(classified.kind, c.kind);
      if (c.retryAfterMs !== undefined) assert.equal(classified.retryAfterMs, c.retryAfterMs);
      if (c.code !== undefined) assert.equal(classified.code, c.code);
    });
  }
});

describe('the reaction to every classified error', () => {
  const azure: { name: string; error: unknown; reaction: Reaction; refused?: boolean }[] = [
    { name: '404 ResourceNotFound', error: azureError(404, 'ResourceNotFound'), reaction: 'absent' },
    {
      name: "a missing resource group is the operator's to create, not an absent group",
      error: azureError(404, 'ResourceGroupNotFound'),
      reaction: 'fix-resource-group',
    },
    {
      name: 'a subnet not delegated waits for the operator, not fails the pod',
      error: azureError(400, 'SubnetMissingRequiredDelegation'),
      reaction: 'fix-subnet',
    },
    { name: 'a missing subnet (400)', error: azureError(400, 'SubnetNotFound'), reaction: 'fix-subnet' },
    { name: 'a missing subnet (404)', error: azureError(404, 'SubnetNotFound'), reaction: 'fix-subnet' },
    {
      name: 'a subnet in another region',
      error: azureError(400, 'SubnetLocationMismatch'),
      reaction: 'fix-subnet',
    },
    {
      name: '400 validation fails the pod',
      error: azureError(400, 'InvalidContainerName'),
      reaction: 'fail',
    },
    {
      name: '429 slows every call down',
      error: azureError(429, 'SubscriptionRequestsThrottled'),
      reaction: 'slow-down',
    },
    {
      name: 'a quota waits for capacity',
      error: azureError(400, 'ContainerGroupQuotaReached'),
      reaction: 'wait-for-capacity',
    },
    {
      name: 'a full subnet waits for capacity',
      error: azureError(400, 'SubnetIsFull'),
      reaction: 'wait-for-capacity',
    },
    { name: 'an image ACI cannot pull', error: azureError(400, 'InaccessibleImage'), reaction: 'retry-pull' },
    {
      name: '409 transitioning retries',
      error: azureError(409, 'ContainerGroupTransitioning'),
      reaction: 'retry',
    },
    { name: 'another 409 re-reads', error: azureError(409, 'Conflict'), reaction: 'reread' },
    { name: '503', error: azureError(503, 'ServiceUnavailable'), reaction: 'retry', refused: false },
    { name: 'a dropped connection', error: new Error('ECONNRESET'), reaction: 'retry', refused: false },
    { name: '401', error: azureError(401, 'InvalidAuthenticationToken'), reaction: 'fix-credentials' },
    { name: '403', error: azureError(403, 'AuthorizationFailed'), reaction: 'fix-credentials' },
    {
      name: 'no answer from the token endpoint (dropped, or cut off by the request timeout)',
      error: tokenError('ClientAuthError', 'network_error'),
      reaction: 'retry',
    },
    {
      name: "Entra ID's own trouble",
      error: tokenError('ServerError', 'temporarily_unavailable'),
      reaction: 'retry',
    },
    {
      name: 'a client secret Entra ID refuses',
      error: tokenError('ServerError', 'invalid_client'),
      reaction: 'fix-credentials',
    },
    {
      name: 'an application Entra ID does not know',
      error: tokenError('ServerError', 'unauthorized_client'),
      reaction: 'fix-credentials',
    },
    {
      name: 'no credential at all',
      error: Object.assign(new Error('no credential'), { name: 'CredentialUnavailableError' }),
      reaction: 'fix-credentials',
      refused: false,
    },
  ];
  for (const c of azure) {
    it(`Azure: ${c.name}`, () => {
      const classified = classifyAzureError(c.error);
      assert.equal(classified.reaction, c.reaction);
      assert.equal(classified.refused, c.refused ?? true, 'whether the request took no effect');
    });
  }
  it('says a token could not be had, and that the request needing it was never sent', () => {
    const classified = classifyAzureError(tokenError('ClientAuthError', 'network_error'));
    assert.equal(classified.code, TOKEN_UNAVAILABLE);
    assert.match(classified.message, /^Azure credentials unavailable: .*token endpoint did not answer/);
    assert.equal(classified.refused, true, 'no ARM request went out, so none took effect');
  });
  const kubernetes: [status: number, reaction: Reaction][] = [
    [404, 'absent'],
    [410, 'absent'],
    [409, 'reread'],
    [429, 'slow-down'],
    [401, 'fix-credentials'],
    [403, 'fix-credentials'],
    [422, 'fail'],
    [500, 'retry'],
  ];
  for (const [status, reaction] of kubernetes) {
    it(`Kubernetes: ${status} is ${reaction}`, () => {
      assert.equal(classifyKubernetesError(new ApiException(status, 'x', '', {})).reaction, reaction);
    });
  }
  it('isNotFound is the absent reaction, and a missing resource group is not absent', () => {
    assert.equal(isNotFound(classifyAzureError(azureError(404, 'ResourceNotFound'))), true);
    assert.equal(isNotFound(classifyAzureError(azureError(404, 'ResourceGroupNotFound'))), false);
  });
});

describe('a failed provisioning', () => {
  const table: { name: string; warning: { name?: string; message?: string }; reaction: Reaction }[] = [
    {
      name: 'a pull ACI reports as Failed',
      warning: { name: 'Failed', message: 'Failed to pull image "nginx:nope": manifest unknown' },
      reaction: 'retry-pull',
    },
    { name: 'the InaccessibleImage code', warning: { name: 'InaccessibleImage' }, reaction: 'retry-pull' },
    {
      name: 'a start failure naming a file not found is not a pull',
      warning: {
        name: 'Failed',
        message: 'OCI runtime create failed: exec: "app": executable file not found in $PATH',
      },
      reaction: 'retry',
    },
    { name: 'no warning at all', warning: {}, reaction: 'retry' },
  ];
  for (const c of table) {
    it(c.name, () => {
      const classified = classifyProvisioningFailure({ name: c.warning.name, message: c.warning.message });
      assert.equal(classified.reaction, c.reaction);
      assert.equal(isImagePullEvent(c.warning.name, c.warning.message), c.reaction === 'retry-pull');
    });
  }
});

describe('classifyKubernetesError', () => {
  it('reads the Status body of a 409', () => {
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'AlreadyExists',
      message: 'pods "x" already exists',
      code: 409,
    });
    const classified = classifyKubernetesError(new ApiException(409, 'conflict', body, {}));
    assert.equal(classified.kind, 'Conflict');
    assert.equal(classified.code, 'AlreadyExists');
    assert.equal(classified.message, 'pods "x" already exists');
  });
  it('treats 410 Gone as NotFound (an expired watch resource version)', () => {
    assert.equal(classifyKubernetesError(new ApiException(410, 'gone', '', {})).kind, 'NotFound');
  });
  it('reads a 422 as invalid input', () => {
    assert.equal(classifyKubernetesError(new ApiException(422, 'invalid', '', {})).kind, 'InvalidInput');
  });
  const forbidden = (message: string): ApiException<string> =>
    new ApiException(
      403,
      'forbidden',
      JSON.stringify({ kind: 'Status', reason: 'Forbidden', message, code: 403 }),
      {},
    );
  const refusals: { name: string; message: string; reaction: string }[] = [
    {
      name: "the Node authorizer's graph not yet linking the node to a pod's object: retry",
      message:
        'configmaps "kube-root-ca.crt" is forbidden: User "system:node:aci-east" cannot get resource "configmaps" in API group "" in the namespace "shop": no relationship found between node \'aci-east\' and this object',
      reaction: 'retry',
    },
    {
      name: 'any other refusal: the operator fixes the grant',
      message:
        'secrets is forbidden: User "system:node:aci-east" cannot list resource "secrets" in API group "" at the cluster scope',
      reaction: 'fix-credentials',
    },
  ];
  for (const { name, message, reaction } of refusals) {
    it(`403: ${name}`, () => {
      assert.equal(classifyKubernetesError(forbidden(message)).reaction, reaction);
    });
  }
});

describe('retryAfterFromHeaders', () => {
  const table: [Record<string, string>, number | undefined][] = [
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after-ms': '250' }, 250],
    [{ 'x-ms-retry-after-ms': '90' }, 90],
    [{ 'retry-after': 'Wed, 25 Nov 2026 19:00:10 GMT', date: 'Wed, 25 Nov 2026 19:00:00 GMT' }, 10_000],
    [{ 'retry-after': 'Wed, 25 Nov 2026 18:59:00 GMT', date: 'Wed, 25 Nov 2026 19:00:00 GMT' }, 0],
    [{ 'retry-after': 'Wed, 25 Nov 2026 19:00:10 GMT' }, undefined],
    [{}, undefined],
    [{ 'retry-after': 'soon' }, undefined],
  ];
  for (const [headers, expected] of table) {
    it(JSON.stringify(headers), () => {
      assert.equal(
        retryAfterFromHeaders((name) => headers[name]),
        expected,
      );
    });
  }
});

describe('registry failures', () => {
  const answers: { status: number; kind: string }[] = [
    { status: 404, kind: 'ImagePullFailed' },
    { status: 401, kind: 'ImagePullFailed' },
    { status: 403, kind: 'ImagePullFailed' },
    { status: 400, kind: 'ImagePullFailed' },
    { status: 429, kind: 'Throttled' },
    { status: 408, kind: 'Transient' },
    { status: 500, kind: 'Transient' },
    { status: 503, kind: 'Transient' },
  ];
  for (const { status, kind } of answers) {
    it(`an answer ${status} is ${kind}`, () => {
      const classified = classifyRegistryAnswer(status, 'm', { code: 'C', retryAfterMs: 5 });
      assert.deepEqual(
        [classified.kind, classified.statusCode, classified.code, classified.retryAfterMs],
        [kind, status, 'C', 5],
      );
    });
  }

  it('keeps verdicts and makes network failures transient', () => {
    const verdict = new ClassifiedError('ImagePullFailed', 'no such tag');
    assert.equal(classifyRegistryError(verdict), verdict);
    assert.equal(classifyRegistryError(new Error('connect ECONNREFUSED 127.0.0.1:1')).kind, 'Transient');
  });
});

describe('identity refusals', () => {
  const refusal = (status: number, code: string, message: string) =>
    classifyAzureError(new RestError(message, { code, statusCode: status }));
  const cases: [string, ClassifiedError, Reaction][] = [
    [
      'an identity the caller may not assign',
      refusal(
        403,
        'LinkedAuthorizationFailed',
        "… 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' …",
      ),
      'fix-identity',
    ],
    [
      'a subnet the caller may not join',
      refusal(
        403,
        'LinkedAuthorizationFailed',
        "… 'Microsoft.Network/virtualNetworks/subnets/join/action' …",
      ),
      'fix-subnet',
    ],
    ['an identity that does not exist', refusal(400, 'FailedIdentityOperation', 'NotFound'), 'fix-identity'],
    ['an image that cannot be pulled', refusal(400, 'InaccessibleImage', 'no'), 'retry-pull'],
  ];
  for (const [name, error, reaction] of cases) {
    it(`reacts to ${name} with ${reaction}`, () => {
      assert.equal(error.reaction, reaction);
    });
  }
});
