import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { version } from '../version.js';

/**
 * `tabcrew k8s manifests`: the objects that run a crew on Kubernetes, built as data and
 * serialized by the yaml package (no text template ever holds a value). Node pods
 * (StatefulSet) serve `--http`; a headless Service publishes them as SRV records; the front
 * (Deployment) finds them with `--nodes-from dns-srv:…`; a Secret holds the bearer token every
 * node accepts; a NetworkPolicy lets only the front reach the nodes. docs/kubernetes.md.
 */

export interface ManifestOptions {
  namespace: string;
  nodes: number;
  image: string;
  /** An existing Secret with key `token`; none given: one is generated. */
  tokenSecret?: string;
  /** A kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) the nodes serve with and the front trusts. */
  tlsSecret: string;
  storage: { state: string; home: string; workspace: string };
}

export const DEFAULTS = {
  namespace: 'tabcrew',
  nodes: 3,
  image: `tabcrew:${version}`,
  tlsSecret: 'tabcrew-tls',
  storage: { state: '1Gi', home: '5Gi', workspace: '20Gi' },
} as const;

/** The Service, the StatefulSet and so the SRV name: `_tabcrew._tcp.tabcrew.<ns>.svc.cluster.local`. */
export const NODE_NAME = 'tabcrew';
export const FRONT_NAME = 'tabcrew-front';
export const GENERATED_SECRET = 'tabcrew-node-token';
export const PORT_NAME = 'tabcrew';
export const PORT = 8787;
const UID = 10001;

const PATHS = {
  data: '/var/lib/tabcrew',
  home: '/home/tabcrew',
  workspace: '/workspace',
  tmp: '/tmp',
  tokenSecret: '/etc/tabcrew/node-token',
  tls: '/etc/tabcrew/tls',
};
const STATE_DIR = `${PATHS.data}/state`;
const LOG_DIR = `${PATHS.data}/logs`;
const RUNTIME_DIR = `${PATHS.data}/runtime`;

type Obj = Record<string, unknown>;

export function srvName(namespace: string): string {
  return `_${PORT_NAME}._tcp.${NODE_NAME}.${namespace}.svc.cluster.local`;
}

const labels = (component: 'node' | 'front'): Record<string, string> => ({
  'app.kubernetes.io/name': 'tabcrew',
  'app.kubernetes.io/instance': NODE_NAME,
  'app.kubernetes.io/component': component,
});

/** A bearer token of the shape `serve --http` makes (server/http/token.ts). */
function newToken(): string {
  return `tc_${randomBytes(32).toString('base64url')}`;
}

const scrape = {
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': String(PORT),
  'prometheus.io/path': '/metrics',
  'prometheus.io/scheme': 'https',
};

