// The external Prometheus / VictoriaMetrics given with --prometheus-url: where its query API and
// its remote-write receiver are, and the basic-auth credentials that may ride in the URL (fetch
// refuses URLs with credentials, so they become an Authorization header).

export class UpstreamConfigError extends Error {}

export interface UpstreamEndpoint {
  /** Base URL without credentials or trailing slash, e.g. http://prometheus:9090 (shown to operators). */
  baseUrl: string;
  /** <base>/api/v1/write unless given explicitly. */
  remoteWriteUrl: string;
  /** Headers every upstream request carries (Authorization when the URL had user:password). */
  headers: Record<string, string>;
}

export function parseUpstreamUrl(raw: string, remoteWriteUrl?: string): UpstreamEndpoint {
  const base = parseHttpUrl('--prometheus-url', raw);
  const headers: Record<string, string> = {};
  if (base.username !== '' || base.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  if (base.search !== '' || base.hash !== '') throw new UpstreamConfigError(`--prometheus-url: "${raw}" has a query or fragment; give only the base URL, e.g. http://prometheus:9090`);
  const baseUrl = base.toString().replace(/\/+$/, '');
  let rw = `${baseUrl}/api/v1/write`;
  if (remoteWriteUrl !== undefined && remoteWriteUrl !== '') {
    const u = parseHttpUrl('--prometheus-remote-write-url', remoteWriteUrl);
    if (u.username !== '' || u.password !== '') throw new UpstreamConfigError('--prometheus-remote-write-url: put credentials in --prometheus-url; they are used for both');
    rw = u.toString();
  }
  return { baseUrl, remoteWriteUrl: rw, headers };
}

function parseHttpUrl(flag: string, raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UpstreamConfigError(`${flag}: "${raw}" is not a URL; expected e.g. http://prometheus:9090`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UpstreamConfigError(`${flag}: expected http:// or https://, got "${u.protocol}"`);
  return u;
}

/** The URL without credentials, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}
