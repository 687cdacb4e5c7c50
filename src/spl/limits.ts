/**
 * Size limits on SPL, so that a hostile or runaway search is a positioned error (exit 2), never a stack
 * overflow. Real detections are far below them (the seed search: 1 KB, 6 commands, depth 6).
 */
import type { SourceText } from "./errors.js";

/** Characters of SPL after macro expansion. */
export const MAX_SPL_LENGTH = 1_000_000;
/** Commands in one pipeline (`| eval ...` stages). */
export const MAX_COMMANDS = 1000;
/** Nested parentheses, function calls, NOT and unary signs, counted together. */
export const MAX_NESTING = 200;
/** Depth of an expression tree (a chain `a+b+c...` is as deep as it is long). */
export const MAX_EXPRESSION_DEPTH = 1000;

/** Counts nesting while a recursive-descent parser runs; throws a positioned error past the limit. */
export class NestingGuard {
  private depth = 0;
  constructor(private readonly src: SourceText) {}
  enter(pos: number): void {
    if (++this.depth > MAX_NESTING) {
      this.depth = 0;
      throw this.src.error(
        pos,
        `nested too deeply (more than ${MAX_NESTING} levels of parentheses, calls or NOT)`,
      );
    }
  }
  leave(): void {
    this.depth--;
  }
}

/**
 * The deepest node of a parsed command, walked without recursion: a tree deeper than
 * MAX_EXPRESSION_DEPTH is an error at that node.
 */
export function checkExpressionDepth(root: unknown, src: SourceText): void {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > MAX_EXPRESSION_DEPTH) {
      const pos = (node as { pos?: unknown }).pos;
      throw src.error(
        typeof pos === "number" ? pos : 0,
        `expression too deep (more than ${MAX_EXPRESSION_DEPTH} levels)`,
      );
    }
    const next = depth + (Array.isArray(node) ? 0 : 1);
    for (const v of Object.values(node)) if (v !== null && typeof v === "object") stack.push([v, next]);
  }
}
