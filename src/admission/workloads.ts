/**
 * Where each kind keeps its pod spec: one table keyed on (API group, kind), never on version (STYLE
 * principle 8, anti-pattern 3: CronJob is batch/v1 and batch/v1beta1 alike). Adding a kind is one row.
 */
import { z } from 'zod';
import { isStringRecord } from './record.ts';
import type { ExtractedImage } from './types.ts';

export interface WorkloadKind {
  group: string;
  kind: string;
  /** Path from the object to its PodSpec. */
  podSpec: readonly string[];
  /** Path from the object to the pod template's metadata (annotations for break-glass), if any. */
  templateMetadata?: readonly string[];
}

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { group: '', kind: 'Pod', podSpec: ['spec'] },
  { group: '', kind: 'PodTemplate', podSpec: ['template', 'spec'], templateMetadata: ['template', 'metadata'] },
  { group: '', kind: 'ReplicationController', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'apps', kind: 'Deployment', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'apps', kind: 'ReplicaSet', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'apps', kind: 'StatefulSet', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'apps', kind: 'DaemonSet', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  // Pre-1.16 clusters served these from extensions/v1beta1 with the same shape.
  { group: 'extensions', kind: 'Deployment', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'extensions', kind: 'ReplicaSet', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'extensions', kind: 'DaemonSet', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  { group: 'batch', kind: 'Job', podSpec: ['spec', 'template', 'spec'], templateMetadata: ['spec', 'template', 'metadata'] },
  {
    group: 'batch',
    kind: 'CronJob',
    podSpec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
    templateMetadata: ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
  },
];

/**
 * Kinds that run no containers: nothing to check, allowed (code 'skipped'). A webhook configured by
 * hand with broad rules sends these too; denying an Ingress because it has no image would be absurd.
 */
const NO_POD_KINDS: Readonly<Record<string, readonly string[]>> = {
  '': ['Binding', 'ConfigMap', 'Endpoints', 'Event', 'LimitRange', 'Namespace', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'ResourceQuota', 'Secret', 'Service', 'ServiceAccount'],
  'networking.k8s.io': ['Ingress', 'IngressClass', 'NetworkPolicy', 'IPAddress', 'ServiceCIDR'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
  policy: ['PodDisruptionBudget'],
  autoscaling: ['HorizontalPodAutoscaler'],
  'storage.k8s.io': ['CSIDriver', 'CSINode', 'CSIStorageCapacity', 'StorageClass', 'VolumeAttachment'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'admissionregistration.k8s.io': ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'],
  'coordination.k8s.io': ['Lease'],
  'discovery.k8s.io': ['EndpointSlice'],
  'scheduling.k8s.io': ['PriorityClass'],
  'certificates.k8s.io': ['CertificateSigningRequest'],
  'node.k8s.io': ['RuntimeClass'],
  'events.k8s.io': ['Event'],
};

export function runsNoContainers(group: string, kind: string): boolean {
  return NO_POD_KINDS[group]?.includes(kind) ?? false;
}

/**
 * Pod specs inside an object of a kind the table does not know (Argo Rollouts, Knative Services,
 * operators' CRDs…): every object holding a `containers` array of objects with a string `image`, found
 * by a bounded walk, with its path. Used by `unknownKinds: scan`.
 */
export function discoverPodSpecs(object: unknown): WorkloadKind[] {
  const found: WorkloadKind[] = [];
  let nodes = 0;
  const walk = (v: unknown, path: string[]): void => {
    if (++nodes > 20_000 || path.length > 16 || found.length >= 32) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, String(i)]));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const cs = o['containers'];
    if (Array.isArray(cs) && cs.length > 0 && cs.every((c) => typeof c === 'object' && c !== null && typeof (c as { image?: unknown }).image === 'string')) {
      found.push({ group: '', kind: 'pod spec', podSpec: path });
      return;
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'metadata' && k !== 'status') walk(x, [...path, k]);
  };
  walk(object, []);
  return found;
}

/**
 * The row for (group, kind). A request that names no group (kwctl-style test requests leave `group`
 * out; it reads as the core group "") and a kind the core group does not have gets that kind's row in
 * its own group: { kind: 'Deployment', version: 'v1' } is apps/Deployment. No core kind shares a name
 * with a workload kind of another group, so this never changes what a real API server request means.
 */
export function workloadKind(group: string, kind: string): WorkloadKind | undefined {
  const known = byGroup.get(group)?.get(kind);
  if (known) return known;
  const exact = WORKLOAD_KINDS.find((w) => w.group === group && w.kind === kind);
  if (exact || group !== '') return exact;
  return WORKLOAD_KINDS.find((w) => w.kind === kind && w.group !== 'extensions');
}

