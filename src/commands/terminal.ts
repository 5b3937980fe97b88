/**
 * Where a command's output meets the terminal. Reports carry text from the cluster
 * (guest names, task logs, PVE's error messages): a terminal would act on its escape
 * sequences (set the window title, write the clipboard, clear the screen), so every
 * write passes through one cleaning that keeps only the command's own colours.
 */
import { cleanTerminalText } from "../untrusted.js";
import type { CommandIo } from "./setup.js";

/** `io` whose stdout keeps only `styles` (the colours the command writes) and whose stderr keeps none. */
export function terminalIo(io: CommandIo, styles: readonly string[]): CommandIo {
  return {
    ...io,
    stdout: {
      write: (text: string) => io.stdout.write(cleanTerminalText(text, styles)),
      ...(io.stdout.isTTY === undefined ? {} : { isTTY: io.stdout.isTTY }),
    },
    stderr: { write: (text: string) => io.stderr.write(cleanTerminalText(text, [])) },
  };
}
