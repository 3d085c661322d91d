/**
 * The audit log: JSON lines in `<logDir>/audit-YYYY-MM-DD.jsonl` (UTC day), one record per
 * tool call, status change, recovery action and refusal, hash-chained across files (and
 * MAC'd with the audit key when there is one). See docs/audit.md. This module is the one
 * import for the rest of tabcrew; the parts live in events, chain, writer and verify.
 */
export { GENESIS, HEAD_FILE, canonical, sha256, auditFileFor, type ChainHead } from './chain.js';
export * from './events.js';
export { AuditLog, AuditLogOfAnotherStateError, type AuditLogOptions } from './writer.js';
export { verify, tail, type VerifyOptions, type VerifyResult, type BadRecord, type GapReport, type TailOptions } from './verify.js';
