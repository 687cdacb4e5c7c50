/**
 * A Splunk HTTP Event Collector (HEC) endpoint for `dcomhunt serve`, so the shippers a SOC already runs
 * (Fluent Bit, Vector, the OpenTelemetry collector, NXLog, syslog-ng, Cribl) can feed the rules live.
 *
 * Endpoints (HEC's own): POST /services/collector[/event[/1.0]] (JSON envelopes, concatenated),
 * POST /services/collector/raw[/1.0] (one event per line; a channel is required), GET
 * /services/collector/health[/1.0], POST /services/collector/ack (indexer acknowledgement per channel).
 * dcomhunt's own: GET /alerts?since=&rule=&host=&limit= and GET /metrics, with a `read` token.
 *
 * Authentication: `Authorization: Splunk <token>` (or Basic with the token as password, or Bearer for
 * the read endpoints); `?token=` only when enabled. Tokens are compared in constant time (SHA-256 of
 * each, timingSafeEqual against every known token). Health answers without a token, as Splunk does,
 * and tells nothing but the status.
 *
 * A batch is all or nothing: it is parsed and every event decoded before any is accepted, and
 * accepted only once journaled. Codes and bodies are HEC's (docs/serve.md lists them).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { gunzip } from "node:zlib";
import type { Metrics } from "./metrics.js";
import { decodeEnvelopes, type HecEnvelope, HecError, parseEventBody, parseRawBody } from "./payload.js";
import type { IngestSink } from "./pipeline.js";

export type TokenRole = "hec" | "ack" | "read";

export interface TokenEntry {
  name: string;
  hash: Buffer;
  roles: Set<TokenRole>;
}

/** HEC codes dcomhunt answers, with their HTTP status and text. */
export const HEC_CODES: Record<number, [number, string]> = {
  0: [200, "Success"],
  2: [401, "Token is required"],
  3: [401, "Invalid authorization"],
  4: [403, "Invalid token"],
  5: [400, "No data"],
  6: [400, "Invalid data format"],
  8: [500, "Internal server error"],
  9: [503, "Server is busy"],
  10: [400, "Data channel is missing"],
  11: [400, "Invalid data channel"],
  12: [400, "Event field is required"],
  13: [400, "Event field cannot be blank"],
  14: [400, "ACK is disabled"],
  15: [400, "Error in handling indexed fields"],
  16: [400, "Query string authorization is not enabled"],
  17: [200, "HEC is healthy"],
  18: [503, "HEC is unhealthy, queues are full"],
};

function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

export function tokenEntry(token: string, roles: TokenRole[], name = "token"): TokenEntry {
  return { name, hash: hashToken(token), roles: new Set(roles) };
}

/**
 * A tokens file: one token a line, then its roles (`hec` the default, `ack` = hec with indexer
 * acknowledgement, `read` = the alerts and metrics API); `#` starts a comment.
 */
export function parseTokens(text: string, file: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const body = line.replace(/#.*$/, "").trim();
    if (body === "") return;
    const [token, ...roles] = body.split(/\s+/);
    for (const r of roles)
      if (r !== "hec" && r !== "ack" && r !== "read")
        throw new Error(`${file}:${i + 1}:1: unknown token role '${r}' (hec, ack or read)`);
    if (token.length < 8) throw new Error(`${file}:${i + 1}:1: token too short (8 characters at least)`);
    const rs = (roles.length ? roles : ["hec"]) as TokenRole[];
    if (rs.includes("ack")) rs.push("hec");
    out.push(tokenEntry(token, rs, `${file}:${i + 1}`));
  });
  if (out.length === 0) throw new Error(`${file}: no token`);
  return out;
}

export function loadTokens(file: string): TokenEntry[] {
  return parseTokens(readFileSync(file, "utf8"), file);
}

