/** Toolset "dangerous": offered only with ENABLE_DANGEROUS_COMMANDS=true and an admin token. */
import type { AnyTool } from "../define.js";
import { executeVmCommand } from "./guest-exec.js";
import { executeCommand } from "./host-exec.js";
import { proxmoxApi } from "./raw-api.js";
import { vmAction } from "./vm-action.js";

export const dangerousTools: readonly AnyTool[] = [vmAction, executeVmCommand, executeCommand, proxmoxApi];
