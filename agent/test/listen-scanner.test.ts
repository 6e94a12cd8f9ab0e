import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListenScanner } from '../src/net/listen-scanner.ts';

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listenLine = (n: number, hexIp: string, port: number, inode: number) =>
  `   ${n}: ${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;

function fakeProc(): string {
  const root = mkdtempSync(join(tmpdir(), 'rs-proc-'));
  for (const pid of [20, 21]) mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
  mkdirSync(join(root, '20', 'net'));
  writeFileSync(join(root, '20', 'net', 'tcp'), header + listenLine(0, '0A4DA8C0', 80, 555));
  writeFileSync(join(root, '20', 'net', 'fib_trie'), 'Local:\n     |-- 192.168.77.10\n        /32 host LOCAL\n');
  symlinkSync('socket:[555]', join(root, '20', 'fd', '3'));
  symlinkSync('/dev/null', join(root, '20', 'fd', '0'));
  symlinkSync('socket:[556]', join(root, '21', 'fd', '4'));
  return root;
}

test('listen owners are found through fd links once, then remembered', async () => {
  const root = fakeProc();
  try {
    const procs = [{ pid: 20, netns: 9, containerId: '/docker/web' }, { pid: 21, netns: 9, containerId: '/docker/sidecar' }];
    const scanner = new ListenScanner(root);
    const first = await scanner.scan(procs);
    assert.deepEqual(first.listens, [{ netns: 9, ip: '192.168.77.10', port: 80, containerId: '/docker/web' }]);
    assert.deepEqual(first.addressesByNetns.get(9), ['192.168.77.10']);

    // The link is gone, but the owner is remembered while its process lives.
    rmSync(join(root, '20', 'fd', '3'));
    writeFileSync(join(root, '20', 'net', 'tcp'), header + listenLine(0, '0A4DA8C0', 80, 555) + listenLine(1, '00000000', 9090, 556));
    const second = await scanner.scan(procs);
    assert.deepEqual(second.listens.map((l) => `${l.containerId} ${l.ip}:${l.port}`).sort(), ['/docker/sidecar 0.0.0.0:9090', '/docker/web 192.168.77.10:80']);

    // pid 20 is gone: its socket is not attributed to it any more; 21's stays known.
    mkdirSync(join(root, '21', 'net'));
    writeFileSync(join(root, '21', 'net', 'tcp'), header + listenLine(0, '0A4DA8C0', 80, 555) + listenLine(1, '00000000', 9090, 556));
    const third = await scanner.scan([procs[1]!]);
    assert.deepEqual(third.listens, [{ netns: 9, ip: '0.0.0.0', port: 9090, containerId: '/docker/sidecar' }]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('established connections whose local port listens nowhere in the namespace are the outbound ones', async () => {
  const root = fakeProc();
  // 192.168.77.10:80 listens; an accepted connection on it (inbound), and one this end dialled
  // from port 40000 to 10.96.0.10:5432; a TIME_WAIT (06) one is no live connection.
  const conn = (n: number, local: string, remote: string, state: string, inode: number) =>
    `   ${n}: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
  writeFileSync(join(root, '20', 'net', 'tcp'), header + listenLine(0, '0A4DA8C0', 80, 555)
    + conn(1, '0A4DA8C0:0050', '0B4DA8C0:A000', '01', 600)
    + conn(2, '0A4DA8C0:9C40', '0A00600A:1538', '01', 601)
    + conn(3, '0A4DA8C0:9C41', '0A00600A:1538', '06', 0));
  try {
    // The dialled socket is held by pid 21, of another container in the same namespace (a pod's sidecar).
    symlinkSync('socket:[601]', join(root, '21', 'fd', '5'));
    const procs = [{ pid: 20, netns: 9, containerId: '/docker/web' }, { pid: 21, netns: 9, containerId: '/docker/sidecar' }];
    const result = await new ListenScanner(root).scan(procs, { outbound: true });
    assert.deepEqual(result.outbound, [{ pid: 21, netns: 9, containerId: '/docker/sidecar', saddr: '192.168.77.10', sport: 40000, daddr: '10.96.0.10', dport: 5432 }]);
    assert.deepEqual((await new ListenScanner(root).scan(procs)).outbound, [], 'only when asked: it reads every fd link of the namespace');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
