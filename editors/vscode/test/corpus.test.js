// The TextMate grammar against every recipe in the repository (examples/,
// deidlang/data/, tests/recipes/): each line is tokenised in time, leaves no
// line-level rule open, its leading keyword gets its keyword scope, and the
// comment starts exactly where deidlang's comment starts.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const HERE = path.resolve(__dirname, "..");
const REPO = path.resolve(HERE, "..", "..");
const GRAMMAR = path.join(HERE, "syntaxes", "deid.tmLanguage.json");

function recipes() {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (/\.dicom$|\.deid$|^deid\.dicom\./.test(entry.name)) {
        found.push(full);
      }
    }
  };
  for (const dir of ["examples", path.join("deidlang", "data"), path.join("tests", "recipes")]) {
    if (fs.existsSync(path.join(REPO, dir))) {
      walk(path.join(REPO, dir));
    }
  }
  return found.sort();
}

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.deid" ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null,
  });
  return registry.loadGrammar("source.deid");
}

const PREDICATES = ["contains", "notcontains", "equals", "notequals", "missing", "present", "empty"];
const KEYWORDS = new Map([
  ...["add", "blank", "jitter", "keep", "remove", "replace"].map((w) => [w, `keyword.other.action.${w}.deid`]),
  ...["field", "split"].map((w) => [w, `keyword.other.group-rule.${w}.deid`]),
  ...PREDICATES.map((w) => [w, `keyword.other.predicate.${w}.deid`]),
  ...["coordinates", "keepcoordinates", "ctpcoordinates", "ctpkeepcoordinates"].map((w) => [
    w,
    `keyword.other.coordinates.${w}.deid`,
  ]),
  ["label", "keyword.other.label.deid"],
  ["format", "keyword.other.format.deid"],
  ...["header", "labels", "filter", "values", "fields"].map((w) => [`%${w}`, `keyword.control.section.${w}.deid`]),
]);

/** The scope the line's first word must have, or null when it is no keyword. */
function expectedLeadScope(line) {
  const m = /^[ \t]*([^\s#]+)(?=[\s#]|$)/.exec(line);
  if (m === null) {
    return null;
  }
  const word = m[1].toLowerCase();
  if (KEYWORDS.has(word)) {
    return { at: m.index + m[0].length - m[1].length, scope: KEYWORDS.get(word) };
  }
  if (word.startsWith("%")) {
    return { at: m.index + m[0].length - m[1].length, scope: "invalid.illegal.section.deid" };
  }
  const op = /^[ \t]*(\+|\|\|)[ \t]*([^\s#]+)(?=[\s#]|$)/.exec(line);
  if (op !== null && PREDICATES.includes(op[2].toLowerCase())) {
    return { at: line.indexOf(op[1]), scope: "keyword.operator.logical" };
  }
  return null;
}

/** Where deidlang's comment starts: the first '#' outside double quotes (or -1). */
function commentStart(line) {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') {
      quoted = !quoted;
    } else if (line[i] === "#" && !quoted) {
      return i;
    }
  }
  return -1;
}

function scopesAt(tokens, column) {
  const token = tokens.find((t) => t.startIndex <= column && column < t.endIndex);
  return token === undefined ? [] : token.scopes;
}

test("the grammar reads every recipe of the repository as deidlang does", async () => {
  const grammar = await loadGrammar();
  const files = recipes();
  assert.ok(files.length >= 50, `expected the repository's recipes, found ${files.length}`);
  const problems = [];
  let lines = 0;
  for (const file of files) {
    const name = path.relative(REPO, file);
    let stack = vsctm.INITIAL;
    fs.readFileSync(file, "utf8").split(/\r\n|\n|\r/).forEach((line, index) => {
      lines += 1;
      const where = `${name}:${index + 1}`;
      const result = grammar.tokenizeLine(line, stack, 1000);
      if (result.stoppedEarly) {
        problems.push(`${where}: tokenising took over a second`);
        return;
      }
      stack = result.ruleStack;
      // root, a section and a LABEL block at most: every line rule ends with its line
      if (stack.depth > 3) {
        problems.push(`${where}: a rule stays open after the line (depth ${stack.depth})`);
      }
      const lead = expectedLeadScope(line);
      if (lead !== null && !scopesAt(result.tokens, lead.at).some((s) => s.startsWith(lead.scope))) {
        problems.push(`${where}: '${line.trim()}' does not start with ${lead.scope}`);
      }
      // Single quotes may also protect '#' (a quoted value); lines with them before the '#' are left out.
      const hash = commentStart(line);
      if (!(hash > 0 && line.slice(0, hash).includes("'"))) {
        for (const token of result.tokens) {
          const isComment = token.scopes.some((s) => s.startsWith("comment.line.number-sign.deid"));
          const shouldBe = hash >= 0 && token.startIndex >= hash;
          if (token.endIndex > token.startIndex && isComment !== shouldBe) {
            problems.push(`${where}: column ${token.startIndex + 1} ${isComment ? "is" : "is not"} comment`);
            break;
          }
        }
      }
    });
  }
  assert.ok(lines > 1000, `only ${lines} lines read`);
  assert.deepEqual(problems, []);
});
