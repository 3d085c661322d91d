export interface VersionVerdict {
  compatible: boolean;
  /** Set when the versions differ at all: reported by `tabcrew nodes`. */
  note?: string;
}

function parts(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Front and node speak each other's tool schemas: the same major version (and, before 1.0,
 * the same minor, as semver allows breaking changes there) is required; a patch difference
 * is reported but accepted.
 */
export function compareVersions(front: string, nodeName: string | undefined, node: string | undefined): VersionVerdict {
  if (nodeName !== 'tabcrew') return { compatible: false, note: `the node command answered as "${nodeName ?? 'nothing'}", not tabcrew` };
  const f = parts(front);
  const n = node ? parts(node) : undefined;
  if (!f || !n) return { compatible: false, note: `node tabcrew version "${node ?? 'unknown'}" cannot be compared with the front's ${front}` };
  if (front === node) return { compatible: true };
  const sameLine = f[0] === n[0] && (f[0] > 0 || f[1] === n[1]);
  return sameLine
    ? { compatible: true, note: `node runs tabcrew ${node}, the front ${front} (compatible)` }
    : { compatible: false, note: `node runs tabcrew ${node}, the front ${front}: incompatible (different ${f[0] === n[0] ? 'minor' : 'major'} version)` };
}
