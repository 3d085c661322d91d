import type { TlsChoice } from '../../config.js';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { isIP } from 'node:net';

/** The certificate `serve --http --tls` makes on first start, in the state dir. */
export const SELF_SIGNED_CERT = 'http-tls-cert.pem';
export const SELF_SIGNED_KEY = 'http-tls-key.pem';

export type { TlsChoice };

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  /** SHA-256 of the certificate (DER), `AB:CD:…`: what a front pins. */
  fingerprint: string;
}

export class TlsError extends Error {
  override name = 'TlsError';
}

/** `--tls`, `--tls-cert`, `--tls-key` → a choice; a cert without its key (or the other way) is a mistake. */
export function tlsChoiceFrom(o: { tls?: boolean; tlsCert?: string; tlsKey?: string }): TlsChoice | undefined {
  if (o.tlsCert !== undefined || o.tlsKey !== undefined) {
    if (o.tlsCert === undefined || o.tlsKey === undefined)
      throw new TlsError('--tls-cert and --tls-key go together: give both (PEM files), or --tls alone for a self-signed certificate.');
    return { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey) };
  }
  return o.tls ? { selfSigned: true } : undefined;
}

export function fingerprintOf(pem: Buffer | string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Where the certificate of a choice is (the self-signed one lives in the state dir). */
export function certFileOf(choice: TlsChoice, stateDir: string): string {
  return 'certFile' in choice ? choice.certFile : join(stateDir, SELF_SIGNED_CERT);
}

/**
 * The certificate and key to serve with. A self-signed one is made on first start with the
 * system's `openssl req -x509` (Node can make keys but not X.509 certificates), argv only,
 * the key written 0600 into the state dir; later starts reuse it, so its fingerprint stays.
 */
export function loadTls(choice: TlsChoice, stateDir: string, names: string[] = []): TlsMaterial {
  if ('selfSigned' in choice && !existsSync(join(stateDir, SELF_SIGNED_CERT))) makeSelfSigned(stateDir, names);
  const certFile = certFileOf(choice, stateDir);
  const keyFile = 'keyFile' in choice ? choice.keyFile : join(stateDir, SELF_SIGNED_KEY);
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new TlsError(
        `the TLS ${what} ${file} cannot be read: ${(e as Error).message}. Give a readable PEM file (--tls-cert/--tls-key), or --tls for a self-signed one.`,
      );
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let fingerprint: string;
  try {
    fingerprint = fingerprintOf(cert);
  } catch (e) {
    throw new TlsError(`${certFile} is not a PEM certificate (${(e as Error).message}): give the certificate file to --tls-cert.`);
  }
  return { cert, key, certFile, fingerprint };
}

function makeSelfSigned(stateDir: string, names: string[]): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const all = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...names].filter(Boolean))];
  const san = all.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  // Made in a private temp dir beside the state, then moved in: a second server starting at once keeps whichever landed.
  const tmp = mkdtempSync(join(stateDir, '.tls-'));
  try {
    const key = join(tmp, 'key.pem');
    const cert = join(tmp, 'cert.pem');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '3650',
          '-subj',
          '/CN=tabcrew',
          '-addext',
          `subjectAltName=${san}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
      );
    } catch (e) {
      const err = (e as { stderr?: Buffer }).stderr?.toString().trim();
      throw new TlsError(
        `could not make a self-signed certificate with openssl (${err || (e as Error).message}): install openssl (apt-get install openssl), or give your own with --tls-cert FILE --tls-key FILE.`,
      );
    }
    if (existsSync(join(stateDir, SELF_SIGNED_CERT))) return;
    chmodSync(key, 0o600);
    renameSync(key, join(stateDir, SELF_SIGNED_KEY));
    renameSync(cert, join(stateDir, SELF_SIGNED_CERT));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
