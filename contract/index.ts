// The contract's public face: everything outside contract/ imports from here and nowhere else
// (scripts/check-imports.ts enforces it), so the modules behind it can be split and moved freely.
// The shared shapes live in types.ts, the one module the others all import; the field modules sit
// beneath translate.ts, and capability.ts asks translate.ts whether a pod can run.
export type * from './types.ts';
export * from './names.ts';
export { checkPod, claimProblems, DEFAULT_ACI_LIMITS, describeProblems } from './capability.ts';
export { ACI_ANNOTATION_VALUES } from './aci-features.ts';
export { isUserAssignedIdentityId, type RegistryIdentitySettings } from './identity.ts';
export { IMAGE_DEPENDENT_FIELDS, imageConfigRequests } from './image-config.ts';
export { DEFAULT_CONTAINER_RESOURCES, parseQuantity, podResources } from './quantity.ts';
export {
  ACI_DNS_LIMITS,
  type AciDnsLimits,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_NETWORK_SETTINGS,
  type ExposureSettings,
  exposesPublicly,
  type NetworkSettings,
} from './network.ts';
export { CONTAINER_REFUSALS, POD_REFUSALS, type Refusal } from './pod-fields.ts';
export { volumeSecret } from './claims.ts';
export { MAX_POD_REFERENCES, podReferences, READS_PER_CLAIM, referenceCount } from './references.ts';
export { pullSecretCredentials, registryServer } from './registry.ts';
export { serviceAccountTokenRequests, type ServiceAccountTokenRequest } from './service-account.ts';
export {
  containerGroupName,
  type GroupSettings,
  type IdentitySettings,
  toContainerGroup,
  type Translation,
} from './translate.ts';
export {
  DEFAULT_AUTHORITY_HOST,
  tokenExpiry,
  usesWorkloadIdentity,
  WORKLOAD_IDENTITY,
  type WorkloadIdentitySettings,
} from './workload-identity.ts';
