/** The CLI from source, for tests that run `dcomhunt` as a separate process (kill tests). */
import { run } from "../../src/cli/main.js";

process.exitCode = await run(process.argv.slice(2));
