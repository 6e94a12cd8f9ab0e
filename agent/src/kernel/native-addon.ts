// Typed facade over the Node-API addon built from agent/native (build/Release/rootsight_bpf.node).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Load/attach result of one program, as the addon reports it. */
export interface NativeProgramStatus {
  name: string;
  /** ELF section, e.g. "tracepoint/sock/inet_sock_set_state" (libbpf's attach point). */
  section: string;
  loaded: boolean;
  attached: boolean;
  /** SEC("uprobe")/SEC("uretprobe") without a target: attached per binary with attachUprobe(). */
  manual?: boolean;
  /** For manual programs: how many binaries/functions they are attached to. */
  attachments?: number;
  error?: string;
}

export interface NativeBpfObjectOptions {
  /** Programs (by function name) not to load. */
  disabledPrograms?: string[];
}

/** An opened, loaded and attached BPF object. */
export interface NativeBpfObject {
  programs(): NativeProgramStatus[];
  /** Starts the native poller over every ring buffer in the object; returns how many.
   * onBatch gets concatenated [u32 LE length][record] frames; the Buffer is only valid to read. */
  startPolling(onBatch: (batch: Buffer) => void): number;
  /** Values of a u64 array map, summed over CPUs for per-CPU arrays. */
  readCounters(mapName: string): number[];
  /** Attaches a manual uprobe program to symbol (or, with symbol "", to the file offset) of an
   * ELF file, for every process that maps it. Returns the program's attachment count; throws
   * with libbpf's reason (e.g. the symbol is not in the file). */
  attachUprobe(program: string, binaryPath: string, symbol: string, offset: number): number;
  /** Joins the poller, destroys links, closes the object. Idempotent. */
  close(): void;
}

export interface NativeBpfAddon {
  /** Throws only if the object file cannot be opened; per-program failures are in programs(). */
  BpfObject: new (path: string, options?: NativeBpfObjectOptions) => NativeBpfObject;
  libbpfVersion(): string;
  /** A bound netlink socket (fd) of this protocol, made in netnsPath's network namespace when given. Throws with errno text. */
  netlinkOpen(protocol: number, netnsPath?: string): number;
  /** Sends request to the kernel; returns the datagram answering its sequence number. Throws on errors and after 200 ms. */
  netlinkRequest(fd: number, request: Buffer): Buffer;
  netlinkClose(fd: number): void;
}

export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/rootsight_bpf.node', import.meta.url));

let cached: NativeBpfAddon | undefined;

/** Loads the addon once. Throws an Error that says how to build it when it is missing. */
export function loadNativeAddon(path: string = ADDON_PATH): NativeBpfAddon {
  if (cached && path === ADDON_PATH) return cached;
  if (!existsSync(path)) {
    throw new Error(`native addon not built: ${path} does not exist; run "npm run setup" (builds agent/native with node-gyp)`);
  }
  const require = createRequire(import.meta.url);
  let addon: NativeBpfAddon;
  try {
    addon = require(path) as NativeBpfAddon;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`native addon ${path} failed to load (${msg}); rebuild it with "npm run setup" (needs libbpf1, libelf1, zlib)`);
  }
  if (path === ADDON_PATH) cached = addon;
  return addon;
}
