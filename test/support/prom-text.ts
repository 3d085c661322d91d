/**
 * A strict parser of Prometheus' text exposition format (0.0.4), for tests: prom-client ships
 * none. Anything outside the format throws with the line: a HELP or TYPE line out of place, a
 * sample of a family with no TYPE, a bad name, label or value, a duplicate series, histogram
 * buckets that are not cumulative or whose +Inf bucket is not the count.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function parseLabels(s: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = s.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`label "${name}" twice in: ${line}`);
    if (s[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const next = s[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
      } else value += s[j];
    }
    if (s[j] !== '"') throw new Error(`unterminated label value in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < s.length) {
      if (s[i] !== ',') throw new Error(`expected "," between labels in: ${line}`);
      i++;
    }
  }
  return labels;
}

/** The family a sample belongs to: histograms' and summaries' samples carry suffixes. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      let f = families.get(name);
      if (!f) {
        f = { name, help: '', type: 'untyped', samples: [] };
        families.set(name, f);
      } else if (f.samples.length) throw new Error(`${kind} after samples of ${name}: ${line}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        f.type = rest as Family['type'];
      } else f.help = rest;
      current = f;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const family = familyOf(name, families);
    if (!family || family !== current) throw new Error(`sample of a family with no TYPE before it: ${line}`);
    const sample = { name, labels: parseLabels(labelText ?? '', line), value: parseValue(valueText, line) };
    const key = JSON.stringify([name, Object.entries(sample.labels).sort()]);
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    family.samples.push(sample);
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, Sample[]>();
  const keyOf = (s: Sample): string => {
    const { le: _le, ...rest } = s.labels;
    void _le;
    return JSON.stringify(Object.entries(rest).sort());
  };
  for (const s of f.samples) if (s.name === `${f.name}_bucket`) series.set(keyOf(s), [...(series.get(keyOf(s)) ?? []), s]);
  for (const [key, buckets] of series) {
    let last = -Infinity;
    let lastCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? '', `${f.name} bucket without le`);
      if (le <= last || b.value < lastCount) throw new Error(`${f.name}: buckets not cumulative at le=${b.labels.le}`);
      last = le;
      lastCount = b.value;
    }
    if (last !== Infinity) throw new Error(`${f.name}: no +Inf bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && keyOf(s) === key);
    if (count?.value !== lastCount) throw new Error(`${f.name}: +Inf bucket is not the count`);
  }
}

/** The value of one series (undefined when absent). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    const s = f.samples.find(
      (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length,
    );
    if (s) return s.value;
  }
  return undefined;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function sumOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const f of families.values())
    for (const x of f.samples) if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) sum += x.value;
  return sum;
}
