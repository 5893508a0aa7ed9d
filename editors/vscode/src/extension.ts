// The deidlang extension: starts `deidc lsp` over stdio for deid recipes and
// keeps its settings current. The contract with the server is in README.md.

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import {
  DeidlangSettings,
  PathContext,
  SECTION,
  ServerCommand,
  didChangeConfigurationParams,
  initializationOptions,
  resolveSettings,
  serverCommand,
} from "./settings";

const LANGUAGE_ID = "deid-recipe";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
// One start or stop at a time: a restart asked for while one runs waits for it.
let pending: Promise<void> = Promise.resolve();

function pathContext(): PathContext {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return { workspaceFolder: folder?.uri.scheme === "file" ? folder.uri.fsPath : undefined };
}

/** The settings as the server receives them. */
export function currentSettings(): DeidlangSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  return resolveSettings(
    {
      idsFile: config.get("idsFile"),
      functionsFile: config.get("functionsFile"),
      tables: config.get("tables"),
      sampleDicom: config.get("sampleDicom"),
      deidCompat: config.get("deidCompat"),
      profile: config.get("profile"),
    },
    pathContext(),
  );
}

function currentCommand(): ServerCommand {
  const config = vscode.workspace.getConfiguration(SECTION);
  return serverCommand(config.get("server.command"), config.get("server.args"), pathContext());
}

function makeClient(server: ServerCommand, channel: vscode.OutputChannel): LanguageClient {
  const folder = pathContext().workspaceFolder;
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    transport: TransportKind.stdio,
    options: folder !== undefined ? { cwd: folder } : {},
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { language: LANGUAGE_ID, scheme: "file" },
      { language: LANGUAGE_ID, scheme: "untitled" },
    ],
    outputChannel: channel,
    initializationOptions: () => initializationOptions(currentSettings()),
    middleware: {
      workspace: {
        // A server that asks for the "deidlang" section gets the same object
        // as in initializationOptions and didChangeConfiguration (resolved
        // paths), not VS Code's raw configuration.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, i) => (item.section === SECTION ? currentSettings() : answers[i]));
        },
      },
    },
  };
  return new LanguageClient("deidlang", "deidlang", serverOptions, clientOptions);
}

async function startServer(): Promise<void> {
  const channel = output ?? vscode.window.createOutputChannel("deidlang");
  output = channel;
  const server = currentCommand();
  channel.appendLine(`Starting the deidlang server: ${[server.command, ...server.args].join(" ")}`);
  const next = makeClient(server, channel);
  client = next;
  try {
    await next.start();
  } catch (err) {
    client = undefined;
    const message = err instanceof Error ? err.message : String(err);
    channel.appendLine(`The deidlang server did not start: ${message}`);
    const openSettings = "Open settings";
    void vscode.window
      .showErrorMessage(
        `deidlang: could not start '${[server.command, ...server.args].join(" ")}' (${message}). ` +
          "Install deidlang, or set deidlang.server.command to the deidc of your environment.",
        openSettings,
      )
      .then((choice) => {
        if (choice === openSettings) {
          void vscode.commands.executeCommand("workbench.action.openSettings", "deidlang.server");
        }
      });
  }
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (running === undefined) {
    return;
  }
  try {
    // dispose stops the server and frees what this client registered: the
    // next start makes a new client (the command line may have changed).
    await running.dispose();
  } catch (err) {
    output?.appendLine(`Stopping the deidlang server: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function serialised(step: () => Promise<void>): Promise<void> {
  pending = pending.then(step, step);
  return pending;
}

function restartServer(): Promise<void> {
  return serialised(async () => {
    await stopServer();
    await startServer();
  });
}

async function sendSettings(): Promise<void> {
  const running = client;
  if (running === undefined || !running.isRunning()) {
    return;
  }
  await running.sendNotification(
    DidChangeConfigurationNotification.type,
    didChangeConfigurationParams(currentSettings()),
  );
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("deidlang.restartServer", () => restartServer()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(`${SECTION}.server`)) {
        void restartServer();
      } else if (event.affectsConfiguration(SECTION)) {
        void serialised(sendSettings);
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => serialised(sendSettings)),
  );
  await serialised(startServer);
}

export function deactivate(): Promise<void> {
  return serialised(stopServer);
}
