// The agent as its own process in the benches: started from bin/rootsight.js, ready once it
// answers /health, and stopped cleanly.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../bin/rootsight.js');

export interface AgentProcessOptions {
  listen: string;
  /** Agent flags after --listen and --min-container-age 0. */
  args?: readonly string[];
  /** Node flags before the script (e.g. a profiler hook). */
  nodeFlags?: readonly string[];
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
}

/** Starts `rootsight agent` and resolves once it answers /health; throws (and kills it) after 30 s or if it exits. */
export async function startAgentProcess(o: AgentProcessOptions): Promise<ChildProcess> {
  const agent = spawn(process.execPath, [...(o.nodeFlags ?? []), bin, 'agent', '--listen', o.listen, '--min-container-age', '0', ...(o.args ?? [])],
    { stdio: o.stdio ?? ['ignore', 'ignore', 'inherit'], env: o.env ?? process.env });
  for (let i = 0; ; i++) {
    try { await fetch(`http://${o.listen}/health`); return agent; } catch {
      if (i > 300 || agent.exitCode !== null) { agent.kill('SIGKILL'); throw new Error(`the agent (${o.args?.join(' ') || 'no flags'}) did not start`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** SIGTERM, a clean exit (so that --cpu-prof writes its profile), and waits for it. */
export async function stopAgentProcess(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null || agent.signalCode !== null) return;
  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
}
