// Who this host is: the labels every metric carries (machine_id, system_uuid)
// and node_info's hostname and kernel release, read as Coroot's agent reads them
// so that either server recognises the same node.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';

export interface NodeIdentity {
  machineId: string;
  systemUuid: string;
  hostname: string;
  kernelVersion: string;
  /** The remote-write `instance` label. */
  instance: string;
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function readNodeIdentity(root = ''): NodeIdentity {
  const systemUuid = readTrimmed(`${root}/sys/devices/virtual/dmi/id/product_uuid`);
  let machineId = '';
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id', '/sys/devices/virtual/dmi/id/product_uuid']) {
    machineId = readTrimmed(`${root}${p}`).replace(/-/g, '');
    if (machineId) break;
  }
  return { machineId, systemUuid, hostname: hostname(), kernelVersion: release(), instance: instanceLabel(machineId, systemUuid) };
}

/** instance = machine_id, unless the dash-less system UUID differs: then md5(machine_id + uuid), so cloned VMs with one machine-id stay apart. */
export function instanceLabel(machineId: string, systemUuid: string): string {
  const uuid = systemUuid.replace(/-/g, '');
  if (uuid === '' || uuid === machineId) return machineId;
  return createHash('md5').update(machineId + uuid).digest('hex');
}
