// AdmissionReview v1 on the wire: reading what the API server (or anything else) POSTs, and pure
// builders for the answers. Every answer echoes the uid, names apiVersion/kind, and sends a patch only
// together with its patchType: the three things the API server checks before it believes a webhook.
import type { V1Pod } from '@kubernetes/client-node';
import type { Operation } from 'fast-json-patch';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  patchType?: 'JSONPatch';
  /** Base64 of the RFC 6902 JSON patch. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewAnswer {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type ParsedReview =
  /** A pod being created: the one request this webhook decides on. */
  | { kind: 'pod-create'; uid: string; namespace: string; pod: V1Pod }
  /** A well-formed request for something else (an update, a subresource): allowed untouched. */
  | { kind: 'not-handled'; uid: string; reason: string }
  /** A readable uid but a request that makes no sense: answered with a denial naming the fault. */
  | { kind: 'invalid'; uid: string; message: string }
  /** No uid to answer to: the HTTP layer replies 400. */
  | { kind: 'unreadable'; message: string };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isObject(body)) return { kind: 'unreadable', message: 'the body is not a JSON object' };
  const request = body.request;
  if (!isObject(request)) return { kind: 'unreadable', message: 'the AdmissionReview has no request' };
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') {
    return { kind: 'unreadable', message: 'the AdmissionReview request has no uid' };
  }
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return {
      kind: 'invalid',
      uid,
      message: `expected apiVersion ${ADMISSION_API_VERSION} kind AdmissionReview, got ${describe(body.apiVersion)} ${describe(body.kind)}; set admissionReviewVersions: ["v1"]`,
    };
  }
  return parsePodCreate(uid, request);
}

function parsePodCreate(uid: string, request: Json): ParsedReview {
  const resource = isObject(request.resource) ? request.resource : {};
  const isPods = resource.group === '' && resource.resource === 'pods';
  const subResource = typeof request.subResource === 'string' ? request.subResource : '';
  if (!isPods || subResource !== '' || request.operation !== 'CREATE') {
    const what = `${describe(request.operation)} of ${describe(resource.resource)}${subResource ? `/${subResource}` : ''}`;
    return { kind: 'not-handled', uid, reason: `only pod creation is handled, not ${what}` };
  }
  const pod = request.object;
  if (!isObject(pod)) return { kind: 'invalid', uid, message: 'request.object (the pod) is missing' };
  if (pod.kind !== 'Pod' || !isObject(pod.spec)) {
    return {
      kind: 'invalid',
      uid,
      message: `request.object is not a Pod with a spec (kind ${describe(pod.kind)})`,
    };
  }
  const namespace = requestNamespace(request, pod);
  if (namespace === undefined) return { kind: 'invalid', uid, message: 'request.namespace is missing' };
  return { kind: 'pod-create', uid, namespace, pod };
}

/** On CREATE the pod's own namespace may be empty; the request always names it. */
function requestNamespace(request: Json, pod: Json): string | undefined {
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const namespace = request.namespace || metadata.namespace;
  return typeof namespace === 'string' && namespace !== '' ? namespace : undefined;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value === undefined ? '(none)' : typeof value;
}

export function allowReview(
  uid: string,
  patch: readonly Operation[],
  warnings: readonly string[],
): AdmissionReviewAnswer {
  return answer({
    uid,
    allowed: true,
    ...(patch.length > 0 && {
      patchType: 'JSONPatch' as const,
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    }),
    ...(warnings.length > 0 && { warnings: [...warnings] }),
  });
}

/** `code` follows HTTP: 403 for a pod ACI cannot run, 400 for a malformed request, 503 when we could not check. */
export function denyReview(uid: string, code: number, message: string): AdmissionReviewAnswer {
  return answer({ uid, allowed: false, status: { code, message, reason: reasonFor(code) } });
}

function reasonFor(code: number): string {
  if (code === 400) return 'BadRequest';
  if (code === 403) return 'Forbidden';
  return 'ServiceUnavailable';
}

function answer(response: AdmissionResponse): AdmissionReviewAnswer {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
