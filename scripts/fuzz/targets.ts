// Every target of the fuzz suite, with the servers the HTTPS ones talk to (on port 0, loopback).
import { fuzzCredentials } from './credentials.ts';
import type { Target } from './engine.ts';
import { extenderTargets } from './extender.ts';
import { groupTargets } from './groups.ts';
import { kubeletTargets } from './kubelet.ts';
import { webhookTargets } from './webhook.ts';

export async function fuzzTargets(): Promise<Target[]> {
  const credentials = fuzzCredentials();
  const served = [webhookTargets(credentials), extenderTargets(credentials), kubeletTargets(credentials)];
  for (const { start } of served) await start();
  return [...served.flatMap(({ targets }) => targets), ...(await groupTargets())];
}
