#!/usr/bin/env node
// The `regio` command: the compiled CLI (dist/cli.js). In the repository, under
// `node --conditions=@regio/source --import tsx`, "#cli" is the TypeScript source instead (docs/adr/0008).
import "#cli";
