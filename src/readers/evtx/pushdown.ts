/**
 * The push-down on EVTX records, before anything is built: the record's template and substitution
 * descriptors are read into reused arrays, and the predicate sees System fields and EventData fields
 * decoded on demand straight from the substitution values (a predicate on EventID formats EventID
 * only). One RecordView per chunk reader is reused for every record: a record the predicate rejects
 * allocates only the strings the predicate reads.
 *
 * EventData lookup (decision D-pushdown-eventdata, docs/spl-decisions.md; docs/performance.md): for a template whose Event is a
 * plainly mapped System plus one `<EventData>` of named Data items (in the template itself, or in
 * the one BinXML substitution Windows nests it in), field X is the Data item named X (absent when
 * there is none or its optional value is null); a name that repeats, array or BinXML values in the
 * data, or any other template shape answers "unknown" and the record is kept. That is exactly what
 * the field view (events/fields.ts) gives such a record: the model path (planEvent) builds the same
 * items from the same substitutions.
 */

import {
  type EventDataLookup,
  readsTicks,
  type SystemFields,
  type SystemPredicate,
} from "../../events/model.js";
import {
  type ChunkContext,
  type DataPlan,
  type FieldSource,
  fieldText,
  isOmitted,
  modelPlan,
  nestedDataPlan,
  plainValues,
  type SystemKey,
  type SystemMap,
  systemMap,
  type Template,
  type TemplateShape,
  timeTicksOf,
  type Values,
} from "./binxml.js";
import { ValueType } from "./values.js";

const SYSTEM_KEYS: SystemKey[] = [
  "providerName",
  "providerGuid",
  "eventSourceName",
  "eventID",
  "qualifiers",
  "version",
  "level",
  "task",
  "opcode",
  "keywords",
  "systemTime",
  "eventRecordID",
  "activityID",
  "relatedActivityID",
  "processID",
  "threadID",
  "channel",
  "computer",
  "userID",
];

type DataIndex = Map<string, FieldSource | null>;

/** Data item name -> its source (null: the name repeats). */
function indexOf(plan: DataPlan): DataIndex {
  const index: DataIndex = new Map();
  for (const item of plan) {
    if (item.binary || item.name === undefined || item.name === "") continue;
    index.set(item.name, index.has(item.name) ? null : item.src);
  }
  return index;
}

/**
 * Where a template's EventData comes from, for the lookup: its own `<EventData>` (direct), or one
 * BinXML substitution holding a template that is just `<EventData>` (nested, the usual Windows
 * shape), or neither (null: unknown).
 */
type DataSource = { direct: DataIndex } | { nested: number; optional: boolean };

const SOURCES = new WeakMap<TemplateShape, DataSource | null>();
const NESTED = new WeakMap<TemplateShape, DataIndex | null>();

function dataSource(t: Template): DataSource | null {
  const known = SOURCES.get(t.shape);
  if (known !== undefined) return known;
  let source: DataSource | null = null;
  const plan = modelPlan(t);
  if (plan && plan.rest.length === 1) {
    const { data, node } = plan.rest[0];
    if (data) source = { direct: indexOf(data) };
    else if (node.k === 1) source = { nested: node.index, optional: node.optional };
  }
  SOURCES.set(t.shape, source);
  return source;
}

function nestedIndex(t: Template): DataIndex | null {
  const known = NESTED.get(t.shape);
  if (known !== undefined) return known;
  const plan = nestedDataPlan(t);
  const index = plan ? indexOf(plan) : null;
  NESTED.set(t.shape, index);
  return index;
}

/**
 * The last text decoded for one field, with the bytes it came from: a value that repeats from record
 * to record (Channel, Provider, an Image path) is the same string object again, which the matchers'
 * caches recognise by one comparison, and is not decoded nor garbage again.
 */
class TextMemo {
  private readonly bytes = Buffer.allocUnsafe(MEMO_BYTES);
  private size = -1;
  private value = "";

  text(ctx: ChunkContext, src: FieldSource, v: Values): string | undefined {
    if ("text" in src) return src.text;
    const i = src.index;
    if (i >= v.types.length || v.types[i] !== ValueType.String || v.sizes[i] > MEMO_BYTES)
      return fieldText(ctx, src, v);
    if ((src.guard >= 0 && isOmitted(v, src.guard)) || (src.optional && isOmitted(v, i))) return undefined;
    const off = v.offsets[i];
    const size = v.sizes[i];
    const b = ctx.buf;
    if (size === this.size && b.compare(this.bytes, 0, size, off, off + size) === 0) return this.value;
    const value = fieldText(ctx, src, v);
    if (value === undefined) return undefined;
    b.copy(this.bytes, 0, off, off + size);
    this.size = size;
    this.value = value;
    return value;
  }
}
const MEMO_BYTES = 1024;

/**
 * System fields of the current record, decoded on first access (prototype getters, see below) and
 * kept for the record: an OR of several conditions on one field decodes it once.
 */
