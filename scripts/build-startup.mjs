#!/usr/bin/env node
// Build steps for the command's start-up (issue 15), run by `npm run build` after tsc (and so by
// `npm ci` through `prepare`): ajv standalone validators, the precompiled bundled rules.
await import("./build-validators.mjs");
await import("./build-rules.mjs");
await import("./build-bundle.mjs");
