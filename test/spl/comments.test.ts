/**
 * Conformance: comments in a search. Splunk Search Manual, "Add comments to searches" (Splunk 8.0+):
 * text between three backticks (```) is a comment, anywhere in the search; it is removed before the
 * search runs (https://docs.splunk.com/Documentation/Splunk/latest/Search/Comments). Exported sequence
 * rules carry their header in such comments.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileSearch, SplError } from "../../src/spl/index.js";
import { runStrings, view, winEvent } from "./helpers.js";

const events = [
  winEvent({ eventID: "1", time: "2020-10-08T11:00:00Z", data: { Image: "C:\\a\\cmd.exe" } }),
  winEvent({ eventID: "1", time: "2020-10-08T11:01:00Z", data: { Image: "C:\\a\\calc.exe" } }),
];

describe("``` comments (Search Manual: Add comments to searches)", () => {
  test("a comment before the search, between commands and spanning lines changes nothing", async () => {
    const plain = await runStrings('Image="*\\\\cmd.exe" | table Image', events);
    const commented = await runStrings(
      '``` header ```\nImage="*\\\\cmd.exe" ``` the step ```\n| ``` two\nlines ``` table Image',
      events,
    );
    assert.deepEqual(plain, [{ Image: "C:\\a\\cmd.exe" }]);
    assert.deepEqual(commented, plain);
  });
  test("backticks inside a quoted string are text, not a comment", async () => {
    const rows = await runStrings('* | eval x="a```b" | table x', events.slice(0, 1));
    assert.deepEqual(rows, [{ x: "a```b" }]);
  });
  test("an unclosed comment is an error with its position", () => {
    assert.throws(
      () => compileSearch("Image=* ``` open", { fieldView: view }),
      (e: unknown) => e instanceof SplError && /1:9: expected '```' to close the comment/.test(e.message),
    );
  });
});
