#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// Entry point of the `rootsight` command. The code base is TypeScript run
// through tsx's loader, so there is no separate build step to forget.
// The #! line starts node with glibc's malloc on transparent huge pages (see
// malloc-huge-pages.ts); `node bin/rootsight.js` runs without them.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
