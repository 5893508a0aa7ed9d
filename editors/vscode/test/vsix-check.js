#!/usr/bin/env node
// Checks the packaged .vsix: what VS Code loads is in it (package.json, its
// `main`, the grammar, the language configuration, README, LICENSE and every
// production dependency, as `npm ls --omit=dev` lists them), and nothing of
// the sources or tests is.
//
//   node test/vsix-check.js deidlang.vsix
"use strict";
const cp = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

/** The names in a zip file, from its central directory. */
function zipNames(file) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(`${file} is not a zip file`);
  }
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) {
      throw new Error(`${file}: bad central directory entry ${n}`);
    }
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    names.push(buf.toString("utf8", at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

const HERE = path.resolve(__dirname, "..");
const vsix = path.resolve(process.argv[2] ?? path.join(HERE, "deidlang.vsix"));
const names = new Set(zipNames(vsix));
const manifest = JSON.parse(fs.readFileSync(path.join(HERE, "package.json"), "utf8"));
const problems = [];

const required = [
  "extension/package.json",
  `extension/${path.posix.normalize(manifest.main)}`,
  "extension/out/settings.js",
  ...manifest.contributes.grammars.map((g) => `extension/${path.posix.normalize(g.path)}`),
  ...manifest.contributes.languages.map((l) => `extension/${path.posix.normalize(l.configuration)}`),
  "extension/readme.md",
  "extension/LICENSE.txt",
];
// every production dependency, where npm installed it
const listed = cp.execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: HERE, encoding: "utf8" });
for (const dir of listed.split(/\r?\n/).filter((d) => d.trim() !== "")) {
  const rel = path.relative(HERE, dir).split(path.sep).join("/");
  if (rel !== "") {
    required.push(`extension/${rel}/package.json`);
  }
}
for (const name of required) {
  if (!names.has(name)) {
    problems.push(`missing: ${name}`);
  }
}
for (const name of names) {
  if (/^extension\/(src|test)\//.test(name) || /^extension\/[^/]+\.ts$|^extension\/out\/.*\.ts$/.test(name) || name.endsWith(".vsix")) {
    problems.push(`should not be packaged: ${name}`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.log(`vsix check: ${required.length} required entries, ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`vsix check: ${path.basename(vsix)} holds ${names.size} entries, all ${required.length} required ones`);
