// HTTP server for the latency e2e test: answers /wait/<ms> after that many milliseconds, so the
// latency distribution the agent measures is known in advance.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8080);
createServer((req, res) => {
  const ms = Number(/^\/wait\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN);
  if (!Number.isFinite(ms)) { res.writeHead(404).end(); return; }
  setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'), ms);
}).listen(port, '0.0.0.0');
