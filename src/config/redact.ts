import type { Config, HttpConfig } from "./types.js";

/**
 * Every configured secret, revealed: what the audit log and the answers mask literally
 * wherever it appears (a model can pass one as an argument, a guest note can carry one).
 */
export function configuredSecrets(config: Config, http?: HttpConfig): string[] {
  return [
    config.tokenSecret,
    config.pbs?.tokenSecret,
    config.dangerous?.adminTokenSecret,
    config.dangerous?.ssh?.passphrase,
    config.dangerous?.ssh?.privateKey,
    http?.token,
    http?.confirmKey,
  ].flatMap((secret) => (secret ? [secret.reveal()] : []));
}

/** The configuration for display (`get_version`, start-up messages): no secret, only whether it is set. */
export function describeConfig(config: Config): Record<string, string | number | boolean | string[]> {
  const { tls } = config;
  return {
    host: config.host,
    port: config.port,
    tokenId: config.tokenId,
    tokenSecret: "[set]",
    tls: tls.mode,
    ...(tls.mode === "fingerprint" ? { tlsFingerprint: tls.fingerprint } : {}),
    ...(tls.mode === "ca-file" ? { caFile: tls.caFile } : {}),
    timeoutMs: config.timeoutMs,
    service: config.service,
    logLevel: config.logLevel,
    toolsets: config.toolsets ?? "all",
    allowPrivilegedToken: config.allowPrivilegedToken,
    auditLogPath: config.auditLogPath,
    ...(config.auditWaiversPath ? { auditWaiversPath: config.auditWaiversPath } : {}),
    ...(config.pbs
      ? {
          pbsHost: config.pbs.host,
          pbsPort: config.pbs.port,
          pbsTokenId: config.pbs.tokenId,
          pbsTokenSecret: "[set]",
          pbsTls: config.pbs.tls.mode,
          ...(config.pbs.tls.mode === "fingerprint" ? { pbsTlsFingerprint: config.pbs.tls.fingerprint } : {}),
          ...(config.pbs.tls.mode === "ca-file" ? { pbsCaFile: config.pbs.tls.caFile } : {}),
        }
      : {}),
    dangerous: config.dangerous !== undefined,
    ...(config.dangerous
      ? {
          adminTokenId: config.dangerous.adminTokenId,
          adminTokenSecret: "[set]",
          dangerousConfirm: config.dangerous.confirm,
        }
      : {}),
    ...(config.dangerous?.ssh
      ? {
          ssh: `${config.dangerous.ssh.username}@${config.dangerous.ssh.host}:${config.dangerous.ssh.port}`,
          sshKeyFile: config.dangerous.ssh.keyFile,
          sshHostKey: config.dangerous.ssh.hostKeySha256,
          sshAllowlist: config.dangerous.ssh.allowlistSource,
        }
      : {}),
    sources: Object.entries(config.sources).map(([variable, source]) => `${variable}: ${source}`),
  };
}

/** The HTTP transport's settings for display: the token and the TLS key only as "[set]". */
export function describeHttpConfig(http: HttpConfig): Record<string, string | number | boolean | string[]> {
  return {
    host: http.host,
    port: http.port,
    token: "[set]",
    tls: http.tls ? `${http.tls.certFile} + ${http.tls.keyFile}` : false,
    allowedOrigins: http.allowedOrigins,
    allowPlaintext: http.allowPlaintext,
    maxSessions: http.maxSessions,
    sessionIdleS: http.sessionIdleS,
    rateLimit: http.rateLimit,
    maxBodyBytes: http.maxBodyBytes,
    confirmKey: http.confirmKey ? "[set]" : "random per process",
    confirmStateDir: http.confirmStateDir ?? "in memory",
    sources: Object.entries(http.sources).map(([variable, source]) => `${variable}: ${source}`),
  };
}
