/**
 * The admission policy: pure functions, no I/O, no clock of their own (the caller passes `now`).
 *
 *   preScanVerdict(image, ns, annotations, policy)  decided BEFORE any registry contact: invalid image,
 *                                                   excluded namespace, break-glass, registry lists,
 *                                                   require-digest; undefined = look the image up
 *   evaluateFindings(check, ns, policy, now)        a lookup result → verdict (severities, ignore-unfixed,
 *                                                   exceptions with expiry, onPending, onError)
 *   combine(verdicts, policy, ctx)                  any deny ⇒ deny; then the mode (warn / audit)
 *
 * See docs/policy.md for every key.
 */
import type { Finding } from '../domain/index.ts';
import type {
  AppliedException,
  Decision,
  DecisionCode,
  DecisionOutcome,
  ImageVerdict,
  Policy,
  PolicyException,
  VerdictCode,
} from '../domain/policy.ts';
import type { ImageCheck } from '../domain/policy.ts';
import type { ImageRef } from '../image/reference.ts';
import { anyGlob, checkImageReference, displayImage, imageForms, imageMatches, registryEntryMatches } from './match.ts';
import {
  MAX_ANNOTATION_VALUE,
  MAX_DECISION_REASON,
  MAX_WARNING,
  clip,
  compareFindings,
  imageLabel,
  joinReasons,
  vulnerableReason,
} from './message.ts';

export { checkImageReference, globMatch, registryEntryMatches, MAX_IMAGE_LENGTH } from './match.ts';
export { compareFindings, describeFinding, severityCounts, shortDigest } from './message.ts';

/** The break-glass annotation on the object, when the policy enables it and the value qualifies. */
export function breakGlassAnnotation(annotations: Readonly<Record<string, string>>, policy: Policy): { key: string; value: string } | undefined {
  const bg = policy.breakGlass;
  if (!bg.enabled) return undefined;
  for (const [key, value] of Object.entries(annotations)) {
    if (typeof value !== 'string' || !anyGlob([bg.annotation], key)) continue;
    if (bg.value !== undefined ? value === bg.value : value.trim() !== '' && value.trim().toLowerCase() !== 'false') {
      return { key, value };
    }
  }
  return undefined;
}

export function namespaceExcluded(namespace: string | undefined, policy: Policy): boolean {
  return namespace !== undefined && namespace !== '' && anyGlob(policy.excludedNamespaces, namespace);
}

function verdict(image: string, allowed: boolean, code: VerdictCode, reason: string): ImageVerdict {
  return { image, allowed, code, reason, findings: [] };
}

/** Registry deny list, then allow list (empty = any registry). Returns the deny reason, if any. */
export function registryVerdict(image: string, ref: ImageRef, policy: Policy): string | undefined {
  const denied = policy.registries.deny.find((e) => registryEntryMatches(e, ref));
  if (denied) return `${displayImage(image)}: registry ${denied} is denied by policy`;
  if (policy.registries.allow.length && !policy.registries.allow.some((e) => registryEntryMatches(e, ref))) {
    return `${displayImage(image)}: ${ref.registry}/${ref.repository} is not in the allowed registries (${clip(policy.registries.allow.join(', '), 200)})`;
  }
  return undefined;
}

/**
 * What can be decided without contacting any registry. Order: invalid reference (always denied, never
 * passed on), excluded namespace, break-glass, registry lists, require-digest. `undefined` = scan it.
 */
export function preScanVerdict(
  image: string,
  namespace: string | undefined,
  annotations: Readonly<Record<string, string>>,
  policy: Policy,
): ImageVerdict | undefined {
  const checked = checkImageReference(image);
  if (!checked.ok) return verdict(image, false, 'invalid-image', `invalid image reference "${displayImage(image, 128)}": ${checked.why}`);
  if (namespaceExcluded(namespace, policy)) {
    return verdict(image, true, 'namespace-excluded', `${displayImage(image)}: namespace ${namespace} is excluded from checks`);
  }
  const bg = breakGlassAnnotation(annotations, policy);
  if (bg) return verdict(image, true, 'break-glass', `${displayImage(image)}: admitted unchecked by break-glass annotation ${bg.key}`);
  const ref = checked.ref;
  const registryDenied = registryVerdict(image, ref, policy);
  if (registryDenied) return verdict(image, false, 'registry-denied', registryDenied);
  if (policy.requireDigest && !ref.digest) {
    return verdict(image, false, 'digest-required', `${displayImage(image)}: policy requires a digest (write the image as repo@sha256:…)`);
  }
  return undefined;
}

