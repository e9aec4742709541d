// The cloud SDKs, imported on first use: importing them all takes about a second, which every command that reads a
// policy (the registry holds every provider's block schema) would otherwise pay, `sesame policy check` included.
import type * as IdentityStore from '@aws-sdk/client-identitystore';
import type * as SsoAdmin from '@aws-sdk/client-sso-admin';
import type * as CloudResourceManager from '@googleapis/cloudresourcemanager';
import type * as Kubernetes from '@kubernetes/client-node';
import type * as OctokitRest from '@octokit/rest';

let kubernetes: typeof Kubernetes | undefined;
let identityStore: typeof IdentityStore | undefined;
let ssoAdmin: typeof SsoAdmin | undefined;
let cloudResourceManager: typeof CloudResourceManager | undefined;
let octokit: typeof OctokitRest | undefined;

export const loadKubernetes = async (): Promise<typeof Kubernetes> => (kubernetes ??= await import('@kubernetes/client-node'));

/** Whether this is the Kubernetes client's HTTP error; before the client is loaded no such error can exist. */
export const isKubernetesApiException = (error: unknown): error is Kubernetes.ApiException<unknown> => kubernetes !== undefined && error instanceof kubernetes.ApiException;

export async function loadIdentityCenterSdk(): Promise<{ store: typeof IdentityStore; admin: typeof SsoAdmin }> {
  [identityStore, ssoAdmin] = await Promise.all([identityStore ?? import('@aws-sdk/client-identitystore'), ssoAdmin ?? import('@aws-sdk/client-sso-admin')]);
  return { store: identityStore, admin: ssoAdmin };
}

export const loadCloudResourceManager = async (): Promise<typeof CloudResourceManager> => (cloudResourceManager ??= await import('@googleapis/cloudresourcemanager'));

export const loadOctokit = async (): Promise<typeof OctokitRest.Octokit> => (octokit ??= await import('@octokit/rest')).Octokit;