class SystemView {
  ctx!: ChunkContext;
  map!: SystemMap;
  v!: Values;
  /** Record number of each cached key (a stamp instead of clearing per record). */
  private readonly stamp = new Int32Array(SYSTEM_KEYS.length);
  private readonly cached: (string | undefined)[] = new Array(SYSTEM_KEYS.length).fill(undefined);
  private readonly memos = SYSTEM_KEYS.map(() => new TextMemo());
  private record = 0;
  /** A new record: nothing cached (stamps: the first record is 1; a wrap starts over). */
  next(): void {
    if (++this.record === 0x7fffffff) {
      this.stamp.fill(0);
      this.record = 1;
    }
  }
  get(key: SystemKey, k: number): string | undefined {
    if (this.stamp[k] === this.record) return this.cached[k];
    const value = this.decode(key, k);
    this.stamp[k] = this.record;
    this.cached[k] = value;
    return value;
  }
  private decode(key: SystemKey, k: number): string | undefined {
    const src = this.map.fields[key];
    if (!src) return undefined;
    if (!("text" in src)) {
      const i = src.index;
      // A BinXML value in a System field: unknown here (the tree walk decides).
      if (i < this.v.types.length && this.v.types[i] === ValueType.BinXml) return undefined;
    }
    return this.memos[k].text(this.ctx, src, this.v);
  }
}
for (const [k, key] of SYSTEM_KEYS.entries())
  Object.defineProperty(SystemView.prototype, key, {
    get(this: SystemView) {
      return this.get(key, k);
    },
    enumerable: true,
  });

/** The push-down's view of one record at a time (reused). */
export class RecordView {
  private readonly system = new SystemView();
  private readonly scratch: Values = { types: [], offsets: [], sizes: [] };
  private readonly nestedScratch: Values = { types: [], offsets: [], sizes: [] };
  private template!: Template;
  /**
   * The current record's EventData: not resolved yet (undefined), unknown (null), certainly
   * none (false), or the index and the values it reads.
   */
  private dataIndex: DataIndex | null | false | undefined;
  private dataValues!: Values;
  /** Data values decoded for the current record (names and values; `cachedCount` in use). */
  private readonly cachedNames: string[] = [];
  private readonly cachedValues: (string | null | undefined)[] = [];
  private cachedCount = 0;
  private readonly memos = new Map<string, TextMemo>();
  private readonly data: EventDataLookup = (name) => this.lookup(name);

  private readonly withTicks: boolean;

  constructor(private readonly filter: SystemPredicate) {
    this.withTicks = readsTicks(filter);
  }

  /**
   * Runs the predicate on the record body at [p, end): true (keep), false (skip) or undefined (the
   * template's System block is not a plain map of substitutions: decide after building).
   */
  decide(ctx: ChunkContext, p: number, end: number): boolean | undefined {
    const template = ctx.peekInstance(p, end, this.scratch);
    if (!template) return undefined;
    const map = systemMap(template);
    if (!map) return undefined;
    const sys = this.system;
    sys.ctx = ctx;
    sys.map = map;
    sys.v = this.scratch;
    sys.next();
    this.template = template;
    this.dataIndex = undefined;
    this.cachedCount = 0;
    // A predicate that does not read the ticks: skip the bigint.
    const ticks = this.withTicks ? timeTicksOf(ctx, map, this.scratch) : undefined;
    if (!this.filter(sys as unknown as SystemFields, ticks, this.data)) return false;
    return map.complete ? true : undefined;
  }

  private lookup(name: string): string | null | undefined {
    const names = this.cachedNames;
    for (let k = 0; k < this.cachedCount; k++) if (names[k] === name) return this.cachedValues[k];
    const value = this.decodeData(name);
    names[this.cachedCount] = name;
    this.cachedValues[this.cachedCount++] = value;
    return value;
  }

  private decodeData(name: string): string | null | undefined {
    if (this.dataIndex === undefined) this.dataIndex = this.resolveData();
    const index = this.dataIndex;
    if (index === null) return undefined;
    if (index === false) return null;
    const src = index.get(name);
    if (src === undefined) return null;
    if (src === null) return undefined;
    let memo = this.memos.get(name);
    if (!memo) {
      if (this.memos.size >= 64) this.memos.clear();
      this.memos.set(name, (memo = new TextMemo()));
    }
    return memo.text(this.system.ctx, src, this.dataValues) ?? null;
  }

  /** The current record's EventData index and values (see planEvent, which this mirrors). */
  private resolveData(): DataIndex | null | false {
    const source = dataSource(this.template);
    if (!source) return null;
    const v = this.scratch;
    if ("direct" in source) {
      if (!plainValues(v)) return null;
      this.dataValues = v;
      return source.direct;
    }
    const i = source.nested;
    if (i >= v.types.length || v.types[i] !== ValueType.BinXml) {
      // No BinXML value there: an optional one left out means no EventData at all.
      return source.optional && isOmitted(v, i) ? false : null;
    }
    const ctx = this.system.ctx;
    const off = v.offsets[i];
    const end = off + v.sizes[i];
    const nv = this.nestedScratch;
    let inner: Template | undefined;
    try {
      inner = ctx.peekInstance(off, end, nv);
    } catch {
      return null; // damaged: the full read reports it
    }
    if (!inner) return null;
    // The value must hold that one instance (then at most an end-of-fragment token).
    const n = nv.types.length;
    const valuesEnd = n > 0 ? nv.offsets[n - 1] + nv.sizes[n - 1] : -1;
    if (valuesEnd < 0 || (valuesEnd < end && ctx.buf[valuesEnd] !== 0x00)) return null;
    const index = nestedIndex(inner);
    if (!index || !plainValues(nv)) return null;
    this.dataValues = nv;
    return index;
  }
}
