// The connector's one entry point (`npm run connector`): reads the environment once (config.ts) and
// runs the connector's parts (process.ts) as every process runs (runtime/process.ts).
import { readConfig } from './config.ts';
import { runConnector } from './process.ts';
import { isAbandonedTokenRefresh } from './token-timeout.ts';
import { runProcess } from '../runtime/process.ts';

await runProcess(
  {
    component: 'connector',
    readConfig,
    run: runConnector,
    failure: 'connector failed',
    harmlessRejection: isAbandonedTokenRefresh,
  },
  process.env,
);