function containerSecurity(): Obj {
  return {
    runAsNonRoot: true,
    runAsUser: UID,
    runAsGroup: UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function podSecurity(): Obj {
  return { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, fsGroup: UID, seccompProfile: { type: 'RuntimeDefault' } };
}

// POD_NAME and POD_IP are expanded by Kubernetes in args ($(VAR)), not by a shell.
const env = (home: string): Obj[] => [
  { name: 'HOME', value: home },
  { name: 'TMPDIR', value: PATHS.tmp },
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];

const httpPort = (): Obj => ({ name: PORT_NAME, containerPort: PORT, protocol: 'TCP' });

const probe = (): Obj => ({ tcpSocket: { port: PORT_NAME }, periodSeconds: 10, failureThreshold: 3 });

/**
 * Serve flags both kinds of pod share: HTTP on every address, TLS, no stdio, tmux, the dirs.
 * The Host check admits loopback only unless told the names a pod is reached by: its IP (a
 * Prometheus scrape) and, for a node, the name its SRV record gives (`hosts`).
 */
function serveArgs(stateDir: string, logDir: string, runtimeDir: string, hosts: string[]): string[] {
  return [
    'serve',
    '--no-stdio',
    '--http',
    String(PORT),
    '--http-bind',
    '0.0.0.0',
    ...['$(POD_IP)', ...hosts].flatMap((h) => ['--http-host', h]),
    '--tls-cert',
    `${PATHS.tls}/tls.crt`,
    '--tls-key',
    `${PATHS.tls}/tls.key`,
    '--backend',
    'tmux',
    '--state-dir',
    stateDir,
    '--log-dir',
    logDir,
    '--runtime-dir',
    runtimeDir,
  ];
}

function pvc(name: string, size: string): Obj {
  return { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } };
}

export function tokenSecretName(o: ManifestOptions): string {
  return o.tokenSecret ?? GENERATED_SECRET;
}

function statefulSet(o: ManifestOptions): Obj {
  const secret = tokenSecretName(o);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: NODE_NAME, namespace: o.namespace, labels: labels('node') },
    spec: {
      serviceName: NODE_NAME,
      replicas: o.nodes,
      // Nodes are independent: no need to start them one after another.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels('node') },
      template: {
        metadata: { labels: labels('node'), annotations: scrape },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity(),
          // The token file `serve --http` reads is <state-dir>/http-token (0600): copied there
          // from the Secret before tabcrew starts. argv only, no shell.
          initContainers: [
            {
              name: 'state-dirs',
              image: o.image,
              command: ['install', '-d', '-m', '0700', STATE_DIR, LOG_DIR, RUNTIME_DIR],
              securityContext: containerSecurity(),
              volumeMounts: [{ name: 'state', mountPath: PATHS.data }],
            },
            {
              name: 'node-token',
              image: o.image,
              command: ['install', '-m', '0600', `${PATHS.tokenSecret}/token`, `${STATE_DIR}/http-token`],
              securityContext: containerSecurity(),
              volumeMounts: [
                { name: 'state', mountPath: PATHS.data },
                { name: 'node-token', mountPath: PATHS.tokenSecret, readOnly: true },
              ],
            },
          ],
          containers: [
            {
              name: 'tabcrew',
              image: o.image,
              command: ['tabcrew'],
              args: serveArgs(STATE_DIR, LOG_DIR, RUNTIME_DIR, [`$(POD_NAME).${NODE_NAME}.${o.namespace}.svc.cluster.local`]),
              env: env(PATHS.home),
              workingDir: PATHS.workspace,
              ports: [httpPort()],
              readinessProbe: probe(),
              livenessProbe: { ...probe(), initialDelaySeconds: 30 },
              securityContext: containerSecurity(),
              volumeMounts: [
                { name: 'state', mountPath: PATHS.data },
                { name: 'home', mountPath: PATHS.home },
                { name: 'workspace', mountPath: PATHS.workspace },
                { name: 'tmp', mountPath: PATHS.tmp },
                { name: 'tls', mountPath: PATHS.tls, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            { name: 'node-token', secret: { secretName: secret, defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } },
            { name: 'tls', secret: { secretName: o.tlsSecret, defaultMode: 0o440 } },
          ],
        },
      },
      volumeClaimTemplates: [pvc('state', o.storage.state), pvc('home', o.storage.home), pvc('workspace', o.storage.workspace)],
    },
  };
}

/** Headless: DNS answers with each pod, and the named port publishes `_tabcrew._tcp.<svc>` SRV records. */
function headlessService(o: ManifestOptions): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NODE_NAME, namespace: o.namespace, labels: labels('node') },
    spec: {
      clusterIP: 'None',
      // A node that is starting is still a node: the front sees it `down`, then adopts it.
      publishNotReadyAddresses: true,
      selector: labels('node'),
      ports: [{ name: PORT_NAME, port: PORT, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
}

function frontDeployment(o: ManifestOptions): Obj {
  const secret = tokenSecretName(o);
  const data = '/var/lib/tabcrew-front';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: FRONT_NAME, namespace: o.namespace, labels: labels('front') },
    spec: {
      replicas: 1,
      // One front at a time: two would both adopt the nodes' sessions.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels('front') },
      template: {
        metadata: { labels: labels('front'), annotations: scrape },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity(),
          containers: [
            {
              name: 'tabcrew-front',
              image: o.image,
              command: ['tabcrew'],
              args: [
                ...serveArgs(`${data}/state`, `${data}/logs`, `${data}/runtime`, []),
                '--nodes-from',
                `dns-srv:${srvName(o.namespace)}`,
                '--node-token-file',
                `*=${PATHS.tokenSecret}/token`,
                '--node-ca',
                `${PATHS.tls}/ca.crt`,
              ],
              env: env(`${data}/home`),
              ports: [httpPort()],
              readinessProbe: probe(),
              livenessProbe: { ...probe(), initialDelaySeconds: 30 },
              securityContext: containerSecurity(),
              volumeMounts: [
                { name: 'data', mountPath: data },
                { name: 'tmp', mountPath: PATHS.tmp },
                { name: 'node-token', mountPath: PATHS.tokenSecret, readOnly: true },
                { name: 'tls', mountPath: PATHS.tls, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'data', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
            { name: 'node-token', secret: { secretName: secret, defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } },
            { name: 'tls', secret: { secretName: o.tlsSecret, defaultMode: 0o440 } },
          ],
        },
      },
    },
  };
}

function tokenSecret(o: ManifestOptions): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: GENERATED_SECRET, namespace: o.namespace, labels: labels('node') },
    type: 'Opaque',
    data: { token: Buffer.from(newToken()).toString('base64') },
  };
}

/** Only the front's pods reach the nodes' port; nothing else reaches the nodes at all. */
function networkPolicy(o: ManifestOptions): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${NODE_NAME}-nodes-from-front`, namespace: o.namespace, labels: labels('node') },
    spec: {
      podSelector: { matchLabels: labels('node') },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: labels('front') } }], ports: [{ protocol: 'TCP', port: PORT_NAME }] }],
    },
  };
}

/** The objects, in the order `kubectl apply -f` should meet them. */
export function manifestObjects(o: ManifestOptions): Obj[] {
  return [...(o.tokenSecret ? [] : [tokenSecret(o)]), headlessService(o), statefulSet(o), frontDeployment(o), networkPolicy(o)];
}

export function manifestsYaml(o: ManifestOptions): string {
  return manifestObjects(o)
    .map((obj) => stringify(obj, { lineWidth: 0 }))
    .map((doc) => `---\n${doc}`)
    .join('');
}
