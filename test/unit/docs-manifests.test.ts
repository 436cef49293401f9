/**
 * docs/: builder.toml, the kpack manifests and the Tekton pipeline parse, name only keys that pack, kpack and
 * Tekton define (key trees in test/schemas/, taken from each project's schema or Go types; see
 * test/schemas/README.md), and refer to each other and to this buildpack consistently.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { isTable, parseToml, type TomlTable } from '../../src/cnb/toml.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = path.join(REPO, 'docs');
const SCHEMAS = path.join(REPO, 'test', 'schemas');

/** An object maps allowed keys to subtrees ("*" = any key); a leaf is a scalar type or "any". Arrays are their items. */
type KeyTree = string | { [key: string]: KeyTree };

/** test/schemas/*.json, by kind: a key tree (pack, Tekton CRDs), kpack's trees per kind, or a catalog task's declarations. */
interface KeysSchema {
  keys: { [key: string]: KeyTree };
}
interface KpackSchema {
  apiVersion: string;
  kinds: { [kind: string]: { [key: string]: KeyTree } };
}
interface TaskSchema {
  name: string;
  params: Array<{ name: string; type?: string; required?: boolean }>;
  workspaces: Array<{ name: string; optional?: boolean }>;
}

/**
 * The parts of the manifests in docs/ that the tests below read. Parsed YAML is only known to be a table: these
 * types name what the manifests are expected to hold, and a manifest that differs fails the key checks or assertions.
 */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}
interface Ref {
  name: string;
  kind: string;
}
interface KpackManifest extends Manifest {
  spec: { stack?: Ref; order?: Array<{ group: Array<Ref & { id: string }> }>; builder?: Ref; build?: { env: Array<{ name: string; value: string }> } };
}
interface TektonParam {
  name: string;
  value?: string | string[];
  default?: string | string[];
}
interface PipelineTask {
  name: string;
  taskRef: { params: TektonParam[] };
  params: TektonParam[];
  workspaces: Array<{ name: string; workspace: string }>;
}
interface Pipeline extends Manifest {
  spec: { params: TektonParam[]; tasks: PipelineTask[]; workspaces: Array<{ name: string; optional?: boolean }> };
}
interface PipelineRun extends Manifest {
  spec: { pipelineRef: { name: string }; params: TektonParam[]; workspaces: Array<{ name: string }> };
}

const schema = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(SCHEMAS, name), 'utf8')) as T;
const yamlDocs = <T extends Manifest>(rel: string): T[] =>
  loadAll(fs.readFileSync(path.join(DOCS, rel), 'utf8')).filter((d) => isTable(d)) as unknown as T[];

/** The first of `items`; fails the test when there is none. */
function first<T>(items: readonly T[] | undefined, what: string): T {
  const item = items?.[0];
  return item === undefined ? expect.fail(`no ${what}`) : item;
}

/** The one item of `items`; fails the test when there is none, or more. */
function only<T>(items: readonly T[], what: string): T {
  const [item, ...rest] = items;
  expect(rest, `only one ${what}`).to.deep.equal([]);
  return item === undefined ? expect.fail(`no ${what}`) : item;
}

/** Kubernetes ObjectMeta keys a manifest in docs/ may use. */
const OBJECT_META = { name: 'string', namespace: 'string', generateName: 'string', labels: { '*': 'string' }, annotations: { '*': 'string' } };

/** Keys of `value` that `tree` does not define, and objects where a scalar belongs, as paths. */
function unknownKeys(value: unknown, tree: KeyTree, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownKeys(v, tree, `${at}[${i}]`));
  if (tree === 'any') return [];
  if (typeof tree === 'string') return value !== null && typeof value === 'object' ? [`${at} (an object where a ${tree} belongs)`] : [];
  if (value === null || typeof value !== 'object') return [`${at} (a ${typeof value} where an object belongs)`];
  return Object.entries(value).flatMap(([k, v]) => {
    const sub = tree[k] ?? tree['*'];
    const where = at ? `${at}.${k}` : k;
    return sub === undefined ? [where] : unknownKeys(v, sub, where);
  });
}

function checkK8s(doc: Manifest, tree: { [key: string]: KeyTree } = {}): string[] {
  return [...unknownKeys({ ...doc, metadata: undefined }, { ...tree, metadata: 'any' }), ...unknownKeys(doc.metadata ?? {}, OBJECT_META, 'metadata')];
}

