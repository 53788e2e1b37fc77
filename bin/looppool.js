#!/usr/bin/env node
// The `looppool` command. All logic is in src/cli/main.ts (compiled to dist/cli/main.js).
import { main } from '../dist/cli/main.js';

process.exit(await main(process.argv.slice(2)));
