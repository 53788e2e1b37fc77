#!/usr/bin/env node
// The `looppool` command. All logic is in src/cli/main.ts (compiled to dist/cli/main.js).
import { exitCommand, main } from '../dist/cli/main.js';

exitCommand(await main(process.argv.slice(2)));
