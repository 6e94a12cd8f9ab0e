// nginx from Debian as a test server: a config in a scratch directory, run in the foreground.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInContainer } from './stand-in-containers.ts';

/** Writes <dir>/nginx.conf with the given location blocks on port 80 and starts nginx in the container. */
export function startNginx(container: StandInContainer, dir: string, locations: string, workers = 1): void {
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 80;
    ${locations}
  }
}
`);
  container.spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
}
