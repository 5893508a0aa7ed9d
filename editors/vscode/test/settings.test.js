// The settings the extension sends to the server (src/settings.ts, compiled to out/).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const {
  SECTION,
  resolvePath,
  resolveSettings,
  initializationOptions,
  didChangeConfigurationParams,
  serverCommand,
} = require("../out/settings.js");

const ws = path.resolve("/work/project");
const home = path.resolve("/home/someone");
const ctx = { workspaceFolder: ws, home };

test("defaults: every path unset is null, tables empty, no compat, no profile", () => {
  const s = resolveSettings({ idsFile: "", functionsFile: "", tables: {}, sampleDicom: "", deidCompat: false, profile: null }, ctx);
  assert.deepEqual(s, { idsFile: null, functionsFile: null, tables: {}, sampleDicom: null, deidCompat: false, profile: null });
});

test("nothing configured at all gives the same defaults", () => {
  assert.deepEqual(resolveSettings({}, {}), {
    idsFile: null, functionsFile: null, tables: {}, sampleDicom: null, deidCompat: false, profile: null,
  });
});

test("relative paths and ${workspaceFolder} resolve against the first workspace folder", () => {
  const s = resolveSettings(
    {
      idsFile: "ids.json",
      functionsFile: "${workspaceFolder}/recipes/functions.py",
      tables: { sites: "tables/sites.csv", staff: "/abs/staff.csv" },
      sampleDicom: "~/scans/one.dcm",
      deidCompat: true,
      profile: " basic ",
    },
    ctx,
  );
  assert.equal(s.idsFile, path.join(ws, "ids.json"));
  assert.equal(s.functionsFile, path.join(ws, "recipes", "functions.py"));
  assert.deepEqual(s.tables, { sites: path.join(ws, "tables", "sites.csv"), staff: "/abs/staff.csv" });
  assert.equal(s.sampleDicom, path.join(home, "scans", "one.dcm"));
  assert.equal(s.deidCompat, true);
  assert.equal(s.profile, "basic");
});

test("without a workspace folder a relative path stays relative", () => {
  assert.equal(resolvePath("ids.json", { home }), "ids.json");
  assert.equal(resolvePath("${userHome}/ids.json", { home }), path.join(home, "ids.json"));
});

test("values of the wrong type are dropped, not sent", () => {
  const s = resolveSettings(
    { idsFile: 3, functionsFile: ["x"], tables: ["a", "b"], sampleDicom: {}, deidCompat: "yes", profile: 7 },
    ctx,
  );
  assert.deepEqual(s, { idsFile: null, functionsFile: null, tables: {}, sampleDicom: null, deidCompat: false, profile: null });
  const t = resolveSettings({ tables: { good: "a.csv", "": "b.csv", empty: "", num: 4 } }, ctx);
  assert.deepEqual(t.tables, { good: path.join(ws, "a.csv") });
});

test("the payloads carry the settings under the section 'deidlang'", () => {
  const s = resolveSettings({ profile: "basic" }, ctx);
  assert.equal(SECTION, "deidlang");
  assert.deepEqual(initializationOptions(s), { deidlang: s });
  assert.deepEqual(didChangeConfigurationParams(s), { settings: { deidlang: s } });
});

test("server command: default deidc lsp; a path is resolved, a bare name is left to PATH", () => {
  assert.deepEqual(serverCommand(undefined, undefined, ctx), { command: "deidc", args: ["lsp"] });
  assert.deepEqual(serverCommand("deidc", ["lsp"], ctx), { command: "deidc", args: ["lsp"] });
  assert.deepEqual(serverCommand("  ", ["lsp", "--verbose"], ctx), { command: "deidc", args: ["lsp", "--verbose"] });
  assert.deepEqual(serverCommand(".venv/bin/deidc", ["lsp"], ctx), { command: path.join(ws, ".venv", "bin", "deidc"), args: ["lsp"] });
  assert.deepEqual(serverCommand("python3", ["-m", "deidlang.cli", "lsp", 5], ctx), {
    command: "python3",
    args: ["-m", "deidlang.cli", "lsp"],
  });
});
