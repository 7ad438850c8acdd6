#!/usr/bin/env node
import './register-hooks.mjs';

await import('../main.ts');
