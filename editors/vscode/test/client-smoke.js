#!/usr/bin/env node
// Talks to the real `deidc lsp` the way the extension does: the same command
// line (deidlang.server.command/args defaults), the same initializationOptions
// and didChangeConfiguration payloads (out/settings.js), over stdio. It opens
// a recipe with mistakes, expects the diagnostics `deidc check --format json`
// gives for the same file, fixes the recipe, expects the diagnostics to clear,
// and shuts the server down.
//
//   node test/client-smoke.js [COMMAND [ARGS...]]     (default: deidc lsp)
//
// ci.sh runs it only when `deidc lsp --help` works. Exit 0: passed.
"use strict";
const cp = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const rpc = require("vscode-languageserver-protocol/node");
const settings = require("../out/settings.js");

const TIMEOUT_MS = 30000;
// Fails unless main() gets to the end (an event loop that empties early is a failure).
process.exitCode = 1;
const argv = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deidlang-smoke-"));
const ctx = { workspaceFolder: dir };
const server = argv.length > 0 ? { command: argv[0], args: argv.slice(1) } : settings.serverCommand(undefined, undefined, ctx);
// `deidc check` is the server's program with `check` instead of `lsp`.
const checkArgs = server.args.map((a) => (a === "lsp" ? "check" : a));

const BAD = "FORMAT dicom\n%header\nBLNK PatientName\nREMOVE PatientNme\nREPLACE PatientID var:id\n";
const GOOD = "FORMAT dicom\n%header\nBLANK PatientName\nREMOVE PatientID\n";
const recipe = path.join(dir, "deid.dicom");
fs.writeFileSync(recipe, BAD);
fs.writeFileSync(path.join(dir, "ids.json"), JSON.stringify({ "/data/a.dcm": { id: "SUBJ-1" } }));
const uri = pathToFileURL(recipe).href;

const config = settings.resolveSettings({ idsFile: "ids.json", deidCompat: false, profile: null, tables: {} }, ctx);
let passed = 0;
function check(condition, what) {
  if (!condition) {
    throw new Error(`FAILED: ${what}`);
  }
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}

function expectedDiagnostics() {
  const run = cp.spawnSync(server.command, [...checkArgs, "--format", "json", "--ids", config.idsFile, recipe], {
    encoding: "utf8",
  });
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`deidc check failed (${run.status}): ${run.stderr}`);
  }
  return JSON.parse(run.stdout)
    .map((d) => `${d.code}@${d.line - 1}:${d.column - 1}:${d.severity}`)
    .sort();
}

function published(d) {
  const severity = { 1: "error", 2: "warning", 3: "info", 4: "hint" }[d.severity];
  const code = typeof d.code === "object" && d.code !== null ? d.code.value : d.code;
  return `${code}@${d.range.start.line}:${d.range.start.character}:${severity}`;
}

async function main() {
  console.log(`server: ${[server.command, ...server.args].join(" ")}`);
  const child = cp.spawn(server.command, server.args, { cwd: dir, stdio: ["pipe", "pipe", "inherit"] });
  let shuttingDown = false;
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  // The server ending (or not starting) before the shutdown request fails the test at once.
  const died = new Promise((_, reject) => {
    child.on("error", (err) => reject(new Error(`the server did not start: ${err.message}`)));
    void exited.then(({ code, signal }) => {
      if (!shuttingDown) {
        reject(new Error(`the server ended early (status ${code}, signal ${signal})`));
      }
    });
  });
  const orDied = (promise) => Promise.race([promise, died]);
  const connection = rpc.createProtocolConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
  );
  const waiters = [];
  connection.onNotification(rpc.PublishDiagnosticsNotification.type, (params) => {
    for (const w of [...waiters]) {
      if (params.uri === uri && w.accept(params)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(params);
      }
    }
  });
  const configurationAsked = [];
  connection.onRequest(rpc.ConfigurationRequest.type, (params) => {
    configurationAsked.push(params);
    return params.items.map((item) => (item.section === settings.SECTION ? config : null));
  });
  connection.onRequest(rpc.RegistrationRequest.type, () => null);
  connection.onRequest(rpc.WorkDoneProgressCreateRequest.type, () => null);
  connection.onNotification(rpc.LogMessageNotification.type, (m) => console.log(`server log: ${m.message}`));
  connection.listen();

  const diagnosticsWhere = (accept, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      waiters.push({ accept, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });

  const init = await orDied(connection.sendRequest(rpc.InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: "smoke" }],
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      textDocument: { publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true } },
    },
    initializationOptions: settings.initializationOptions(config),
  }));
  check(init.capabilities.textDocumentSync !== undefined, "initialize: the server announces text document sync");
  connection.sendNotification(rpc.InitializedNotification.type, {});
  connection.sendNotification(
    rpc.DidChangeConfigurationNotification.type,
    settings.didChangeConfigurationParams(config),
  );

  const first = diagnosticsWhere((p) => p.diagnostics.length > 0, "for the opened recipe");
  connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "deid-recipe", version: 1, text: BAD },
  });
  const got = (await orDied(first)).diagnostics.map(published).sort();
  const want = expectedDiagnostics();
  check(want.length >= 2, `deidc check finds ${want.length} problems in the recipe`);
  check(JSON.stringify(got) === JSON.stringify(want), `didOpen: diagnostics as deidc check gives them: ${got.join(", ")}`);

  const cleared = diagnosticsWhere((p) => p.diagnostics.length === 0, "cleared after the fix");
  connection.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ text: GOOD }],
  });
  await orDied(cleared);
  check(true, "didChange: the fixed recipe has no diagnostics");

  shuttingDown = true;
  await orDied(connection.sendRequest(rpc.ShutdownRequest.type));
  connection.sendNotification(rpc.ExitNotification.type);
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 5000));
  const end = await Promise.race([exited, timeout]);
  check(end !== null && end.code === 0, "shutdown and exit: the server ends with status 0");
  connection.dispose();
  if (configurationAsked.length > 0) {
    console.log(`(the server asked for workspace/configuration ${configurationAsked.length} time(s))`);
  }
}

main()
  .then(() => {
    console.log(`client smoke: ${passed} passed, 0 failed`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  })
  .catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    console.log(`client smoke: ${passed} passed, 1 failed`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