/** The table by group and kind (the exact rows: asked on every review). */
const byGroup = new Map<string, Map<string, WorkloadKind>>();
for (const w of WORKLOAD_KINDS) {
  let m = byGroup.get(w.group);
  if (!m) byGroup.set(w.group, (m = new Map()));
  if (!m.has(w.kind)) m.set(w.kind, w);
}

export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];

const MAX_CONTAINERS = 1000;
const container = z.looseObject({ name: z.string().max(253).optional(), image: z.string().optional() });
const containerList = z.array(container).max(MAX_CONTAINERS).nullish();
const podSpecSchema = z.looseObject({
  initContainers: containerList,
  containers: containerList,
  ephemeralContainers: containerList,
});
const metadataSchema = z.looseObject({ annotations: z.record(z.string(), z.string()).nullish() });

/** RFC 6901: '~' → '~0', '/' → '~1'. */
export function pointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The JSON pointer of a container list of a kind ('/spec/template/spec/containers'), made once per kind and list. */
const listPointers = new WeakMap<WorkloadKind, Map<ContainerList, string>>();
function listPointer(w: WorkloadKind, list: ContainerList): string {
  let m = listPointers.get(w);
  if (!m) listPointers.set(w, (m = new Map()));
  let p = m.get(list);
  if (p === undefined) m.set(list, (p = pointer([...w.podSpec, list])));
  return p;
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export type Extraction =
  | { ok: true; images: ExtractedImage[]; annotations: Record<string, string> }
  | { ok: false; problem: string };

/**
 * Images of an object of a known kind, in execution order (initContainers, containers,
 * ephemeralContainers), exactly as written, with the JSON pointer of each `image` field. A container
 * without an image is skipped for templates (controllers may default it) and reported for pods.
 * Annotations: the object's, then the pod template's (template wins).
 */
export function extractImages(w: WorkloadKind, object: unknown, lists: readonly ContainerList[] = CONTAINER_LISTS, via: 'fast' | 'schema' = 'fast'): Extraction {
  const rawSpec = at(object, w.podSpec);
  if (rawSpec === undefined || rawSpec === null) return { ok: false, problem: `${w.kind} has no pod spec at ${w.podSpec.join('.')}` };
  let spec: PodSpecData | undefined = via === 'fast' ? fastPodSpec(rawSpec) : undefined;
  if (spec === undefined) {
    const r = podSpecSchema.safeParse(rawSpec);
    if (!r.success) return { ok: false, problem: `${w.kind} pod spec is malformed at ${w.podSpec.join('.')}` };
    spec = r.data;
  }
  const images: ExtractedImage[] = [];
  for (const list of lists) {
    const cs = spec[list] ?? [];
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (!c) continue;
      if (c.image === undefined || c.image === '') {
        if (w.kind === 'Pod') return { ok: false, problem: `${list}[${i}]${c.name ? ` (${c.name})` : ''} has no image` };
        continue;
      }
      const e: ExtractedImage = { image: c.image, containerType: list, pointer: `${listPointer(w, list)}/${i}/image` };
      if (c.name !== undefined) e.name = c.name;
      images.push(e);
    }
  }
  const annotations: Record<string, string> = {};
  addAnnotations(annotations, at(object, ['metadata']), via);
  if (w.templateMetadata) addAnnotations(annotations, at(object, w.templateMetadata), via);
  return { ok: true, images, annotations };
}

/** A metadata object's annotations added to `into` (none when it is not a valid metadata object). */
function addAnnotations(into: Record<string, string>, m: unknown, via: 'fast' | 'schema'): void {
  if (via === 'schema') {
    const md = metadataSchema.safeParse(m ?? {});
    if (md.success) Object.assign(into, md.data.annotations ?? {});
    return;
  }
  if (m === undefined || m === null) return;
  if (typeof m === 'object' && !Array.isArray(m)) {
    const a = (m as Record<string, unknown>)['annotations'];
    if (a === undefined || a === null) return;
    if (isStringRecord(a)) {
      Object.assign(into, a);
      return;
    }
  }
  const md = metadataSchema.safeParse(m);
  if (md.success) Object.assign(into, md.data.annotations ?? {});
}

type PodSpecData = z.infer<typeof podSpecSchema>;

/** The pod spec as `podSpecSchema` would give it, for the common shape, by plain checks; undefined for anything else (then the schema decides). */
function fastPodSpec(v: unknown): PodSpecData | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  for (const list of CONTAINER_LISTS) {
    const cs = o[list];
    if (cs === undefined || cs === null) continue;
    if (!Array.isArray(cs) || cs.length > MAX_CONTAINERS) return undefined;
    for (const c of cs) {
      if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
      const name = (c as Record<string, unknown>)['name'];
      const image = (c as Record<string, unknown>)['image'];
      if ((name !== undefined && !(typeof name === 'string' && name.length <= 253)) || (image !== undefined && typeof image !== 'string')) return undefined;
    }
  }
  return o as PodSpecData;
}
