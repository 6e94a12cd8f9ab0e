#!/usr/bin/env node
// Entry point of the `rootsight` command. The code base is TypeScript run
// through tsx's loader, so there is no separate build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
