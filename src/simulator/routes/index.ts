import { accessRoutes } from "./access.js";
import { agentRoutes } from "./agent.js";
import { aptRoutes } from "./apt.js";
import { backupRoutes } from "./backup.js";
import { clusterRoutes } from "./cluster.js";
import { firewallRoutes } from "./firewall.js";
import { guestRoutes } from "./guests.js";
import { haRoutes } from "./ha.js";
import { notificationRoutes } from "./notifications.js";
import { powerRoutes } from "./power.js";
import type { Route } from "./route.js";
import { storageRoutes } from "./storage.js";
import { systemRoutes } from "./system.js";
import { taskRoutes } from "./tasks.js";

/** Every API method the simulator implements; anything else answers 501 like PVE. */
export const ALL_ROUTES: readonly Route[] = [
  ...clusterRoutes,
  ...guestRoutes,
  ...powerRoutes,
  ...agentRoutes,
  ...storageRoutes,
  ...backupRoutes,
  ...notificationRoutes,
  ...taskRoutes,
  ...accessRoutes,
  ...firewallRoutes,
  ...systemRoutes,
  ...aptRoutes,
  ...haRoutes,
];
