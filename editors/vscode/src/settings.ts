// The settings the extension sends to `deidc lsp`, and how they are made from
// VS Code's `deidlang.*` configuration. This module does not import `vscode`,
// so node scripts (test/settings.test.js, test/client-smoke.js) use it as it is.
//
// The contract (editors/vscode/README.md, "The server contract"): the server
// receives one object, `DeidlangSettings`, under the key "deidlang":
//   initialize:                      params.initializationOptions.deidlang
//   workspace/didChangeConfiguration: params.settings.deidlang
//   workspace/configuration (section "deidlang"): the object itself
// Paths are absolute when the extension knows a workspace folder, unset
// values are null, and `tables` is always an object.

import * as os from "os";
import * as path from "path";

/** The configuration section, and the key the settings travel under. */
export const SECTION = "deidlang";

/** What the server gets. */
export interface DeidlangSettings {
  /** The ids file (JSON) that `var:NAME` values come from; null: none. */
  idsFile: string | null;
  /** The Python file that defines the `func:NAME` functions; null: none. */
  functionsFile: string | null;
  /** Lookup tables: table name -> file path. */
  tables: { [name: string]: string };
  /** A DICOM file that hovers show selections in; null: none. */
  sampleDicom: string | null;
  /** Check as `deidc check --deid-compat`. */
  deidCompat: boolean;
  /** The profile to report coverage against (`basic`, ...); null: none. */
  profile: string | null;
}

/** What VS Code's configuration may hold: anything, as the user typed it. */
export interface RawSettings {
  idsFile?: unknown;
  functionsFile?: unknown;
  tables?: unknown;
  sampleDicom?: unknown;
  deidCompat?: unknown;
  profile?: unknown;
}

/** Where relative paths and variables are resolved. */
export interface PathContext {
  /** The first workspace folder's path, if any. */
  workspaceFolder?: string;
  /** The user's home directory (for `~`). */
  home?: string;
}

/**
 * Resolve one path setting: empty or not a string -> null; `${workspaceFolder}`
 * and `${userHome}` substituted; a leading `~` is the home directory; a
 * relative path is joined to the workspace folder when there is one (without
 * one it is left relative: the server resolves it against its working
 * directory).
 */
export function resolvePath(value: unknown, ctx: PathContext): string | null {
  if (typeof value !== "string") {
    return null;
  }
  let text = value.trim();
  if (text === "") {
    return null;
  }
  const home = ctx.home ?? os.homedir();
  if (ctx.workspaceFolder !== undefined) {
    text = text.split("${workspaceFolder}").join(ctx.workspaceFolder);
  }
  text = text.split("${userHome}").join(home);
  if (text === "~" || text.startsWith("~/") || text.startsWith("~\\")) {
    text = path.join(home, text.slice(1));
  }
  if (!path.isAbsolute(text) && ctx.workspaceFolder !== undefined && !text.includes("${")) {
    text = path.join(ctx.workspaceFolder, text);
  }
  return text;
}

/** Turn the raw configuration into what the server receives. */
export function resolveSettings(raw: RawSettings, ctx: PathContext): DeidlangSettings {
  const tables: { [name: string]: string } = {};
  if (raw.tables !== null && typeof raw.tables === "object" && !Array.isArray(raw.tables)) {
    for (const [name, file] of Object.entries(raw.tables as { [k: string]: unknown })) {
      const resolved = resolvePath(file, ctx);
      if (name.trim() !== "" && resolved !== null) {
        tables[name] = resolved;
      }
    }
  }
  const profile = typeof raw.profile === "string" && raw.profile.trim() !== "" ? raw.profile.trim() : null;
  return {
    idsFile: resolvePath(raw.idsFile, ctx),
    functionsFile: resolvePath(raw.functionsFile, ctx),
    tables,
    sampleDicom: resolvePath(raw.sampleDicom, ctx),
    deidCompat: raw.deidCompat === true,
    profile,
  };
}

/** `initializationOptions` of the initialize request. */
export function initializationOptions(settings: DeidlangSettings): { [SECTION]: DeidlangSettings } {
  return { [SECTION]: settings };
}

/** `params` of the workspace/didChangeConfiguration notification. */
export function didChangeConfigurationParams(settings: DeidlangSettings): {
  settings: { [SECTION]: DeidlangSettings };
} {
  return { settings: { [SECTION]: settings } };
}

/** The command line of the server: `command args...`. */
export interface ServerCommand {
  command: string;
  args: string[];
}

/** The server's command line from `deidlang.server.command` and `deidlang.server.args`. */
export function serverCommand(command: unknown, args: unknown, ctx: PathContext): ServerCommand {
  let program = typeof command === "string" && command.trim() !== "" ? command.trim() : "deidc";
  // A bare program name (`deidc`) is looked up on PATH; anything with a
  // separator or a variable is a path and is resolved like the other paths.
  if (program.includes("/") || program.includes("\\") || program.includes("${") || program.startsWith("~")) {
    program = resolvePath(program, ctx) ?? program;
  }
  const argv = Array.isArray(args) ? args.filter((a): a is string => typeof a === "string") : ["lsp"];
  return { command: program, args: argv };
}
