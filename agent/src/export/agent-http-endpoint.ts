// The agent's own HTTP endpoint: /metrics for Prometheus pull, /capabilities
// for what the kernel side could do on this host, /health.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_TEXT_CONTENT_TYPE, formatUrl, parseListenAddress } from '@rootsight/common';

export interface AgentHttpHandlers {
  metricsText(): string;
  capabilities(): unknown;
}

export async function startAgentHttpEndpoint(listen: string, handlers: AgentHttpHandlers): Promise<{ url: string; server: Server }> {
  const { host, port } = parseListenAddress(listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET is supported\n');
      return;
    }
    try {
      if (path === '/metrics') {
        res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE }).end(handlers.metricsText());
      } else if (path === '/capabilities') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(handlers.capabilities(), null, 2));
      } else if (path === '/health') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /capabilities or /health\n');
      }
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`internal error: ${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return { url: formatUrl(addr.address, addr.port), server };
}
