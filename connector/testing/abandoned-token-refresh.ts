// Run by token-timeout.test.ts as a process of its own (an unhandled rejection ends a process, and
// would fail the test that saw it): the SDK's bearer-token policy with a credential whose background
// refresh fails once the token has expired, with nobody waiting for it. With `--handled`, the
// connector's handler (main.ts) is installed. Prints `alive` if the process outlived the refresh.
import {
  bearerTokenAuthenticationPolicy,
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
} from '@azure/core-rest-pipeline';
import { AuthenticationRequiredError } from '@azure/identity';
import { silentLogger } from '../../runtime/logger.ts';
import { unhandledRejectionHandler } from '../../runtime/process.ts';
import { isAbandonedTokenRefresh } from '../token-timeout.ts';

if (process.argv.includes('--handled')) {
  process.on('unhandledRejection', unhandledRejectionHandler(isAbandonedTokenRefresh, silentLogger()));
}
let calls = 0;
const credential = {
  getToken: () => {
    calls += 1;
    // Past the cycler's one-second forced-refresh window, inside its two-minute refresh window.
    if (calls === 1) return Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 1500 });
    // What @azure/identity throws when the token request timed out (token-timeout.ts).
    const cause = Object.assign(new Error('network_error'), {
      name: 'ClientAuthError',
      errorCode: 'network_error',
    });
    return Promise.reject(new AuthenticationRequiredError({ scopes: [], message: cause.message, cause }));
  },
};
const policy = bearerTokenAuthenticationPolicy({
  credential,
  scopes: 'https://management.azure.com/.default',
});
const next = (request: PipelineRequest) =>
  Promise.resolve({ request, status: 200, headers: createHttpHeaders() });
await policy.sendRequest(createPipelineRequest({ url: 'https://management.azure.com/a' }), next);
// Uses the token and starts the background refresh. Its first try fails quietly; the cycler tries
// again 3 s later, the token expired by then, and that last try throws.
await policy.sendRequest(createPipelineRequest({ url: 'https://management.azure.com/b' }), next);
for (let waited = 0; calls < 3 && waited < 100; waited++) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 100));
process.stdout.write(calls >= 3 ? 'alive\n' : 'the last refresh never came\n');