const buildpackToml = parseToml(fs.readFileSync(path.join(REPO, 'buildpack.toml'), 'utf8'));
const bp = buildpackToml.buildpack as TomlTable;

describe('docs: manifests for pack, kpack and Tekton', () => {
  it('the key checker reports unknown keys and objects where scalars belong', () => {
    const tree: KeyTree = { spec: { tag: 'string', order: { group: { id: 'string' } } } };
    expect(unknownKeys({ spec: { tag: 'x', order: [{ group: [{ id: 'a' }, { idd: 'b' }] }] } }, tree)).to.deep.equal(['spec.order[0].group[1].idd']);
    expect(unknownKeys({ spec: { tag: { name: 'x' } } }, tree)).to.deep.equal(['spec.tag (an object where a string belongs)']);
  });

  it('builder.toml uses only pack builder-config keys and adds this buildpack at its version', () => {
    const doc = parseToml(fs.readFileSync(path.join(DOCS, 'builder.toml'), 'utf8'));
    expect(unknownKeys(doc, schema<KeysSchema>('pack-builder.json').keys)).to.deep.equal([]);
    const buildpacks = doc.buildpacks as TomlTable[];
    expect(buildpacks.map((b) => [b.id, b.version])).to.deep.equal([[bp.id, bp.version]]);
    expect(String(first(buildpacks, 'buildpack').uri)).to.match(/^docker:\/\//);
    const order = doc.order as Array<{ group: TomlTable[] }>;
    expect(order.map((o) => o.group.map((g) => [g.id, g.version]))).to.deep.equal([[[bp.id, bp.version]]]);
    expect(doc.build).to.have.property('image').that.is.a('string');
    expect((doc.run as { images: unknown[] }).images).to.have.length(1);
    const lifecycle = doc.lifecycle as TomlTable;
    expect(String(lifecycle.version)).to.match(/^0\.(1[7-9]|[2-9]\d)\.\d+$/, 'a lifecycle that runs Buildpack API 0.10');
    const arches = (buildpackToml.targets as TomlTable[]).map((t) => t.arch);
    for (const t of doc.targets as TomlTable[]) expect(arches).to.include(t.arch);
  });

  it('the kpack manifests use only kpack v1alpha2 keys and reference each other', () => {
    const kpack = schema<KpackSchema>('kpack-v1alpha2.json');
    const docs = fs.readdirSync(path.join(DOCS, 'kpack')).filter((f) => f.endsWith('.yaml')).flatMap((f) => yamlDocs<KpackManifest>(path.join('kpack', f)));
    const byKind = new Map<string, KpackManifest[]>();
    for (const d of docs) {
      expect(d.apiVersion).to.equal(kpack.apiVersion);
      expect(Object.keys(kpack.kinds)).to.include(d.kind);
      expect(checkK8s(d, kpack.kinds[d.kind]), `${d.kind} ${d.metadata?.name}`).to.deep.equal([]);
      byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d]);
    }
    expect([...byKind.keys()].sort()).to.deep.equal(['ClusterBuilder', 'ClusterBuildpack', 'ClusterStack', 'Image']);
    const names = (kind: string): string[] => (byKind.get(kind) ?? []).map((d) => d.metadata.name);

    const builder = first(byKind.get('ClusterBuilder'), 'ClusterBuilder');
    expect(builder.spec.stack).to.deep.equal({ name: names('ClusterStack')[0], kind: 'ClusterStack' });
    const group = (builder.spec.order ?? []).flatMap((o) => o.group);
    expect(group).to.deep.equal([{ name: names('ClusterBuildpack')[0], kind: 'ClusterBuildpack', id: bp.id }]);
    const image = first(byKind.get('Image'), 'Image');
    expect(image.spec.builder).to.deep.equal({ name: builder.metadata.name, kind: 'ClusterBuilder' });
    const env = image.spec.build?.env;
    expect(env, 'Image spec.build.env').to.be.an('array');
    for (const e of env ?? []) expect(e.name).to.match(/^(BP_|PIP_|APP_|GUNICORN_|DISABLE_)/);
  });

  it('the Tekton pipeline uses only Pipeline v1 keys and the params and workspaces its catalog tasks declare', () => {
    const pipeline = only(yamlDocs<Pipeline>('tekton/pipeline.yaml'), 'document in tekton/pipeline.yaml');
    expect([pipeline.apiVersion, pipeline.kind]).to.deep.equal(['tekton.dev/v1', 'Pipeline']);
    expect(checkK8s(pipeline, schema<KeysSchema>('tekton-pipeline-v1.json').keys)).to.deep.equal([]);

    const declared = new Set(pipeline.spec.params.map((p) => p.name));
    const text = JSON.stringify(pipeline.spec.tasks);
    for (const m of text.matchAll(/\$\(params\.([A-Za-z0-9_-]+)/g)) expect(declared, 'pipeline param').to.include(m[1]);
    const pipelineWorkspaces = new Set(pipeline.spec.workspaces.map((w) => w.name));

    const tasks = new Map([
      ['task/buildpacks-phases/0.3/buildpacks-phases.yaml', schema<TaskSchema>('tekton-task-buildpacks-phases-0.3.json')],
      ['task/git-clone/0.10/git-clone.yaml', schema<TaskSchema>('tekton-task-git-clone-0.10.json')],
    ]);
    const used: string[] = [];
    for (const t of pipeline.spec.tasks) {
      const pathInRepo = t.taskRef.params.find((p) => p.name === 'pathInRepo')?.value;
      const task = typeof pathInRepo === 'string' ? tasks.get(pathInRepo) : undefined;
      if (task === undefined) expect.fail(`${t.name}: a catalog task with a stored parameter list`);
      used.push(task.name);
      const params = new Map(task.params.map((p) => [p.name, p] as const));
      for (const p of t.params) expect([...params.keys()], `${t.name} param`).to.include(p.name);
      for (const p of task.params.filter((x) => x.required)) expect(t.params.map((x) => x.name), `${t.name} required param`).to.include(p.name);
      for (const p of t.params) if (params.get(p.name)?.type === 'array') expect(p.value, `${t.name} ${p.name}`).to.be.an('array');
      const taskWorkspaces = new Map(task.workspaces.map((w) => [w.name, w] as const));
      for (const w of t.workspaces) {
        expect([...taskWorkspaces.keys()]).to.include(w.name);
        expect(pipelineWorkspaces).to.include(w.workspace);
      }
      for (const w of task.workspaces.filter((x) => !x.optional)) expect(t.workspaces.map((x) => x.name)).to.include(w.name);
      if (task.name === 'buildpacks-phases') {
        // Platform (Tekton buildpacks-phases task): the task exports with CNB_PROCESS_TYPE (default web); the buildpack's default process is web.
        const processType = t.params.find((p) => p.name === 'CNB_PROCESS_TYPE')?.value ?? 'web';
        expect(processType).to.equal('web');
      }
    }
    expect(used.sort()).to.deep.equal(['buildpacks-phases', 'git-clone']);
  });

  it('the Tekton PipelineRun uses only PipelineRun v1 keys and gives the pipeline what it requires', () => {
    const pipeline = first(yamlDocs<Pipeline>('tekton/pipeline.yaml'), 'document in tekton/pipeline.yaml');
    const run = only(yamlDocs<PipelineRun>('tekton/pipelinerun.yaml'), 'document in tekton/pipelinerun.yaml');
    expect([run.apiVersion, run.kind]).to.deep.equal(['tekton.dev/v1', 'PipelineRun']);
    expect(checkK8s(run, schema<KeysSchema>('tekton-pipelinerun-v1.json').keys)).to.deep.equal([]);
    expect(run.spec.pipelineRef.name).to.equal(pipeline.metadata.name);
    const params = new Map(pipeline.spec.params.map((p) => [p.name, p] as const));
    for (const p of run.spec.params) expect([...params.keys()]).to.include(p.name);
    for (const p of params.values()) if (!('default' in p)) expect(run.spec.params.map((x) => x.name)).to.include(p.name);
    for (const w of pipeline.spec.workspaces.filter((x) => !x.optional)) expect(run.spec.workspaces.map((x) => x.name)).to.include(w.name);
    // CNB_ENV_VARS values are cut at their first '=' by the task: none of ours may hold a second one.
    const buildEnv = run.spec.params.find((p) => p.name === 'build-env')?.value;
    expect(buildEnv, 'the build-env param').to.be.an('array');
    for (const v of buildEnv ?? []) expect(v.split('=')).to.have.length(2);
  });
});
