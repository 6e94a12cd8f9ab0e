// Picks the storage driver from configuration: chDB in this process by default, a ClickHouse
// server over HTTP when a URL is given. Both come back with the schema migrated.
import { join } from 'node:path';
import type { ClickHouseDriver } from './driver.ts';
import { ClickHouseHttpDriver } from './http-driver.ts';
import { ClickHouseSession } from './session.ts';

export interface StorageConnectOptions {
  dataDir: string;
  /** `--clickhouse-url`; empty/undefined = embedded chDB under <dataDir>/clickhouse. */
  clickhouseUrl?: string;
  /** `--clickhouse-cluster`; only with a URL. */
  clickhouseCluster?: string;
  log?: (msg: string) => void;
}

export async function openStorage(opts: StorageConnectOptions): Promise<ClickHouseDriver> {
  if (opts.clickhouseUrl) {
    return ClickHouseHttpDriver.open({ url: opts.clickhouseUrl, cluster: opts.clickhouseCluster, log: opts.log });
  }
  if (opts.clickhouseCluster) throw new Error('--clickhouse-cluster needs --clickhouse-url: the embedded chDB is a single node');
  return ClickHouseSession.open(join(opts.dataDir, 'clickhouse'));
}
