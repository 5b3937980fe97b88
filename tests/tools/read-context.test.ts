/**
 * "Read-only by construction" holds for secrets too: nothing a read tool, a resource or
 * an audit check is handed can reach a token secret, the configuration or the admin
 * client, and the type checker says so (this file fails to compile otherwise).
 */
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { AuditContext, AuditCheck } from "../../src/audit/types.js";
import type { Secret } from "../../src/config/secret.js";
import type { Config, DangerousConfig } from "../../src/config/types.js";
import type { PveAdmin } from "../../src/pve/admin.js";
import type { DangerousContext, ReadContext, ReadFacts, ReadTool } from "../../src/tools/define.js";

/**
 * True when a value of type S can be reached from T through properties or what methods
 * return (5 levels). `any` (AbortSignal's reason) holds nothing we gave it.
 */
type Reaches<T, S, Depth extends unknown[] = []> = Depth["length"] extends 5
  ? false
  : 0 extends 1 & T
    ? false
    : [T] extends [never]
      ? false
      : [T] extends [S]
        ? true
        : T extends (...args: never[]) => infer R
          ? Reaches<Awaited<R>, S, [...Depth, 0]>
          : T extends object
            ? true extends { [K in keyof T]-?: Reaches<T[K], S, [...Depth, 0]> }[keyof T]
              ? true
              : false
            : false;

describe("what read code is handed", () => {
  it("reaches no secret, no configuration and no admin client", () => {
    expectTypeOf<Reaches<ReadContext, Secret>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<ReadContext, Config>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<ReadContext, DangerousConfig>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<ReadContext, PveAdmin>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<ReadFacts, Secret>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<AuditContext, Secret>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<AuditContext, Config>>().toEqualTypeOf<false>();
    expectTypeOf<Reaches<AuditContext, PveAdmin>>().toEqualTypeOf<false>();
  });

  it("where the probe does find them, it says so (the check above can fail)", () => {
    expectTypeOf<Reaches<Config, Secret>>().toEqualTypeOf<true>();
    expectTypeOf<Reaches<DangerousContext, Secret>>().toEqualTypeOf<true>();
    expectTypeOf<Reaches<DangerousContext, PveAdmin>>().toEqualTypeOf<true>();
  });

  it("a read tool's handler and an audit check's run cannot take the configuration", () => {
    type ReadHandler = ReadTool<z.ZodRawShape, z.ZodRawShape>["handle"];
    expectTypeOf<Parameters<ReadHandler>[1]>().toEqualTypeOf<ReadContext>();
    expectTypeOf<Parameters<AuditCheck["run"]>[0]>().toEqualTypeOf<AuditContext>();
    const read = (ctx: ReadContext) => {
      // @ts-expect-error a read context carries no configuration
      void ctx.config;
      // @ts-expect-error nor the admin client
      void ctx.admin;
      return ctx.facts.tokenId;
    };
    expectTypeOf(read).returns.toEqualTypeOf<string>();
  });
});
