import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Service } from 'kubernetes-models/v1/Service';
import { Secret } from 'kubernetes-models/v1/Secret';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { runCli, testEnv } from './run-cli.js';

/**
 * `tabcrew k8s manifests` run as a user runs it (the built CLI), its YAML parsed back and
 * every object checked against Kubernetes' own OpenAPI schemas (kubernetes-models). No API
 * server runs here: docs/kubernetes.md says what that leaves unproven.
 */

type Obj = Record<string, any>;

const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  Service,
  Secret,
  StatefulSet,
  Deployment,
  NetworkPolicy,
};

const env = testEnv(mkdtempSync(join(tmpdir(), 'tabcrew-k8s-')));

async function manifests(...args: string[]): Promise<Obj[]> {
  const r = await runCli(['k8s', 'manifests', ...args], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const docs = parseAllDocuments(r.stdout);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Obj);
}

const byKind = (objs: Obj[], kind: string): Obj => {
  const found = objs.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** Every labels map of `selector` holds in `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('tabcrew k8s manifests', () => {
  it('prints a Secret, the headless Service, the StatefulSet, the front Deployment and a NetworkPolicy, each valid against the Kubernetes schemas', async () => {
    const objs = await manifests('--namespace', 'crew', '--nodes', '3', '--image', 'registry.example.com:5000/team/tabcrew:1.2.3');
    expect(objs.map((o) => o.kind)).toEqual(['Secret', 'Service', 'StatefulSet', 'Deployment', 'NetworkPolicy']);
    for (const o of objs) {
      const Model = MODELS[o.kind as string]!;
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata?.name}`).not.toThrow();
      expect(o.metadata.namespace).toBe('crew');
    }
  });

  it('a schema violation is caught by the same validation (the check is not vacuous)', async () => {
    const objs = await manifests();
    const sts = structuredClone(byKind(objs, 'StatefulSet'));
    sts.spec.replicas = 'three';
    expect(() => new StatefulSet(sts).validate()).toThrow(/replicas/);
    const svc = structuredClone(byKind(objs, 'Service'));
    svc.spec.ports[0].port = '8787';
    expect(() => new Service(svc).validate()).toThrow(/port/);
  });

  it('the headless Service publishes the SRV name the front looks up, on the port the pods serve', async () => {
    const objs = await manifests('--namespace', 'crew');
    const svc = byKind(objs, 'Service');
    const sts = byKind(objs, 'StatefulSet');
    const front = byKind(objs, 'Deployment');
    expect(svc.spec.clusterIP).toBe('None');
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    const port = svc.spec.ports[0];
    expect(port.name).toBe('tabcrew');
    const container = sts.spec.template.spec.containers[0];
    expect(container.ports).toEqual([expect.objectContaining({ name: port.targetPort, containerPort: port.port })]);
    // SRV: _<port name>._<protocol>.<service>.<namespace>.svc.cluster.local
    const srv = `_${port.name}._${port.protocol.toLowerCase()}.${svc.metadata.name}.crew.svc.cluster.local`;
    const args: string[] = front.spec.template.spec.containers[0].args;
    expect(args[args.indexOf('--nodes-from') + 1]).toBe(`dns-srv:${srv}`);
    expect(srv).toBe('_tabcrew._tcp.tabcrew.crew.svc.cluster.local');
    expect(container.args.slice(0, 6)).toEqual(['serve', '--no-stdio', '--http', String(port.port), '--http-bind', '0.0.0.0']);
    // The name the SRV target gives each pod (<pod>.<service>.<namespace>.svc.cluster.local)
    // is one its Host check admits; Kubernetes expands $(POD_NAME) from the pod's own name.
    const hosts = container.args.flatMap((a: string, i: number) => (container.args[i - 1] === '--http-host' ? [a] : []));
    expect(hosts).toContain(`$(POD_NAME).${svc.metadata.name}.crew.svc.cluster.local`);
    expect(hosts).toContain('$(POD_IP)');
    expect(container.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(container.env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    // Every discovered node is reached with the one token file.
    const tokenMount = front.spec.template.spec.containers[0].volumeMounts.find((m: Obj) => m.name === 'node-token');
    expect(args[args.indexOf('--node-token-file') + 1]).toBe(`*=${tokenMount.mountPath}/token`);
    expect(selects(svc.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
  });

  it('every pod runs non-root, without privilege escalation or capabilities, read-only root, seccomp RuntimeDefault, /tmp an emptyDir', async () => {
    const objs = await manifests();
    for (const kind of ['StatefulSet', 'Deployment']) {
      const pod = byKind(objs, kind).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext, `${kind} ${c.name}`).toEqual({
          runAsNonRoot: true,
          runAsUser: pod.securityContext.runAsUser,
          runAsGroup: pod.securityContext.runAsGroup,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
      const main = pod.containers[0];
      const tmp = main.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
      expect(pod.volumes.find((v: Obj) => v.name === tmp.name)).toEqual({ name: tmp.name, emptyDir: {} });
      expect(byKind(objs, kind).spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(main.ports[0].containerPort),
        'prometheus.io/path': '/metrics',
        'prometheus.io/scheme': 'https',
      });
    }
  });

  it('each node pod gets its own claims for state, HOME and the workspace, mounted where tabcrew and Claude Code write', async () => {
    const sts = byKind(await manifests(), 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates.map((t: Obj) => t.metadata.name)).toEqual(['state', 'home', 'workspace']);
    const main = sts.spec.template.spec.containers[0];
    const at = (name: string): string => main.volumeMounts.find((m: Obj) => m.name === name).mountPath;
    expect(main.env).toContainEqual({ name: 'HOME', value: at('home') });
    expect(main.workingDir).toBe(at('workspace'));
    expect(main.args[main.args.indexOf('--state-dir') + 1].startsWith(at('state') + '/')).toBe(true);
  });

  it('the NetworkPolicy selects the node pods and admits only the front pods, on the named port', async () => {
    const objs = await manifests();
    const np = byKind(objs, 'NetworkPolicy');
    const nodeLabels = byKind(objs, 'StatefulSet').spec.template.metadata.labels;
    const frontLabels = byKind(objs, 'Deployment').spec.template.metadata.labels;
    expect(selects(np.spec.podSelector.matchLabels, nodeLabels)).toBe(true);
    expect(selects(np.spec.podSelector.matchLabels, frontLabels)).toBe(false);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toHaveLength(1);
    const [rule] = np.spec.ingress;
    expect(rule.from).toHaveLength(1);
    expect(Object.keys(rule.from[0])).toEqual(['podSelector']);
    expect(selects(rule.from[0].podSelector.matchLabels, frontLabels)).toBe(true);
    expect(selects(rule.from[0].podSelector.matchLabels, nodeLabels)).toBe(false);
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: 'tabcrew' }]);
  });

  it('generates a fresh random bearer token of the shape serve --http reads, mounted into nodes and front', async () => {
    const [a, b] = [await manifests(), await manifests()];
    const token = (objs: Obj[]): string => Buffer.from(byKind(objs, 'Secret').data.token, 'base64').toString('utf8');
    expect(token(a)).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    expect(token(a)).not.toBe(token(b));
    const name = byKind(a, 'Secret').metadata.name;
    for (const kind of ['StatefulSet', 'Deployment']) {
      const vols = byKind(a, kind).spec.template.spec.volumes;
      expect(vols.filter((v: Obj) => v.secret?.secretName === name)).toHaveLength(1);
    }
  });

  it('--token-secret references an existing Secret and generates none', async () => {
    const objs = await manifests('--token-secret', 'my-crew-token');
    expect(objs.map((o) => o.kind)).not.toContain('Secret');
    for (const kind of ['StatefulSet', 'Deployment']) {
      const vols = byKind(objs, kind).spec.template.spec.volumes;
      expect(vols.filter((v: Obj) => v.secret?.secretName === 'my-crew-token')).toHaveLength(1);
    }
  });

  it.each([
    [['--namespace', 'Crew'], /--namespace "Crew" is not a DNS-1123 label/],
    [['--namespace', 'a'.repeat(64)], /is not a DNS-1123 label/],
    [['--namespace', 'crew\nkind: Pod'], /is not a DNS-1123 label/],
    [['--namespace', '-crew'], /is not a DNS-1123 label/],
    [['--token-secret', 'my_token'], /--token-secret "my_token" is not a DNS-1123 label/],
    [['--nodes', '0'], /from 1 to 100/],
    [['--nodes', '101'], /from 1 to 100/],
    [['--nodes', '2.5'], /from 1 to 100/],
    [['--nodes', '1e2'], /from 1 to 100/],
    [['--image', 'Tabcrew:1'], /is not an image reference/],
    [['--image', 'tabcrew:1 --privileged'], /is not an image reference/],
    [['--image', 'tabcrew:1\n---\nkind: Pod'], /is not an image reference/],
    [['--image', 'tabcrew@sha256:xyz'], /is not an image reference/],
  ])('refuses %j with what to give, exit 2 and the usage line', async (args, message) => {
    const r = await runCli(['k8s', 'manifests', ...args], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: tabcrew k8s manifests/);
  });

  it('accepts image references with a registry port, a path and a digest', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    for (const image of ['tabcrew', 'localhost:5000/tabcrew:dev', `ghcr.example/org/team/tabcrew@${digest}`, `tabcrew:1.0@${digest}`]) {
      const objs = await manifests('--image', image, '--nodes', '1');
      expect(byKind(objs, 'StatefulSet').spec.template.spec.containers[0].image).toBe(image);
    }
  });
});
