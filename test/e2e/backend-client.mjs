// Ground-truth client behind a load-balancing address: sends COUNT requests for each path, every
// one on a new connection, and prints per backend (the name each answer's body starts with) the
// number of answers per status, e.g. {"web1":{"200":12,"404":5},"web2":{...}}.
import * as http from 'node:http';

const [host, port, count, ...paths] = process.argv.slice(2);
const seen = {};
for (const path of paths) {
  for (let i = 0; i < Number(count); i++) {
    const [status, body] = await new Promise((resolve, reject) => {
      const req = http.request({ host, port: Number(port), path, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve([res.statusCode, text]));
      });
      req.on('error', reject);
      req.end();
    });
    const backend = body.trim().split(/\s/)[0] || 'unknown';
    seen[backend] ??= {};
    seen[backend][status] = (seen[backend][status] ?? 0) + 1;
  }
}
console.log(JSON.stringify(seen));
