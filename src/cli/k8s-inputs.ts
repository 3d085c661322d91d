import { InvalidArgumentError } from 'commander';

/**
 * The values `tabcrew k8s manifests` puts into the YAML. Each is checked against the shape
 * Kubernetes itself requires, so a bad value is refused here with what to change rather than
 * by the API server at `kubectl apply`.
 */

/** RFC 1123 label: what Kubernetes requires of namespaces, Services and Secrets' names here. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dnsLabel(what: string, max = 63): (value: string) => string {
  return (value) => {
    if (value.length > max || !DNS_LABEL.test(value)) {
      throw new InvalidArgumentError(
        `${what} "${value.slice(0, 80)}" is not a DNS-1123 label: use at most ${max} lowercase letters, digits and "-", starting and ending with a letter or digit.`,
      );
    }
    return value;
  };
}

export const MAX_NODES = 100;

export function nodeCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > MAX_NODES) {
    throw new InvalidArgumentError(`"${value.slice(0, 20)}" is not a number of nodes: give a whole number from 1 to ${MAX_NODES}.`);
  }
  return n;
}

// An OCI image reference: [registry[:port]/]path[:tag][@algorithm:digest], as the
// distribution project's reference grammar has it (lowercase path components, tag ≤ 128).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REGISTRY = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}';
const IMAGE = new RegExp(`^(?:${REGISTRY})?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

export function imageRef(value: string): string {
  // A bare "host:port/…" whose first part has no dot is still matched as a path: that is fine,
  // the grammar allows both readings and neither lets other text through.
  if (value.length > 255 || !IMAGE.test(value)) {
    throw new InvalidArgumentError(
      `"${value.slice(0, 80)}" is not an image reference: give [registry/]name[:tag][@sha256:digest], e.g. registry.example.com/tabcrew:1.0.`,
    );
  }
  return value;
}