export interface HecServerOptions {
  tokens: TokenEntry[];
  pipeline: IngestSink;
  metrics: Metrics;
  /** Largest request body, compressed or not (default 16 MiB). */
  maxBodyBytes?: number;
  /** Largest single event (default 1 MiB). */
  maxEventBytes?: number;
  allowQueryToken?: boolean;
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxChannels?: number;
  maxPendingAcksPerChannel?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Channel {
  next: number;
  status: Map<number, boolean>;
}

type Route = "event" | "raw" | "health" | "ack" | "alerts" | "metrics";

function routeOf(pathname: string): Route | undefined {
  const p = pathname.replace(/\/+$/, "");
  switch (p) {
    case "/services/collector":
    case "/services/collector/event":
    case "/services/collector/event/1.0":
      return "event";
    case "/services/collector/raw":
    case "/services/collector/raw/1.0":
      return "raw";
    case "/services/collector/health":
    case "/services/collector/health/1.0":
      return "health";
    case "/services/collector/ack":
      return "ack";
    case "/alerts":
      return "alerts";
    case "/metrics":
      return "metrics";
  }
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createHecServer(opts: HecServerOptions): http.Server {
  const maxBody = opts.maxBodyBytes ?? 16 << 20;
  const maxEvent = opts.maxEventBytes ?? 1 << 20;
  const maxChannels = opts.maxChannels ?? 1000;
  const maxPending = opts.maxPendingAcksPerChannel ?? 100000;
  const channels = new Map<string, Channel>();
  const m = opts.metrics;
  m.counter("dcomhunt_hec_requests_total", "HEC requests by endpoint and HEC code (or HTTP status)");
  m.counter("dcomhunt_hec_events_total", "Events accepted over HEC");
  m.counter("dcomhunt_hec_bytes_total", "Request body bytes received (as sent, before gunzip)");
  m.counter("dcomhunt_hec_rejected_total", "Requests refused, by reason");
  m.gauge("dcomhunt_hec_ack_channels", "Open acknowledgement channels", () => channels.size);

  const authenticate = (req: http.IncomingMessage, url: URL): TokenEntry => {
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header !== undefined) {
      const mm = /^(Splunk|Bearer|Basic)\s+(\S.*)$/i.exec(header.trim());
      if (!mm) throw new HecError(3);
      if (mm[1].toLowerCase() === "basic") {
        const decoded = Buffer.from(mm[2], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        token = colon >= 0 ? decoded.slice(colon + 1) : decoded;
      } else token = mm[2].trim();
    } else if (url.searchParams.has("token")) {
      if (!opts.allowQueryToken) throw new HecError(16);
      token = url.searchParams.get("token") ?? "";
    } else throw new HecError(2);
    const h = hashToken(token);
    let found: TokenEntry | undefined;
    for (const t of opts.tokens) if (timingSafeEqual(h, t.hash) && !found) found = t;
    if (!found) throw new HecError(4);
    return found;
  };

  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers["content-length"] ?? "0");
      if (declared > maxBody) {
        reject(new HttpError(413, `Content-Length of ${declared} too large (maximum is ${maxBody})`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on("data", (c: Buffer) => {
        if (failed) return;
        size += c.length;
        if (size > maxBody) {
          failed = true;
          reject(new HttpError(413, `Content too large (maximum is ${maxBody} bytes)`));
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        if (!failed) resolve(Buffer.concat(chunks));
      });
      req.on("error", (e) => {
        if (!failed) reject(e);
      });
    });

  const decodeBody = async (req: http.IncomingMessage, raw: Buffer): Promise<string> => {
    const enc = String(req.headers["content-encoding"] ?? "identity")
      .toLowerCase()
      .trim();
    if (enc === "identity" || enc === "") return raw.toString("utf8");
    if (enc !== "gzip") throw new HttpError(415, `Unsupported content encoding '${enc}' (gzip only)`);
    return new Promise((resolve, reject) => {
      gunzip(raw, { maxOutputLength: maxBody }, (err, out) => {
        if (!err) resolve(out.toString("utf8"));
        else if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
          reject(new HttpError(413, `Content too large once decompressed (maximum is ${maxBody} bytes)`));
        else reject(new HecError(6, "Invalid data format: broken gzip body"));
      });
    });
  };

  const channelOf = (req: http.IncomingMessage, url: URL, required: boolean): string | undefined => {
    const ch =
      (req.headers["x-splunk-request-channel"] as string | undefined) ?? url.searchParams.get("channel");
    if (ch === undefined || ch === null || ch === "") {
      if (required) throw new HecError(10);
      return undefined;
    }
    if (!GUID.test(ch)) throw new HecError(11);
    return ch.toLowerCase();
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, route: string, code: string) => {
    m.inc("dcomhunt_hec_requests_total", 1, { endpoint: route, code });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": typeof body === "string" ? "text/plain; version=0.0.4" : "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  };

  const sendHec = (
    res: http.ServerResponse,
    code: number,
    route: string,
    extra: Record<string, unknown> = {},
  ) => {
    const [status, text] = HEC_CODES[code] ?? [500, "Internal server error"];
    send(res, status, { text, code, ...extra }, route, String(code));
  };

  const ingest = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    route: "event" | "raw",
    token: TokenEntry,
  ) => {
    const arrived = Date.now();
    const useAck = token.roles.has("ack");
    const channel = channelOf(req, url, useAck || route === "raw");
    let ch: Channel | undefined;
    if (useAck && channel !== undefined) {
      ch = channels.get(channel);
      if (!ch) {
        if (channels.size >= maxChannels) {
          m.inc("dcomhunt_hec_rejected_total", 1, { reason: "ack_channels" });
          throw new HecError(9);
        }
        ch = { next: 0, status: new Map() };
        channels.set(channel, ch);
      }
      if (ch.status.size >= maxPending) {
        m.inc("dcomhunt_hec_rejected_total", 1, { reason: "ack_pending" });
        throw new HecError(9);
      }
    }
    const raw = await readBody(req);
    m.inc("dcomhunt_hec_bytes_total", raw.length);
    const body = await decodeBody(req, raw);
    let envs: HecEnvelope[];
    if (route === "event") envs = parseEventBody(body, maxEvent);
    else {
      const meta: { source?: string; host?: string; sourcetype?: string } = {};
      for (const k of ["source", "host", "sourcetype"] as const) {
        const v = url.searchParams.get(k);
        if (v !== null) meta[k] = v;
      }
      envs = parseRawBody(body, meta, maxEvent);
    }
    const decoded = decodeEnvelopes(envs, opts.pipeline.filter);
    const accepted = await opts.pipeline.accept(decoded, arrived);
    m.inc("dcomhunt_hec_events_total", decoded.length);
    if (ch) {
      const id = ch.next++;
      ch.status.set(id, false);
      const c = ch;
      accepted.processed.then(() => {
        if (c.status.has(id)) c.status.set(id, true);
      });
      sendHec(res, 0, route, { ackId: id });
    } else sendHec(res, 0, route);
  };

  const ack = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, token: TokenEntry) => {
    if (!token.roles.has("ack")) throw new HecError(14);
    const channel = channelOf(req, url, true) as string;
    const body = await decodeBody(req, await readBody(req));
    let ids: unknown;
    try {
      ids = (JSON.parse(body) as { acks?: unknown }).acks;
    } catch {
      throw new HecError(6);
    }
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) throw new HecError(6);
    const ch = channels.get(channel);
    const out: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const done = ch?.status.get(id) === true;
      out[String(id)] = done;
      if (done) ch?.status.delete(id);
    }
    send(res, 200, { acks: out }, "ack", "0");
  };

  const alerts = async (res: http.ServerResponse, url: URL) => {
    const sinceText = url.searchParams.get("since");
    let sinceMs: number | undefined;
    if (sinceText !== null) {
      sinceMs = /^\d+(\.\d+)?$/.test(sinceText) ? Number(sinceText) * 1000 : Date.parse(sinceText);
      if (Number.isNaN(sinceMs))
        throw new HttpError(400, `since: not a time '${sinceText}' (ISO 8601 or epoch seconds)`);
    }
    const limitText = url.searchParams.get("limit");
    const limit = limitText === null ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
      throw new HttpError(400, `limit: not a positive integer '${limitText}'`);
    const list = await opts.pipeline.store.query({
      sinceMs,
      rule: url.searchParams.get("rule") ?? undefined,
      host: url.searchParams.get("host") ?? undefined,
      limit,
    });
    send(res, 200, { count: list.length, alerts: list }, "alerts", "200");
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = routeOf(url.pathname);
    const name = route ?? "unknown";
    try {
      if (!route) throw new HttpError(404, "The requested URL was not found on this server.");
      const wantMethod = route === "health" || route === "alerts" || route === "metrics" ? "GET" : "POST";
      if (req.method !== wantMethod) throw new HttpError(405, `Method not allowed (use ${wantMethod})`);
      if (route === "health") {
        sendHec(res, opts.pipeline.full ? 18 : 17, route);
        return;
      }
      const token = authenticate(req, url);
      if (route === "alerts" || route === "metrics") {
        if (!token.roles.has("read")) throw new HecError(4);
        if (route === "metrics") send(res, 200, m.render(), route, "200");
        else await alerts(res, url);
        return;
      }
      if (!token.roles.has("hec")) throw new HecError(4);
      if (route === "ack") await ack(req, res, url, token);
      else await ingest(req, res, url, route, token);
    } catch (err) {
      if (res.headersSent) return;
      if (err instanceof HecError) {
        const reason = HEC_CODES[err.code]?.[1] ?? "error";
        m.inc("dcomhunt_hec_rejected_total", 1, { reason: reason.toLowerCase().replace(/[^a-z]+/g, "_") });
        sendHec(
          res,
          err.code,
          name,
          err.eventNumber === undefined ? {} : { "invalid-event-number": err.eventNumber },
        );
      } else if (err instanceof HttpError) {
        m.inc("dcomhunt_hec_rejected_total", 1, { reason: `http_${err.status}` });
        send(res, err.status, { text: err.message, code: err.status }, name, String(err.status));
        if (err.status === 413) req.resume();
      } else {
        m.inc("dcomhunt_hec_rejected_total", 1, { reason: "internal" });
        sendHec(res, 8, name);
      }
    }
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handler(req, res);
  };
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener)
    : http.createServer(listener);
  server.keepAliveTimeout = 65000;
  return server;
}
