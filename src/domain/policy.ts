/**
 * Admission policy and decision types (types only). The `policy:` section of portcullis.yaml is validated
 * by src/config/policy-schema.ts into a `Policy`; src/policy/ decides with pure functions over these types;
 * src/admission/ turns a `Decision` into ImageReview / AdmissionReview responses; src/server/ uses the
 * bounded `code`/`outcome` values as metric labels.
 */
import type { Finding } from './finding.ts';
import type { Severity } from './severity.ts';

/** enforce: deny; warn: allow with `warnings` naming what would be denied; audit: allow, auditAnnotations only. */
export type PolicyMode = 'enforce' | 'warn' | 'audit';

export interface PolicyException {
  /** Advisory id or one of its aliases (CVE-…, GHSA-…, DSA-…), or '*' for every advisory. */
  id: string;
  /** Glob patterns (`*` any run of characters, `?` one) on the image as written, its normalised form
   * (docker.io/library/nginx:1.25) or its familiar form (nginx:1.25). Absent = every image. */
  images?: string[];
  /** Namespace names or globs. Absent = every namespace. */
  namespaces?: string[];
  /** ISO 8601 instant or date. A date alone ('2025-06-30') is valid through the end of that day (UTC). */
  expires?: string;
  /** Why the exception exists (ticket, owner): shown in audit annotations and logs. */
  reason: string;
}

export interface BreakGlassPolicy {
  enabled: boolean;
  /** Annotation key, or a glob on keys ('*.image-policy.k8s.io/ticket-*'). For ImageReview the API server
   * forwards only `*.image-policy.k8s.io/*` annotations, so keep the key in that form. */
  annotation: string;
  /** When set, the annotation's value must equal it ('break-glass'); otherwise any value except '' and 'false'. */
  value?: string;
}

export interface Policy {
  /** Severities that count (default HIGH, CRITICAL). */
  severities: Severity[];
  /** Ignore findings with no fixed version. */
  ignoreUnfixed: boolean;
  exceptions: PolicyException[];
  /** 'host[/repository-prefix]' entries ('ghcr.io/acme', 'registry.local:5000', '*.corp.example'), matched on
   * the normalised reference (Docker Hub = docker.io). Deny wins over allow; an empty allow list allows all. */
  registries: { allow: string[]; deny: string[] };
  /** The image as written must carry '@sha256:…'. */
  requireDigest: boolean;
  /** Namespaces (names or globs) admitted without any check. */
  excludedNamespaces: string[];
  breakGlass: BreakGlassPolicy;
  mode: PolicyMode;
  /** Scanner or registry failure for an image (default deny: fail closed). */
  onError: 'deny' | 'allow';
  /** The scan did not finish before the deadline (default deny: "scan in progress, retry"). */
  onPending: 'deny' | 'allow';
  /** AdmissionReview for a kind without a known pod spec (default deny; the generated webhook
   * configurations only send known kinds, so this shows up only with hand-written rules). */
  /** A kind the workload table does not know: scan = check the pod specs a walk of the object finds (deny when there are none); deny; allow. */
  unknownKinds: 'scan' | 'allow' | 'deny';
  /** How many worst findings each denied image names in messages (default 3). */
  maxFindingsInMessage: number;
}

/** Bounded set (metric label). */
export type VerdictCode =
  | 'clean'
  | 'vulnerable'
  | 'registry-denied'
  | 'digest-required'
  | 'pending'
  | 'scan-error'
  | 'excepted'
  | 'invalid-image'
  | 'break-glass'
  | 'namespace-excluded';

/** Bounded set (metric label): a verdict code, or why no image was looked at. */
export type DecisionCode =
  | VerdictCode
  | 'unknown-kind'
  | 'skipped'
  | 'no-containers'
  | 'invalid-object';

/** allow: admitted with nothing to report; deny: refused; warn / audit: would be refused, admitted by mode. */
export type DecisionOutcome = 'allow' | 'deny' | 'warn' | 'audit';

export interface AppliedException {
  id: string;
  reason: string;
  expires?: string;
  /** The finding ids it removed from this image. */
  advisoryIds: string[];
}

export interface ImageVerdict {
  /** Exactly as written in the pod spec / ImageReview. */
  image: string;
  digest?: string;
  /** The policy's answer for this image (before the mode: a vulnerable image stays false in warn mode). */
  allowed: boolean;
  /** One curated line for people; never exception text. */
  reason: string;
  code: VerdictCode;
  /** The findings that count (after severities, ignore-unfixed and exceptions), worst first. */
  findings: Finding[];
  /** The worst few of `findings` (policy.maxFindingsInMessage), as named in `reason`. */
  worst?: Finding[];
  /** Exceptions that removed findings from this image. */
  excepted?: AppliedException[];
  /** Expired exceptions that would have matched (ignored; reported in warnings and audit annotations). */
  expiredExceptions?: AppliedException[];
  /** True when the scan result came from the cache (copied from the ImageCheck). */
  fromCache?: boolean;
}

export interface Decision {
  allowed: boolean;
  mode: PolicyMode;
  outcome: DecisionOutcome;
  /** The code of the decisive verdict (the worst), or why no image was looked at. */
  code: DecisionCode;
  images: ImageVerdict[];
  /** One line each, ≤ 256 characters, no newlines (Kubernetes shows them to kubectl users). */
  warnings: string[];
  /** Prefix-less keys (the API server prefixes them): decision, mode, denied-images, break-glass, … */
  auditAnnotations: Record<string, string>;
  /** Curated, bounded message: names each denied image, why, and its worst findings. */
  reason: string;
  breakGlass?: boolean;
}

/** What the server knows about one image at the moment it must answer. */
export type ImageCheck =
  | { state: 'scanned'; image: string; digest: string; findings: Finding[]; fromCache: boolean }
  /** The scan did not finish before the deadline (it keeps running; a retry is answered from the cache). */
  | { state: 'pending'; image: string; digest?: string; reason: string }
  /** Registry or scanner failure. `code` is a stable ScannerError code (bounded), `reason` is safe to show. */
  | { state: 'error'; image: string; digest?: string; code: string; reason: string };

export interface LookupContext {
  namespace?: string;
  /** Epoch ms by which the lookup must resolve (answer 'pending' rather than overrun it). */
  deadline: number;
  /** Aborted when the request is abandoned; the lookup may keep its scan running for the cache. */
  signal?: AbortSignal;
}

/**
 * Image as written in the pod → its check. Must not reject; if it does, or does not resolve by the
 * deadline, admission/ treats it as error / pending respectively.
 *
 * `cached` (optional): the check when it is known at once (digest and scan result in the cache),
 * synchronously, or undefined (then the lookup itself is called). It counts what it finds as the
 * lookup would; returning undefined must have no effect, since the lookup follows. A request whose
 * images are all known this way is decided without a promise or a timer.
 */
export interface ImageLookup {
  (image: string, ctx: LookupContext): Promise<ImageCheck>;
  readonly cached?: (image: string, ctx: LookupContext) => ImageCheck | undefined;
}
