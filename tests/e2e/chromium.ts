/**
 * Debian's headless Chromium driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: commands in on fd 3, answers and events out on fd 4, each a
 * JSON message ended by a NUL byte): no port, no browser download, no dependency. One
 * page is opened; every network request, console message, log entry and uncaught
 * exception of it is recorded for the test to look at.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

export const CHROMIUM = "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export interface PageRecord {
  /** Every URL the page requested (the document included). */
  requests: string[];
  /** Console errors and warnings, log entries of level error, uncaught exceptions. */
  problems: string[];
}

export class Chromium {
  readonly record: PageRecord = { requests: [], problems: [] };
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private sessionId: string | undefined;
  private exited: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const output = child.stdio[4] as Readable;
    const input = child.stdio[3] as Writable;
    input.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    output.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf(0); end >= 0; end = buffered.indexOf(0)) {
        const message = JSON.parse(buffered.subarray(0, end).toString("utf8")) as Message;
        buffered = buffered.subarray(end + 1);
        this.dispatch(message);
      }
    });
    child.on("exit", (code, signal) => {
      this.exited = new Error(`chromium exited (${code ?? signal})`);
      for (const { reject } of this.pending.values()) reject(this.exited);
      this.pending.clear();
    });
  }

  /** Starts Chromium with a fresh profile and opens one blank page, recording what it does. */
  static async launch(): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), "proxmox-mcp-chromium-"));
    const child = spawn(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--hide-scrollbars",
        "--mute-audio",
        `--user-data-dir=${profile}`,
        "--remote-debugging-pipe",
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
    );
    const browser = new Chromium(child, profile);
    const { targetId } = (await browser.send("Target.createTarget", { url: "about:blank" })) as {
      targetId: string;
    };
    const { sessionId } = (await browser.send("Target.attachToTarget", { targetId, flatten: true })) as {
      sessionId: string;
    };
    browser.sessionId = sessionId;
    browser.listeners.push((m) => browser.observe(m));
    await Promise.all(
      ["Page.enable", "Runtime.enable", "Network.enable", "Log.enable"].map((m) => browser.send(m)),
    );
    return browser;
  }

  /** A command to the page (to the browser before a page is attached). */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    const message: Message = { id, method, params, ...(this.sessionId ? { sessionId: this.sessionId } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (m) =>
          m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result ?? {}),
        reject,
      });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(message)}\0`);
    });
  }

  /** The next event `method` of the page. */
  next(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const listener = (m: Message) => {
        if (m.method !== method) return;
        this.listeners.splice(this.listeners.indexOf(listener), 1);
        resolve(m.params ?? {});
      };
      this.listeners.push(listener);
    });
  }

  /** Opens `url` and resolves once its load event fired. */
  async open(url: string): Promise<void> {
    const loaded = this.next("Page.loadEventFired");
    const { errorText } = (await this.send("Page.navigate", { url })) as { errorText?: string };
    if (errorText) throw new Error(`cannot open ${url}: ${errorText}`);
    await loaded;
  }

  /** The value of a JavaScript expression in the page (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = (await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
    })) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.text}`);
    return result.value;
  }

  /** The page at `width` CSS pixels, as tall as its content, as one PNG. */
  async screenshot(width: number): Promise<Buffer> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height: 800,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const height = await this.evaluate<number>("Math.ceil(document.documentElement.scrollHeight)");
    const { data } = (await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width, height, scale: 1 },
    })) as { data: string };
    return Buffer.from(data, "base64");
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      // Browser.close lets Chromium end its helper processes before the profile is removed.
      await this.send("Browser.close").catch(() => this.child.kill());
      await exited;
    }
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 3 });
  }

  private dispatch(message: Message): void {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
      return;
    }
    for (const listener of [...this.listeners]) listener(message);
  }

  private observe(m: Message): void {
    const p = m.params ?? {};
    if (m.method === "Network.requestWillBeSent") {
      this.record.requests.push(String((p["request"] as { url: string }).url));
    } else if (
      m.method === "Runtime.consoleAPICalled" &&
      ["error", "warning", "assert"].includes(String(p["type"]))
    ) {
      const args = (p["args"] as { value?: unknown; description?: string }[]) ?? [];
      this.record.problems.push(
        `console.${String(p["type"])}: ${args.map((a) => a.description ?? String(a.value)).join(" ")}`,
      );
    } else if (m.method === "Runtime.exceptionThrown") {
      this.record.problems.push(`exception: ${JSON.stringify(p["exceptionDetails"])}`);
    } else if (m.method === "Log.entryAdded") {
      const entry = p["entry"] as { level: string; text: string; url?: string };
      if (entry.level === "error" || entry.level === "warning") {
        this.record.problems.push(`log ${entry.level}: ${entry.text}${entry.url ? ` (${entry.url})` : ""}`);
      }
    }
  }
}
