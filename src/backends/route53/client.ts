import { Route53Client } from '@aws-sdk/client-route-53';
import type { Route53ClientConfig } from '@aws-sdk/client-route-53';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { registerSecret } from '../../observe/logger.ts';

export interface Route53ClientOptions {
  /** The signing region; Route 53 is global, and its API lives in us-east-1. */
  region: string;
  /** Another API endpoint (an emulator, a VPC endpoint); default: the SDK's own for the region. */
  endpoint?: string;
  /** A shared credentials file (INI, as `aws configure` writes it), e.g. a mounted Secret. */
  credentialsFile?: string;
  /** The profile in the shared config and credentials files. */
  profile?: string;
  /** How long one request may take, in milliseconds. */
  timeoutMs: number;
  /** Credentials to use instead of the default chain (tests against an emulator). */
  credentials?: Route53ClientConfig['credentials'];
}

type Provider = Extract<NonNullable<Route53ClientConfig['credentials']>, (...args: never[]) => unknown>;

/**
 * A Route 53 client whose credentials come from the SDK's default chain: the AWS_* environment
 * variables, the shared config and credentials files (`credentialsFile`, `profile`), a web
 * identity token (IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE), then the container and
 * instance metadata services. Every secret it yields is registered with the logger, so it is
 * redacted wherever it might appear. The SDK's own retries are off: the backend retries
 * throttling itself and leaves every other failure to the engine.
 */
export function createRoute53Client(opts: Route53ClientOptions): Route53Client {
  const chain =
    opts.credentials ??
    defaultProvider({
      ...(opts.credentialsFile ? { filepath: opts.credentialsFile } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
  const credentials: Provider = async () => {
    const identity = typeof chain === 'function' ? await chain() : chain;
    registerSecret(identity.secretAccessKey);
    if (identity.sessionToken) registerSecret(identity.sessionToken);
    return identity;
  };
  return new Route53Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    credentials,
    maxAttempts: 1,
    requestHandler: { requestTimeout: opts.timeoutMs, connectionTimeout: opts.timeoutMs },
  });
}
