// Parses --listen values of the agent and the server: "host:port", "[v6addr]:port" or ":port" (all interfaces).

export interface ListenAddress { host: string; port: number }

export function parseListenAddress(value: string): ListenAddress {
  const i = value.lastIndexOf(':');
  const portText = i >= 0 ? value.slice(i + 1) : '';
  const port = Number(portText);
  if (i < 0 || !/^\d+$/.test(portText) || port > 65535) {
    throw new Error(`invalid listen address "${value}": expected host:port, e.g. 127.0.0.1:8080 or :8080`);
  }
  let host = value.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
