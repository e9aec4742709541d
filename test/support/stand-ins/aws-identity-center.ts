// An AWS IAM Identity Center stand-in speaking AWS JSON 1.1 (POST /, X-Amz-Target, {"__type", "message"} errors), after
// https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html (and its Delete,
// Describe…CreationStatus, Describe…DeletionStatus, ListAccountAssignments pages), CommonErrors.html (ThrottlingException,
// AccessDeniedException…), API_DescribePermissionSet.html, and
// https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_GetUserId.html (ResourceNotFoundException
// carries ResourceType: USER or IDENTITY_STORE, https://docs.aws.amazon.com/singlesignon/latest/IdentityStoreAPIReference/API_ResourceNotFoundException.html).
// Assignments provision asynchronously: IN_PROGRESS until polled `pollsUntilDone` times, then SUCCEEDED or FAILED.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from '../loopback-server.ts';

interface Operation {
  kind: 'create' | 'delete';
  key: string;
  polls: number;
  failure: string | null;
  body: Record<string, string>;
}

export interface InjectedAwsError {
  status: number;
  type: string;
  message?: string;
}

export class IdentityCenterStandIn extends LoopbackServer {
  /** Identity Store users: id → { userName, email }. */
  readonly users = new Map<string, { userName: string; email: string }>();
  /** "account|permissionSetArn|principalId" of each provisioned assignment. */
  readonly assignments = new Set<string>();
  readonly targets: string[] = [];
  pollsUntilDone = 1;
  /** When true, an unknown email looked up is created as a user, so tests may use fresh people. */
  autoUsers = false;
  /** Requests naming another instance get ResourceNotFoundException. */
  instanceArn = 'arn:aws:sso:::instance/ssoins-0123456789abcdef';
  /** Requests naming another identity store get ResourceNotFoundException (ResourceType IDENTITY_STORE). */
  identityStoreId = 'd-0123456789';
  /** Permission sets DescribePermissionSet knows: ARN → name. */
  readonly permissionSets = new Map([['arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef', 'ReadOnlyAccess']]);
  /** Operations (X-Amz-Target) Sesame's credentials may not call: AccessDeniedException, as an IAM policy without them. */
  readonly deniedTargets = new Set<string>();
  /** The next create/delete ends FAILED with this reason. */
  failProvisioning: string | null = null;
  /** Requests signed with another access key id get UnrecognizedClientException; a "deny" key gets AccessDeniedException. */
  readonly deniedKeyId = 'AKIADENIEDDENIED0000';
  private readonly operations = new Map<string, Operation>();
  private readonly failures: InjectedAwsError[] = [];

  constructor(readonly accessKeyId: string) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addUser(userName: string, email: string): string {
    const id = `9067${randomUUID().slice(4)}`;
    this.users.set(id, { userName, email });
    return id;
  }

  failNext(...failures: InjectedAwsError[]): void {
    this.failures.push(...failures);
  }

  get failuresLeft(): number {
    return this.failures.length;
  }