/** End of validity, epoch ms: a date alone means through the end of that day (UTC). */
export function exceptionExpiry(expires: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expires)) return Date.parse(`${expires}T23:59:59.999Z`);
  return Date.parse(expires);
}

function exceptionApplies(e: PolicyException, f: Finding, forms: readonly string[], namespace: string | undefined): boolean {
  if (e.id !== '*' && e.id !== f.advisoryId && !f.aliases.includes(e.id)) return false;
  if (e.images && !imageMatches(e.images, forms)) return false;
  if (e.namespaces && (namespace === undefined || !anyGlob(e.namespaces, namespace))) return false;
  return true;
}

function record(list: Map<PolicyException, AppliedException>, e: PolicyException, f: Finding): void {
  let a = list.get(e);
  if (!a) {
    a = { id: e.id, reason: e.reason, advisoryIds: [] };
    if (e.expires !== undefined) a.expires = e.expires;
    list.set(e, a);
  }
  if (!a.advisoryIds.includes(f.advisoryId)) a.advisoryIds.push(f.advisoryId);
}

/** Severity filter, ignore-unfixed, then exceptions (active ones remove findings; expired ones are reported). */
export function countingFindings(
  findings: readonly Finding[],
  image: string,
  namespace: string | undefined,
  policy: Policy,
  now: Date,
): { counted: Finding[]; excepted: AppliedException[]; expired: AppliedException[] } {
  const ref = checkImageReference(image);
  const forms = imageForms(image, ref.ok ? ref.ref : undefined);
  const excepted = new Map<PolicyException, AppliedException>();
  const expired = new Map<PolicyException, AppliedException>();
  const t = now.getTime();
  const counted: Finding[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    if (!policy.severities.includes(f.severity)) continue;
    if (policy.ignoreUnfixed && !f.fixedVersion) continue;
    let removed = false;
    for (const e of policy.exceptions) {
      if (!exceptionApplies(e, f, forms, namespace)) continue;
      if (e.expires !== undefined && !(exceptionExpiry(e.expires) >= t)) {
        record(expired, e, f);
        continue;
      }
      record(excepted, e, f);
      removed = true;
      break;
    }
    if (removed) continue;
    const key = `${f.advisoryId}\0${f.package.name}\0${f.installedVersion}\0${f.package.filePath ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    counted.push(f);
  }
  counted.sort(compareFindings);
  return { counted, excepted: [...excepted.values()], expired: [...expired.values()] };
}

/** A lookup result → verdict for one image. */
export function evaluateFindings(check: ImageCheck, namespace: string | undefined, policy: Policy, now: Date): ImageVerdict {
  if (check.state === 'scanned') {
    const memoised = recall(check, namespace, policy, now);
    if (memoised) return variant(memoised, check.fromCache);
  }
  const label = imageLabel(check.image, check.digest);
  if (check.state === 'pending') {
    const allowed = policy.onPending === 'allow';
    const v = verdict(check.image, allowed, 'pending', allowed ? `${label}: admitted before its scan finished (onPending: allow)` : `${label}: scan in progress, retry`);
    if (check.digest) v.digest = check.digest;
    return v;
  }
  if (check.state === 'error') {
    const allowed = policy.onError === 'allow';
    const why = clip(check.reason, 200);
    const v = verdict(check.image, allowed, 'scan-error', allowed ? `${label}: admitted unscanned, scan failed (onError: allow): ${why}` : `${label}: scan failed: ${why}`);
    if (check.digest) v.digest = check.digest;
    return v;
  }
  const v = scannedVerdict(check, namespace, policy, now, label);
  const m = remember(check, namespace, policy, now, v);
  return m ? variant(m, check.fromCache) : { ...v, fromCache: check.fromCache };
}

/** The memo's verdict with `fromCache` set: one frozen object per entry and value, so identical inputs give the same object. */
function variant(m: Memo, fromCache: boolean): ImageVerdict {
  const i = fromCache ? 1 : 0;
  let v = m.variants[i];
  if (v === undefined) {
    v = Object.freeze({ ...m.verdict, fromCache });
    m.variants[i] = v;
    stable.add(v);
  }
  return v;
}

function scannedVerdict(
  check: Extract<ImageCheck, { state: 'scanned' }>,
  namespace: string | undefined,
  policy: Policy,
  now: Date,
  label: string,
): ImageVerdict {
  const { counted, excepted, expired } = countingFindings(check.findings, check.image, namespace, policy, now);
  const worst = counted.slice(0, policy.maxFindingsInMessage);
  let v: ImageVerdict;
  if (counted.length) {
    v = verdict(check.image, false, 'vulnerable', vulnerableReason(check.image, check.digest, counted, worst));
  } else if (excepted.length) {
    v = verdict(check.image, true, 'excepted', `${label}: findings covered by policy exceptions (${clip(excepted.map((e) => e.id).join(', '), 120)})`);
  } else {
    v = verdict(check.image, true, 'clean', `${label}: no ${policy.severities.join('/')} findings`);
  }
  v.digest = check.digest;
  v.findings = counted;
  v.worst = worst;
  if (excepted.length) v.excepted = excepted;
  if (expired.length) v.expiredExceptions = expired;
  return v;
}

/*
 * Memo of scanned verdicts. A cached scan result is the same findings array on every request, so the
 * (pure) evaluation is remembered per findings array (weakly: it goes when the server's cache drops the
 * result), image, digest, namespace and policy object, for as long as no exception crosses its expiry
 * (the only input that changes with `now`). Cached decisions then cost a lookup, not a pass over findings.
 */
interface Memo {
  policy: Policy;
  /** Valid for now in (after, until]. */
  after: number;
  until: number;
  verdict: ImageVerdict;
  /** The verdict as returned, with fromCache false / true (made on first use, frozen). */
  variants: [ImageVerdict | undefined, ImageVerdict | undefined];
}
const MEMO_PER_RESULT = 256;
/** findings array → image → digest → namespace → memo (nested maps: no key string built per lookup). */
type MemoTree = Map<string, Map<string, Map<string, Memo>>>;
const memo = new WeakMap<readonly Finding[], { size: number; tree: MemoTree }>();
const boundaries = new WeakMap<Policy, number[]>();

function expiryBoundaries(policy: Policy): number[] {
  let b = boundaries.get(policy);
  if (!b) {
    b = policy.exceptions.flatMap((e) => (e.expires === undefined ? [] : [exceptionExpiry(e.expires)])).filter((t) => !Number.isNaN(t)).sort((x, y) => x - y);
    boundaries.set(policy, b);
  }
  return b;
}

function recall(check: Extract<ImageCheck, { state: 'scanned' }>, namespace: string | undefined, policy: Policy, now: Date): Memo | undefined {
  const m = memo.get(check.findings)?.tree.get(check.image)?.get(check.digest)?.get(namespace ?? '');
  const t = now.getTime();
  return m && m.policy === policy && t > m.after && t <= m.until ? m : undefined;
}

function remember(check: Extract<ImageCheck, { state: 'scanned' }>, namespace: string | undefined, policy: Policy, now: Date, verdict: ImageVerdict): Memo | undefined {
  if (!Object.isFrozen(policy)) return undefined; // a policy that may still change is never memoised
  const t = now.getTime();
  let after = -Infinity;
  let until = Infinity;
  for (const e of expiryBoundaries(policy)) {
    if (e < t) after = e;
    else {
      until = e;
      break;
    }
  }
  let perResult = memo.get(check.findings);
  if (!perResult) memo.set(check.findings, (perResult = { size: 0, tree: new Map() }));
  if (perResult.size >= MEMO_PER_RESULT) {
    perResult.tree.clear();
    perResult.size = 0;
  }
  let byDigest = perResult.tree.get(check.image);
  if (!byDigest) perResult.tree.set(check.image, (byDigest = new Map()));
  let byNamespace = byDigest.get(check.digest);
  if (!byNamespace) byDigest.set(check.digest, (byNamespace = new Map()));
  const m: Memo = { policy, after, until, verdict, variants: [undefined, undefined] };
  if (!byNamespace.has(namespace ?? '')) perResult.size++;
  byNamespace.set(namespace ?? '', m);
  return m;
}

/*
 * Memo of decisions. Verdicts from the memo above are the same frozen objects for the same inputs
 * (`stable`), so a decision over only such verdicts, without a break-glass context, is remembered per
 * policy along the sequence of verdict objects (nested weak maps: an entry goes with its verdicts,
 * which live as long as their memo entry, i.e. within one exception-expiry window). combine() is
 * pure; the memo makes the same inputs give the same frozen Decision object, which lets callers keep
 * per-decision work (serialised answers, log fields) too.
 */
const stable = new WeakSet<ImageVerdict>();
interface DecisionNode {
  decision?: Decision;
  next?: WeakMap<ImageVerdict, DecisionNode>;
}
const decisions = new WeakMap<Policy, WeakMap<ImageVerdict, DecisionNode>>();

function decisionNode(verdicts: readonly ImageVerdict[], policy: Policy, create: boolean): DecisionNode | undefined {
  let level = decisions.get(policy);
  if (!level) {
    if (!create) return undefined;
    decisions.set(policy, (level = new WeakMap()));
  }
  let node: DecisionNode | undefined;
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i] as ImageVerdict;
    if (!stable.has(v)) return undefined;
    node = level.get(v);
    if (!node) {
      if (!create) return undefined;
      level.set(v, (node = {}));
    }
    if (i < verdicts.length - 1) {
      if (!node.next) {
        if (!create) return undefined;
        node.next = new WeakMap();
      }
      level = node.next;
    }
  }
  return node;
}

function freezeDecision(d: Decision): Decision {
  Object.freeze(d.images);
  Object.freeze(d.warnings);
  Object.freeze(d.auditAnnotations);
  return Object.freeze(d);
}

/** Which verdict decides (and names the decision code): denials first, then by this order. */
const PRIORITY: readonly VerdictCode[] = [
  'invalid-image',
  'registry-denied',
  'digest-required',
  'vulnerable',
  'scan-error',
  'pending',
  'break-glass',
  'excepted',
  'namespace-excluded',
  'clean',
];

function decisiveCode(verdicts: readonly ImageVerdict[]): VerdictCode {
  const rank = (v: ImageVerdict): number => (v.allowed ? PRIORITY.length : 0) + PRIORITY.indexOf(v.code);
  let best: ImageVerdict | undefined;
  for (const v of verdicts) if (!best || rank(v) < rank(best)) best = v;
  return best?.code ?? 'clean';
}

export interface CombineContext {
  /** The break-glass annotation that was honoured (from `breakGlassAnnotation`). */
  breakGlass?: { key: string; value: string };
  /** For messages: 'pod', 'Deployment default/web'. */
  subject?: string;
}

function annotationValue(s: string): string {
  return clip(s, MAX_ANNOTATION_VALUE);
}

function imageList(vs: readonly ImageVerdict[]): string {
  return vs.map((v) => (v.digest && !v.image.includes('@') ? `${displayImage(v.image)}@${v.digest}` : displayImage(v.image))).join(',');
}

/** One verdict per distinct image string (a pod may run one image in several containers). */
function uniqueByImage(verdicts: readonly ImageVerdict[]): ImageVerdict[] {
  const seen = new Set<string>();
  return verdicts.filter((v) => (seen.has(v.image) ? false : (seen.add(v.image), true)));
}

/** Distinct advisory ids of the denied images, worst first, stopping at the annotation bound. */
function advisoryList(denied: readonly ImageVerdict[]): string {
  const seen = new Set<string>();
  let out = '';
  for (const v of denied) {
    for (const f of v.findings) {
      if (seen.has(f.advisoryId)) continue;
      seen.add(f.advisoryId);
      const next = out ? `${out},${f.advisoryId}` : f.advisoryId;
      if (next.length > MAX_ANNOTATION_VALUE - 2) return `${out},…`;
      out = next;
    }
  }
  return out;
}

function outcomeOf(policyAllowed: boolean, mode: Policy['mode']): DecisionOutcome {
  if (policyAllowed) return 'allow';
  return mode === 'enforce' ? 'deny' : mode;
}

function informativeWarnings(verdicts: readonly ImageVerdict[], ctx: CombineContext): string[] {
  const out: string[] = [];
  if (ctx.breakGlass) out.push(`break-glass annotation ${ctx.breakGlass.key} used: images admitted without checks (audited)`);
  for (const v of verdicts) {
    if (v.allowed && (v.code === 'pending' || v.code === 'scan-error')) out.push(v.reason);
    for (const e of v.expiredExceptions ?? []) {
      out.push(`${displayImage(v.image)}: exception for ${e.id} expired ${e.expires ?? ''}; not applied`);
    }
  }
  return out;
}

/**
 * Any deny ⇒ deny (never last-write-wins). Then the mode: enforce refuses; warn admits and sends the
 * reasons as `warnings`; audit admits and records them only in `auditAnnotations`.
 */
export function combine(verdicts: readonly ImageVerdict[], policy: Policy, ctx: CombineContext = {}): Decision {
  const memoisable = verdicts.length > 0 && ctx.breakGlass === undefined && ctx.subject === undefined && Object.isFrozen(policy);
  if (!memoisable) return combineNow(verdicts, policy, ctx);
  const known = decisionNode(verdicts, policy, false)?.decision;
  if (known) return known;
  const d = combineNow(verdicts, policy, ctx);
  const node = decisionNode(verdicts, policy, true);
  if (node) node.decision = freezeDecision(d);
  return d;
}

function combineNow(verdicts: readonly ImageVerdict[], policy: Policy, ctx: CombineContext): Decision {
  const unique = uniqueByImage(verdicts);
  const denied = unique.filter((v) => !v.allowed);
  const policyAllowed = denied.length === 0;
  const outcome = outcomeOf(policyAllowed, policy.mode);
  const allowed = outcome !== 'deny';
  const code = decisiveCode(verdicts);
  const total = unique.length;
  let reason: string;
  if (policyAllowed) {
    reason = ctx.breakGlass
      ? `admitted by break-glass annotation ${ctx.breakGlass.key}`
      : `${total} image${total === 1 ? '' : 's'} allowed`;
  } else {
    const head = `${denied.length} of ${total} image${total === 1 ? '' : 's'} denied`;
    reason = joinReasons(head, denied.map((v) => v.reason));
  }
  const warnings: string[] = [];
  if (policy.mode !== 'audit') {
    if (outcome === 'warn') {
      for (const v of denied) warnings.push(clip(`would be denied: ${v.reason}`, MAX_WARNING));
    }
    for (const w of informativeWarnings(unique, ctx)) warnings.push(clip(w, MAX_WARNING));
  }
  const auditAnnotations: Record<string, string> = { decision: outcome, mode: policy.mode, code };
  if (!policyAllowed) {
    auditAnnotations['denied-images'] = annotationValue(imageList(denied));
    auditAnnotations['reason'] = annotationValue(reason);
    const ids = advisoryList(denied);
    if (ids) auditAnnotations['advisories'] = ids;
  }
  const scanned = unique.filter((v) => v.digest);
  if (scanned.length) auditAnnotations['images'] = annotationValue(imageList(scanned));
  if (ctx.breakGlass) auditAnnotations['break-glass'] = annotationValue(`${ctx.breakGlass.key}=${ctx.breakGlass.value}`);
  const excepted = verdicts.flatMap((v) => (v.excepted ?? []).map((e) => `${e.id}: ${e.advisoryIds.join(' ')}`));
  if (excepted.length) auditAnnotations['exceptions'] = annotationValue([...new Set(excepted)].join(','));
  const expired = verdicts.flatMap((v) => (v.expiredExceptions ?? []).map((e) => `${e.id}@${e.expires ?? ''}`));
  if (expired.length) auditAnnotations['expired-exceptions'] = annotationValue([...new Set(expired)].join(','));

  const d: Decision = {
    allowed,
    mode: policy.mode,
    outcome,
    code,
    images: [...verdicts],
    warnings: [...new Set(warnings)],
    auditAnnotations,
    reason: clip(reason, MAX_DECISION_REASON),
  };
  if (ctx.breakGlass) d.breakGlass = true;
  return d;
}

/**
 * A decision about an object without images to look at: skipped operations and subresources, unknown
 * kinds, objects without containers, malformed objects. `allowed` is explicit (not the mode's business:
 * a malformed object is denied in every mode).
 */
export function noImageDecision(code: Exclude<DecisionCode, VerdictCode>, allowed: boolean, reason: string, policy: Policy): Decision {
  return {
    allowed,
    mode: policy.mode,
    outcome: allowed ? 'allow' : 'deny',
    code,
    images: [],
    warnings: [],
    auditAnnotations: { decision: allowed ? 'allow' : 'deny', mode: policy.mode, code },
    reason: clip(reason, MAX_DECISION_REASON),
  };
}
