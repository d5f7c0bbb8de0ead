// The scheduler extender wire protocol (k8s.io/kube-scheduler/extender/v1, pkg/scheduler/extender.go)
// and the answers to its two calls. The Go types have no json tags, so the outer keys are Go field
// names (`Pod`, `NodeNames`, `FailedNodes`); the Pod and Node inside are ordinary Kubernetes JSON.
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Problem } from '../contract/index.ts';
import {
  filterNode,
  podContext,
  podPreference,
  scoreNodes,
  unknownNodeVerdict,
  type Preference,
  type Verdict,
} from './policy.ts';

/** `NodeNames` when the scheduler runs with `nodeCacheCapable: true`, the full `Nodes` otherwise. */
export type NodeInput = { mode: 'names'; names: string[] } | { mode: 'objects'; nodes: V1Node[] };

export interface ExtenderArgs {
  pod: V1Pod;
  nodes: NodeInput;
}

export type Decoded = { ok: true; args: ExtenderArgs } | { ok: false; error: string };

/** ExtenderFilterResult exactly as the scheduler decodes it. */
export interface ExtenderFilterResult {
  Nodes: { items: V1Node[] } | null;
  NodeNames: string[] | null;
  FailedNodes: Record<string, string>;
  FailedAndUnresolvableNodes: Record<string, string>;
  Error: string;
}

/** One entry of the HostPriorityList that /prioritize returns. */
export interface HostPriority {
  Host: string;
  Score: number;
}

/** What the extender reads from the cluster: a cache filled by informers, a plain object in tests. */
export interface ClusterView {
  node(name: string): V1Node | undefined;
  namespace(name: string): V1Namespace | undefined;
  /** Empty once every cache has listed its objects; otherwise why not. */
  notReadyReasons(): string[];
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's encoding/json prefers the exact key and falls back to a case-insensitive match; so do we. */
function field(object: JsonObject, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

/** A Kubernetes object with a name; its other fields are read defensively by the policy. */
function hasName(value: unknown): value is JsonObject & { metadata: { name: string } } {
  return isObject(value) && isObject(value.metadata) && typeof value.metadata.name === 'string';
}

function invalid(error: string): Decoded {
  return { ok: false, error };
}

/** Reads a parsed ExtenderArgs body, or says which part of it is wrong. */
export function decodeExtenderArgs(body: unknown): Decoded {
  if (!isObject(body)) return invalid('the request body is not an ExtenderArgs JSON object');
  const pod = field(body, 'Pod');
  if (!hasName(pod) || !isObject(pod.spec)) {
    return invalid('ExtenderArgs.Pod is missing or is not a pod with metadata.name and spec');
  }
  const names = field(body, 'NodeNames');
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
      return invalid('ExtenderArgs.NodeNames is not a list of node names');
    }
    return { ok: true, args: { pod, nodes: { mode: 'names', names } } };
  }
  const nodes = field(body, 'Nodes');
  if (!isObject(nodes)) return invalid('ExtenderArgs has neither NodeNames nor Nodes');
  // Go encodes an empty NodeList's nil slice as null.
  const items = field(nodes, 'items') ?? [];
  if (!Array.isArray(items) || !items.every(hasName)) {
    return invalid('ExtenderArgs.Nodes.items is not a list of nodes with metadata.name');
  }
  return { ok: true, args: { pod, nodes: { mode: 'objects', nodes: items } } };
}

export interface NodeVerdict {
  name: string;
  /** Undefined when the scheduler named a node the cache does not know. */
  node: V1Node | undefined;
  verdict: Verdict;
}

function nodeName(node: V1Node): string {
  return node.metadata?.name ?? '';
}

/** The nodes of the request, resolved through the cache in NodeNames mode. */
function resolveNodes(input: NodeInput, view: ClusterView): { name: string; node: V1Node | undefined }[] {
  return input.mode === 'objects'
    ? input.nodes.map((node) => ({ name: nodeName(node), node }))
    : input.names.map((name) => ({ name, node: view.node(name) }));
}

/** The pod's namespace as the cache knows it (for its preference annotation). */
function podNamespace(pod: V1Pod, view: ClusterView): V1Namespace | undefined {
  const name = pod.metadata?.namespace;
  return name === undefined ? undefined : view.namespace(name);
}

/**
 * Answers /filter in the mode the scheduler asked in: only nodes from the input come back, each
 * removed node with its reason; nodes only preemption cannot help go to FailedAndUnresolvableNodes.
 */
export function answerFilter(
  args: ExtenderArgs,
  view: ClusterView,
  check: (pod: V1Pod) => Problem[],
): { result: ExtenderFilterResult; verdicts: NodeVerdict[] } {
  const pod = podContext(args.pod, check(args.pod));
  const verdicts = resolveNodes(args.nodes, view).map(({ name, node }) => ({
    name,
    node,
    verdict: node ? filterNode(pod, node) : unknownNodeVerdict(name),
  }));
  const result: ExtenderFilterResult = {
    Nodes: null,
    NodeNames: null,
    FailedNodes: {},
    FailedAndUnresolvableNodes: {},
    Error: '',
  };
  const passed: NodeVerdict[] = [];
  for (const entry of verdicts) {
    const { verdict } = entry;
    if (verdict.pass) passed.push(entry);
    else if (verdict.resolvable) result.FailedNodes[entry.name] = verdict.reason;
    else result.FailedAndUnresolvableNodes[entry.name] = verdict.reason;
  }
  if (args.nodes.mode === 'names') result.NodeNames = passed.map((entry) => entry.name);
  else result.Nodes = { items: passed.flatMap((entry) => (entry.node ? [entry.node] : [])) };
  return { result, verdicts };
}

/** Answers /prioritize: one score per input node; a node the cache does not know scores 0. */
export function answerPrioritize(
  args: ExtenderArgs,
  view: ClusterView,
): { result: HostPriority[]; preference: Preference } {
  const preference = podPreference(args.pod, podNamespace(args.pod, view));
  const resolved = resolveNodes(args.nodes, view);
  const scores = scoreNodes(
    resolved.map(({ node }) => node),
    preference,
  );
  const result = resolved.map(({ name }, index) => ({ Host: name, Score: scores[index] ?? 0 }));
  return { result, preference };
}
