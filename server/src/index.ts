// Public entry of @rootsight/server, used by the CLI.
export { startServer, defaultListen, defaultDataDir, defaultUiDir, type StartServerOptions, type RunningServer } from './main.ts';
export { defaultRemoteWriteLimits, type RemoteWriteLimits } from './ingest/remote-write.ts';
