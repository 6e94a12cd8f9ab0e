// Preloaded into the agent by bench/agent-http-load.ts --agent-cpu-prof <dir> (node --import).
// `node --cpu-prof` cannot be used on the agent: the profiler's sampling signal interrupts the BPF
// verifier, whose program loads then fail with EAGAIN. So profiling starts only when the bench
// sends SIGUSR2 (after the agent has loaded its programs), and the profile is written at exit.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.AGENT_CPU_PROF_DIR;
if (!dir) throw new Error('agent-cpu-profile.mjs: set AGENT_CPU_PROF_DIR to the directory for the .cpuprofile');

const session = new Session();
let profiling = false;
process.on('SIGUSR2', () => {
  if (profiling) return;
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  profiling = true;
});
process.on('exit', () => {
  if (!profiling) return;
  // An in-thread session answers synchronously, so this completes before the process ends.
  session.post('Profiler.stop', (err, result) => {
    if (err) { console.error(`agent-cpu-profile: ${err.message}`); return; }
    writeFileSync(join(dir, `agent-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
