// nginx from Debian as a test server: a config in a scratch directory, run in the foreground.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInContainer } from './stand-in-containers.ts';

/** A self-signed certificate for CN=localhost in dir (cert.pem, key.pem), made with Debian's openssl. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '2'], { stdio: 'ignore' });
  return { cert, key };
}

/** Writes <dir>/nginx.conf with the given location blocks on port 80 (with tls: HTTPS on 443 as
 * well) and starts nginx in the container. */
export function startNginx(container: StandInContainer, dir: string, locations: string, workers = 1, tls?: { cert: string; key: string }): void {
  const https = tls ? `listen 443 ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};` : '';
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
    ${https}
    ${locations}
  }
}
`);
  container.spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
}
