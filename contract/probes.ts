// Probes: ACI runs exec and httpGet probes for liveness and readiness. tcpSocket, gRPC and startup
// probes have no ACI counterpart that behaves the same, so they are refused with a way out.
import type { ContainerProbe } from '@azure/arm-containerinstance';
import type { IntOrString, V1Container, V1Probe } from '@kubernetes/client-node';
import { type Context, refuse } from './context.ts';

/** A probe's port: a number, or the name of one of the container's ports. */
function resolvePort(
  context: Context,
  container: V1Container,
  port: IntOrString,
  path: string,
): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((candidate) => candidate.name === port)?.containerPort;
  if (named === undefined) {
    refuse(
      context,
      path,
      `the container has no port named "${port}"`,
      "name one of the container's ports, or give a number",
    );
  }
  return named;
}

function probeAction(
  context: Context,
  container: V1Container,
  probe: V1Probe,
  path: string,
): Pick<ContainerProbe, 'exec' | 'httpGet'> | undefined {
  if (probe.exec) return { exec: { command: probe.exec.command ?? [] } };
  if (probe.httpGet) {
    const { host, httpHeaders, path: urlPath, port, scheme } = probe.httpGet;
    if (host) {
      refuse(
        context,
        `${path}.httpGet.host`,
        'ACI probes always call the container itself, not another host',
        'remove host',
      );
    }
    const number = resolvePort(context, container, port, `${path}.httpGet.port`);
    if (number === undefined) return undefined;
    return {
      httpGet: {
        port: number,
        ...(urlPath === undefined ? {} : { path: urlPath }),
        ...(scheme === undefined ? {} : { scheme: scheme.toLowerCase() }),
        ...(httpHeaders?.length
          ? { httpHeaders: httpHeaders.map(({ name, value }) => ({ name, value })) }
          : {}),
      },
    };
  }
  const kind = probe.tcpSocket ? 'tcpSocket' : probe.grpc ? 'grpc' : undefined;
  refuse(
    context,
    kind ? `${path}.${kind}` : path,
    kind ? `ACI probes can only run a command or call HTTP, not ${kind}` : 'the probe names no action',
    kind === 'tcpSocket'
      ? 'use an httpGet probe, or an exec probe that checks the port with a tool the image has'
      : 'use an httpGet or exec probe',
  );
  return undefined;
}

export function translateProbe(
  context: Context,
  container: V1Container,
  probe: V1Probe | undefined,
  path: string,
): ContainerProbe | undefined {
  if (!probe) return undefined;
  if (probe.terminationGracePeriodSeconds !== undefined) {
    refuse(
      context,
      `${path}.terminationGracePeriodSeconds`,
      'ACI has no grace period per probe',
      'remove terminationGracePeriodSeconds from the probe',
    );
  }
  const action = probeAction(context, container, probe, path);
  if (!action) return undefined;
  const { initialDelaySeconds, periodSeconds, failureThreshold, successThreshold, timeoutSeconds } = probe;
  const timings = { initialDelaySeconds, periodSeconds, failureThreshold, successThreshold, timeoutSeconds };
  return {
    ...action,
    ...Object.fromEntries(Object.entries(timings).filter(([, value]) => value !== undefined)),
  };
}

/** Startup probes gate liveness and readiness until the container has started; ACI cannot. */
export function refuseStartupProbe(context: Context, container: V1Container, path: string): void {
  if (!container.startupProbe) return;
  refuse(
    context,
    `${path}.startupProbe`,
    'ACI has no startup probe',
    'remove the startupProbe and raise livenessProbe.initialDelaySeconds to cover the start-up time',
  );
}
