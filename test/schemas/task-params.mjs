#!/usr/bin/env node
// The params, workspaces and results a Tekton catalog Task declares, for test/unit/docs-manifests.test.ts.
// Usage: node test/schemas/task-params.mjs <task.yaml> <repo> <commit> <path>
import fs from 'node:fs';
import { loadAll } from 'js-yaml';

const [file, repo, commit, path] = process.argv.slice(2);
const task = loadAll(fs.readFileSync(file, 'utf8')).find((d) => d && d.kind === 'Task');
const out = {
  source: { repo, commit, path },
  name: task.metadata.name,
  version: task.metadata.labels['app.kubernetes.io/version'],
  params: task.spec.params.map((p) => ({ name: p.name, ...(p.type ? { type: p.type } : {}), required: !('default' in p) })),
  workspaces: task.spec.workspaces.map((w) => ({ name: w.name, optional: !!w.optional })),
  results: (task.spec.results ?? []).map((r) => r.name),
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
