/** Worker thread: parses the chunks the main thread sends (see file.ts, "Worker pool"). */

import { parentPort } from "node:worker_threads";
import { readChunk } from "./chunk.js";
import type { WorkerReply, WorkerRequest } from "./file.js";

parentPort?.on("message", (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const buf = Buffer.from(req.buf.buffer, req.buf.byteOffset, req.buf.byteLength);
    const res = readChunk(
      { buf, index: req.index, fileOffset: req.fileOffset, file: req.file },
      {
        mode: req.mode,
        maxRecordBytes: req.maxRecordBytes,
        onlyOffsets: req.onlyOffsets ? new Set(req.onlyOffsets) : undefined,
        attachSystem: req.withSystem,
      },
    );
    reply = { id: req.id, records: res.records, issues: res.issues };
  } catch (err) {
    reply = { id: req.id, records: [], issues: [], error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
