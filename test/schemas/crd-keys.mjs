#!/usr/bin/env node
// Reduces one version of a CustomResourceDefinition's openAPIV3Schema to the keys it allows, for
// test/unit/docs-manifests.test.ts. Usage: node test/schemas/crd-keys.mjs <crd.yaml> <version> <repo> <commit> <path>
// Tree format: an object maps each allowed key to its subtree; "*" stands for any key (additionalProperties);
// an array is represented by its items; a leaf is its OpenAPI type ("string", "integer", "boolean",
// "number"), or "any" (x-kubernetes-preserve-unknown-fields, or an object without a schema).
import fs from 'node:fs';
import { load } from 'js-yaml';

function keys(s) {
  if (!s || s['x-kubernetes-preserve-unknown-fields']) return 'any';
  if (s.type === 'array') return keys(s.items);
  if (s.properties) {
    return Object.fromEntries(Object.keys(s.properties).sort().map((k) => [k, keys(s.properties[k])]));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') return { '*': keys(s.additionalProperties) };
  return ['string', 'integer', 'boolean', 'number'].includes(s.type) ? s.type : 'any';
}

const [file, version, repo, commit, path] = process.argv.slice(2);
const crd = load(fs.readFileSync(file, 'utf8'));
const v = crd.spec.versions.find((x) => x.name === version);
const out = { source: { repo, commit, path, crd: crd.metadata.name, version }, kind: crd.spec.names.kind, keys: keys(v.schema.openAPIV3Schema) };
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
