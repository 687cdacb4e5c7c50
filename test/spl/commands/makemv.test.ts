/** Conformance: makemv (Search Reference, makemv). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { run, winEvent } from "../helpers.js";

const one = (data: Record<string, string>) => [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data }),
];
const mv = async (spl: string, data: Record<string, string>) =>
  (await run(`* | ${spl}`, one(data)))[0].fields.get("f");

describe("makemv", () => {
  test("delim splits on the string; empty values are dropped unless allowempty=t", async () => {
    assert.deepEqual(await mv('makemv delim="," f', { f: "a,b,,c" }), ["a", "b", "c"]);
    assert.deepEqual(await mv('makemv delim="," allowempty=t f', { f: "a,,b" }), ["a", "", "b"]);
    assert.deepEqual(await mv("makemv f", { f: "x y" }), ["x", "y"]);
  });

  test("tokenizer: each match (or its first group) is a value", async () => {
    assert.deepEqual(await mv('makemv tokenizer="([^;]+);?" f', { f: "a;b;c" }), ["a", "b", "c"]);
    assert.deepEqual(await mv('makemv tokenizer="\\d+" f', { f: "1x22y333" }), ["1", "22", "333"]);
  });
});
