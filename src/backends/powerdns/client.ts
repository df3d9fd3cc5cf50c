import { BackendError } from '../errors.ts';

/** Options of {@link PowerDnsClient}. */
export interface PowerDnsClientOptions {
  /** The webserver's base URL, e.g. `http://127.0.0.1:8081` (a path prefix is kept). */
  url: string;
  /** The `server_id` in `/api/v1/servers/{server_id}`; `localhost` for a plain pdns_server. */
  serverId: string;
  /** The `X-API-Key`. Held in a private field; never part of a message. */
  apiKey: string;
  /** Per request, in milliseconds. */
  timeoutMs: number;
  /** Says who is talking in error messages: the backend's name. */
  label: string;
  /** `globalThis.fetch` unless given. */
  fetch?: typeof globalThis.fetch;
}

/** What one answered request gave back. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** Per request: what it is for, so that errors can say what to check. */
export interface RequestContext {
  /** "reading zone example.com" */
  what: string;
  /** How a 404 is explained. */
  notFound: string;
  signal?: AbortSignal;
}

const MAX_ERROR_TEXT = 300;
/** Bodies above this may meet the server's body limit (PowerDNS: 2 MB unless configured). */
const LARGE_BODY = 1024 * 1024;

/** The text of an error answer: PowerDNS sends `{"error": "..."}` or plain text. */
function errorText(text: string): string {
  let out = text.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed?.error === 'string') out = parsed.error;
  } catch {
    // Plain text ("Bad Request", "Unauthorized").
  }
  return out.length > MAX_ERROR_TEXT ? `${out.slice(0, MAX_ERROR_TEXT)}…` : out;
}

/** The code of a network failure inside fetch's `TypeError: fetch failed`. */
function networkCode(err: unknown): { code: string; message: string } {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: (e as Error).message ?? String(e) };
    e = (e as { cause?: unknown }).cause;
  }
  return { code: 'NETWORK', message: err instanceof Error ? err.message : String(err) };
}

/**
 * A thin client of the PowerDNS Authoritative HTTP API (`/api/v1`) on Node's built-in fetch
 * (undici, keep-alive by default; PowerDNS itself answers `Connection: close`, so each request
 * opens a connection). Every failure becomes a {@link BackendError} whose message says what to
 * check; none of them ever carries the API key.
 */
export class PowerDnsClient {
  readonly #base: string;
  readonly #origin: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #label: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #counts = { GET: 0, PATCH: 0 };

  constructor(opts: PowerDnsClientOptions) {
    const url = new URL(opts.url);
    this.#origin = url.origin;
    const prefix = url.pathname.replace(/\/+$/, '');
    this.#base = `${url.origin}${prefix}/api/v1/servers/${encodeURIComponent(opts.serverId)}`;
    this.#apiKey = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs;
    this.#label = opts.label;
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** Requests sent so far, by method. */
  counts(): { GET: number; PATCH: number } {
    return { ...this.#counts };
  }

  /** Where errors say the API is. */
  get where(): string {
    return `${this.#label} (PowerDNS API at ${this.#origin})`;
  }

  /**
   * Sends one request below `/api/v1/servers/{server_id}` and returns its 2xx answer.
   * @throws BackendError for every other answer and every failure to get one; the caller's
   *   abort rejects with the signal's reason instead.
   */
  async request(
    method: 'GET' | 'PATCH',
    path: string,
    body: string | undefined,
    ctx: RequestContext,
  ): Promise<ApiResponse> {
    ctx.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'X-API-Key': this.#apiKey, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    this.#counts[method]++;
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(`${this.#base}${path}`, { method, headers, body, signal });
      text = await res.text();
    } catch (err) {
      ctx.signal?.throwIfAborted();
      if (timeout.aborted) {
        throw new BackendError(
          'UNREACHABLE',
          'TIMEOUT',
          `${this.where} gave no answer within ${this.#timeoutMs} ms ${ctx.what}` +
            (method === 'PATCH' ? '; the change may still have been applied' : '') +
            '; check that the server is up, or raise timeoutMs',
          { cause: err },
        );
      }
      const { code, message } = networkCode(err);
      // PowerDNS stops reading a body beyond webserver-max-bodysize and closes the connection;
      // the client then sees either its HTTP 400 or, depending on timing, a reset.
      const size = body === undefined ? 0 : Buffer.byteLength(body);
      const tooLarge =
        size > LARGE_BODY
          ? `; a body of ${size} bytes was being sent, and PowerDNS resets the connection for one larger ` +
            'than its webserver-max-bodysize (2 MB by default): if so, lower maxRequestBytes'
          : '';
      throw new BackendError(
        'UNREACHABLE',
        code,
        `${this.where} cannot be reached ${ctx.what} (${code}: ${message}); check that pdns_server runs with ` +
          'api=yes and webserver=yes on that address and port, and that webserver-allow-from lists this client' +
          tooLarge,
        { cause: err },
      );
    }
    if (res.status >= 200 && res.status < 300) {
      if (text === '') return { status: res.status, body: undefined };
      try {
        return { status: res.status, body: JSON.parse(text) as unknown };
      } catch (err) {
        throw new BackendError(
          'SERVER',
          'MALFORMED',
          `${this.where} answered ${ctx.what} with HTTP ${res.status} and a body that is not JSON`,
          { cause: err },
        );
      }
    }
    throw this.#httpError(res.status, errorText(text), method, body, ctx);
  }

  #httpError(
    status: number,
    text: string,
    method: string,
    body: string | undefined,
    ctx: RequestContext,
  ): BackendError {
    // A label-safe detail (metrics keep [A-Za-z0-9_] only); the message says it the usual way.
    const detail = `HTTP_${status}`;
    const said = `${this.where} answered HTTP ${status} ${ctx.what}${text ? `: ${text}` : ''}`;
    if (status === 401 || status === 403) {
      return new BackendError(
        'AUTH',
        detail,
        `${said}; the file apiKeyFile must hold the server's api-key (pdns.conf), and nothing in front of ` +
          'the webserver may strip the X-API-Key header',
      );
    }
    if (status === 404) return new BackendError('NOTZONE', detail, `${said}; ${ctx.notFound}`);
    if (status === 422) {
      // PowerDNS refuses a REPLACE beside a CNAME that appeared after the check: the zone changed.
      if (/Conflicts with (pre-existing|another) RRset/i.test(text)) {
        return new BackendError('PRECONDITION', 'CONFLICT', `${said}; nothing in this PATCH was applied`);
      }
      return new BackendError(
        'INVALID',
        detail,
        `${said}; nothing in this ${method} was applied (PowerDNS applies a PATCH in one transaction)`,
      );
    }
    if (status === 400) {
      const hint =
        body === undefined
          ? ''
          : `; the request body was ${Buffer.byteLength(body)} bytes: if that exceeds the server's ` +
            'webserver-max-bodysize (2 MB by default), lower maxRequestBytes';
      return new BackendError('INVALID', detail, `${said}; nothing was applied${hint}`);
    }
    if (status >= 500) {
      return new BackendError(
        'SERVER',
        detail,
        `${said}; the server failed (nothing in a failed PATCH is applied): see the pdns_server log, ` +
          'often its database backend',
      );
    }
    return new BackendError('SERVER', detail, `${said}; unexpected for the PowerDNS API`);
  }
}
