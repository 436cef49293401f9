/**
 * Which requirements leave pip a choice (issue 14, item 8). The pip-deps layer is reused while its key is
 * unchanged (src/layers/pip-deps.ts); for an input that pins nothing, such as a requirements.txt saying `flask`,
 * that would keep the first resolution forever, however many releases follow. Such inputs are reused for a
 * bounded age only (BP_PIP_UNPINNED_MAX_AGE, 24 hours by default, as Google's Python buildpack expires its
 * dependency layer: GoogleCloudPlatform/buildpacks pkg/python/python.go, `expirationTime`).
 *
 * A requirement line is pinned when it names one exact version (`==1.2.3` or `===1.2.3`, PEP 440 "Version
 * matching" without a `.*` wildcard) or carries a hash (`--hash`, or a `#sha256=` URL fragment): pip can then
 * install nothing else for it. Every other requirement is unpinned: a range, a bare name, a URL or a local
 * folder or file without a hash, an editable (`-e`). Requirement files included with `-r` are read (the
 * includes are followed as pip follows them, src/python/requirements.ts); constraint files (`-c`) are not
 * requirements and are skipped. The app installed as a project (setup.py, setup.cfg, pyproject.toml) is
 * unpinned: pip resolves its declared dependencies at each install.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeRequirementBytes } from './requirement-encoding.js';
import { appPath, fileUrlPath, numberedLines, shellWords } from './requirements.js';

/** An unpinned requirement: the file (app-relative, as shown), its line number and text; no line for a project. */
export interface UnpinnedRequirement {
  file: string;
  line: number | undefined;
  text: string;
}

/** Options that take a value in a requirements file (pip's req_file), to tell option lines from requirements. */
const INCLUDE = new Set(['-r', '--requirement']);
const EDITABLE = new Set(['-e', '--editable']);

/** Whether one requirement (a requirement line without its options) pins one exact version or one hashed file. */
export function pinsExactly(requirement: string, options: string[]): boolean {
  if (options.some((o) => o === '--hash' || o.startsWith('--hash='))) return true;
  const spec = requirement.split(';')[0] ?? '';
  const at = /^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@\s*(\S+)/.exec(spec)?.[1];
  if (at !== undefined) return /#(?:.*&)?(sha256|sha384|sha512)=[0-9a-fA-F]+/.test(at);
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec.trim())) return /#(?:.*&)?(sha256|sha384|sha512)=[0-9a-fA-F]+/.test(spec);
  // name[extras] followed by comma-separated clauses; one `==V` (no wildcard) or `===V` clause pins it.
  const clauses = spec.replace(/^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?/, '').replace(/^\s*\(|\)\s*$/g, '').split(',');
  return clauses.some((c) => /^\s*===\s*\S+\s*$/.test(c) || (/^\s*==\s*[^\s*]+\s*$/.test(c) && !c.trim().endsWith('.*')));
}

/**
 * The unpinned requirements of `roots` (requirement files relative to the app, and the PIP_REQUIREMENT ones)
 * and of the files they include. Files are read as src/python/requirements.ts read them for the layer key, which
 * has already refused a missing, cyclic or undecodable one; such a file is skipped here.
 */
export function unpinnedRequirements(appDir: string, roots: string[]): UnpinnedRequirement[] {
  const out: UnpinnedRequirement[] = [];
  const seen = new Set<string>();
  const visit = (abs: string): void => {
    if (seen.has(abs)) return;
    seen.add(abs);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(abs);
    } catch {
      return;
    }
    const decoded = decodeRequirementBytes(bytes);
    if (!decoded.ok) return;
    const shown = appPath(appDir, abs);
    for (const { line, text } of numberedLines(decoded.text)) {
      if (text.startsWith('-')) {
        const [option = '', ...rest] = shellWords(text);
        const [name, inline] = option.startsWith('--') && option.includes('=') ? [option.slice(0, option.indexOf('=')), option.slice(option.indexOf('=') + 1)] : option.length > 2 && !option.startsWith('--') ? [option.slice(0, 2), option.slice(2)] : [option, undefined];
        const value = inline ?? rest[0];
        if (INCLUDE.has(name) && value !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
          const target = value.startsWith('file:') ? fileUrlPath(value) : path.resolve(path.dirname(abs), value);
          if (target !== undefined) visit(path.resolve(appDir, target));
        } else if (EDITABLE.has(name)) out.push({ file: shown, line, text });
        // Other option lines (-c constraint files, -i, -f, --require-hashes...) install nothing themselves.
        continue;
      }
      const words = text.split(' ');
      const cut = words.findIndex((w) => w.startsWith('-'));
      const requirement = (cut < 0 ? words : words.slice(0, cut)).join(' ').trim();
      const options = cut < 0 ? [] : shellWords(words.slice(cut).join(' '));
      if (!pinsExactly(requirement, options)) out.push({ file: shown, line, text });
    }
  };
  for (const r of roots) visit(path.resolve(appDir, r.startsWith('file:') ? (fileUrlPath(r) ?? r) : r));
  return out;
}

/** What pip installs, as src/layers/pip-deps.ts plans it (requirement files, or the app as a project). */
export type PinningPlan = { kind: 'requirements'; files: string[] } | { kind: 'project'; marker: string } | { kind: 'none' };

/** The unpinned inputs of a plan; PIP_REQUIREMENT's files count as requirement files (pip reads them so). */
export function unpinnedInputs(appDir: string, plan: PinningPlan, pipVariables: Record<string, string>): UnpinnedRequirement[] {
  const fromEnv = (pipVariables.PIP_REQUIREMENT ?? '').split(/\s+/).filter((w) => w !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(w));
  const listed = unpinnedRequirements(appDir, [...(plan.kind === 'requirements' ? plan.files : []), ...fromEnv]);
  if (plan.kind === 'project') return [{ file: plan.marker, line: undefined, text: "the app's own dependencies, which pip resolves from its metadata" }, ...listed];
  return listed;
}

/** `90s`, `45m`, `24h`, `3d`, `1d 6h`: a duration as the log shows it. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)}h`;
  const days = Math.floor(s / 86400);
  const hours = Math.round((s - days * 86400) / 3600);
  return hours === 0 ? `${days}d` : `${days}d ${hours}h`;
}

/**
 * Why a layer installed from unpinned requirements, at `installedAt` (ISO 8601, from its metadata), is no longer
 * reused at `nowMs`; undefined while it is younger than `maxAgeSeconds`. A missing or unreadable time, or one in
 * the future (a clock set back), counts as too old: reinstalling is always correct, keeping might not be.
 */
export function unpinnedExpiry(installedAt: string | undefined, nowMs: number, maxAgeSeconds: number): string | undefined {
  const then = installedAt === undefined ? Number.NaN : Date.parse(installedAt);
  const limit = `BP_PIP_UNPINNED_MAX_AGE (${maxAgeSeconds === 0 ? '0: every build' : formatAge(maxAgeSeconds)})`;
  if (Number.isNaN(then) || then > nowMs) return `Some requirements pin no exact version, and when their dependencies were installed is unknown: pip resolves them again`;
  const age = (nowMs - then) / 1000;
  if (age < maxAgeSeconds) return undefined;
  return `Some requirements pin no exact version, and their dependencies were installed ${formatAge(age)} ago, not less than ${limit}: pip resolves them again`;
}
