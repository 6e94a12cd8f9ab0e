// rabbitmq-server from Debian as a private test broker inside a stand-in container: its own
// config, data, logs, Erlang cookie (HOME) and node name under a scratch directory, no plugins,
// and guest allowed from other addresses (the client lives in another container).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInContainer } from './stand-in-containers.ts';
import { waitForLine } from './process-output.ts';

export const AMQP_PORT = 5672;

/** Starts the broker on <container ip>:5672 and resolves once it accepts clients (Erlang boots slowly). */
export async function startRabbitmq(container: StandInContainer, dir: string, timeoutMs = 120_000): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rabbitmq.conf'), `loopback_users = none\nlisteners.tcp.default = ${container.ip}:${AMQP_PORT}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env = {
    HOME: dir,
    RABBITMQ_NODENAME: 'rootsight@localhost',
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_LOGS: '-',
  };
  // The container's spawn takes no environment: pass it through env(1).
  const broker = container.spawn('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/usr/lib/rabbitmq/bin/rabbitmq-server']);
  await waitForLine(broker, /Server startup complete/, timeoutMs, 'rabbitmq-server to start');
}