  hasAssignment(account: string, permissionSetArn: string, principalId: string): boolean {
    return this.assignments.has(`${account}|${permissionSetArn}|${principalId}`);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) =>
      void res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() }).end(JSON.stringify(body));
    const error = (status: number, type: string, message: string, extra: Record<string, string> = {}) => send(status, { __type: type, message, ...extra });

    const target = String(req.headers['x-amz-target'] ?? '');
    this.targets.push(target);
    if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) return error(400, 'SerializationException', 'expected AWS JSON 1.1');
    const credential = /Credential=([A-Z0-9]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    if (credential === this.deniedKeyId) return error(400, 'AccessDeniedException', 'User is not authorized to perform this action');
    if (credential !== this.accessKeyId) return error(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (this.deniedTargets.has(target)) return error(400, 'AccessDeniedException', `User is not authorized to perform: ${target.split('.').at(-1)}`);
    const injected = this.failures.shift();
    if (injected) return error(injected.status, injected.type, injected.message ?? injected.type);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;

    if (target.startsWith('SWBExternalService.') && body.InstanceArn !== this.instanceArn) return error(400, 'ResourceNotFoundException', 'Instance not found');
    if (target.startsWith('AWSIdentityStore.') && body.IdentityStoreId !== this.identityStoreId) {
      return error(400, 'ResourceNotFoundException', 'IDENTITY_STORE not found.', { ResourceType: 'IDENTITY_STORE', ResourceId: String(body.IdentityStoreId) });
    }
    switch (target) {
      case 'AWSIdentityStore.GetUserId': {
        const { AttributePath, AttributeValue } = (body.AlternateIdentifier as { UniqueAttribute?: { AttributePath?: string; AttributeValue?: string } }).UniqueAttribute ?? {};
        const wanted = String(AttributeValue).toLowerCase();
        let found = [...this.users.entries()].find(([, u]) => (AttributePath === 'userName' ? u.userName : AttributePath === 'emails.value' ? u.email : undefined)?.toLowerCase() === wanted);
        if (!found && this.autoUsers && AttributePath === 'emails.value') {
          const id = this.addUser(wanted, wanted);
          found = [id, { userName: wanted, email: wanted }];
        }
        if (!found) return error(400, 'ResourceNotFoundException', 'USER not found.', { ResourceType: 'USER' });
        return send(200, { IdentityStoreId: body.IdentityStoreId, UserId: found[0] });
      }
      case 'SWBExternalService.CreateAccountAssignment':
      case 'SWBExternalService.DeleteAccountAssignment': {
        const kind = target.endsWith('CreateAccountAssignment') ? 'create' : 'delete';
        if (body.TargetType !== 'AWS_ACCOUNT' || body.PrincipalType !== 'USER') return error(400, 'ValidationException', 'Invalid target or principal type');
        if (!this.users.has(String(body.PrincipalId))) return error(400, 'ResourceNotFoundException', 'Principal not found');
        const key = `${body.TargetId}|${body.PermissionSetArn}|${body.PrincipalId}`;
        if ([...this.operations.values()].some((o) => o.key === key && o.polls < this.pollsUntilDone)) return error(400, 'ConflictException', 'An operation is in progress for this assignment');
        const id = randomUUID();
        const operation: Operation = { kind, key, polls: 0, failure: this.failProvisioning, body: { TargetId: String(body.TargetId), PermissionSetArn: String(body.PermissionSetArn), PrincipalId: String(body.PrincipalId) } };
        this.failProvisioning = null;
        this.operations.set(id, operation);
        return send(200, { [kind === 'create' ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: this.statusOf(id, operation) });
      }
      case 'SWBExternalService.DescribeAccountAssignmentCreationStatus':
      case 'SWBExternalService.DescribeAccountAssignmentDeletionStatus': {
        const creation = target.endsWith('CreationStatus');
        const id = String(creation ? body.AccountAssignmentCreationRequestId : body.AccountAssignmentDeletionRequestId);
        const operation = this.operations.get(id);
        if (!operation) return error(400, 'ResourceNotFoundException', 'Request not found');
        operation.polls++;
        if (operation.polls === this.pollsUntilDone && operation.failure === null) {
          if (operation.kind === 'create') this.assignments.add(operation.key);
          else this.assignments.delete(operation.key);
        }
        return send(200, { [creation ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: this.statusOf(id, operation) });
      }
      case 'SWBExternalService.DescribePermissionSet': {
        const name = this.permissionSets.get(String(body.PermissionSetArn));
        if (name === undefined) return error(400, 'ResourceNotFoundException', 'Could not find PermissionSet with PermissionSetArn');
        return send(200, { PermissionSet: { Name: name, PermissionSetArn: body.PermissionSetArn, SessionDuration: 'PT1H', CreatedDate: Date.now() / 1000 } });
      }
      case 'SWBExternalService.ListAccountAssignments': {
        const all = [...this.assignments]
          .map((k) => k.split('|'))
          .filter(([account, ps]) => account === body.AccountId && ps === body.PermissionSetArn)
          .map(([AccountId, PermissionSetArn, PrincipalId]) => ({ AccountId, PermissionSetArn, PrincipalType: 'USER', PrincipalId }));
        // Pages of two, so callers must follow NextToken.
        const start = Number(body.NextToken ?? 0);
        const page = all.slice(start, start + 2);
        return send(200, { AccountAssignments: page, ...(start + 2 < all.length ? { NextToken: String(start + 2) } : {}) });
      }
      default:
        return error(400, 'UnknownOperationException', `unknown operation ${target}`);
    }
  }

  private statusOf(id: string, o: Operation) {
    const done = o.polls >= this.pollsUntilDone;
    return {
      Status: !done ? 'IN_PROGRESS' : o.failure === null ? 'SUCCEEDED' : 'FAILED',
      RequestId: id,
      ...(done && o.failure !== null ? { FailureReason: o.failure } : {}),
      TargetId: o.body.TargetId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: o.body.PermissionSetArn,
      PrincipalType: 'USER',
      PrincipalId: o.body.PrincipalId,
      CreatedDate: Date.now() / 1000,
    };
  }
}
